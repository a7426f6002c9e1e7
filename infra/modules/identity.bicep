metadata name = 'Scanner identity'
metadata description = 'The user-assigned managed identity the Function App runs as. Storage, telemetry, log ingestion and scanning all authenticate with it, so the deployment holds no key or secret.'

// ============== //
//   Parameters   //
// ============== //

@description('Required. Name of the user-assigned managed identity.')
param name string

@description('Optional. Location of the identity.')
param location string = resourceGroup().location

@description('Optional. Tags of the resource.')
param tags object = {}

// ============= //
//   Resources   //
// ============= //

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

// =========== //
//   Outputs   //
// =========== //

@description('The resource ID of the identity.')
output resourceId string = identity.id

@description('The name of the identity.')
output name string = identity.name

@description('The client (application) ID: the app\'s AZURE_CLIENT_ID and AzureWebJobsStorage__clientId.')
output clientId string = identity.properties.clientId

@description('The object (principal) ID: the principal of every role assignment, and the Kubernetes user name on Entra-enabled clusters.')
output principalId string = identity.properties.principalId
