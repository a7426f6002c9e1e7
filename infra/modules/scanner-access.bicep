metadata name = 'Scanner access to one subscription'
metadata description = 'Assigns the scanner custom role to the scanner identity at the scope of one target subscription. main.bicep loops this module over targetSubscriptionIds.'

targetScope = 'subscription'

// ============== //
//   Parameters   //
// ============== //

@description('Required. Name (GUID) of the scanner custom role definition.')
param roleDefinitionName string

@description('Required. Object (principal) ID of the scanner identity.')
param principalId string

// ============= //
//   Resources   //
// ============= //

resource scannerAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, roleDefinitionName)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionName)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'AKS kubelet scanner: discover clusters, read the user kubeconfig, and (Azure-RBAC clusters) read nodes/proxy/configz.'
  }
}

// =========== //
//   Outputs   //
// =========== //

@description('The resource ID of the role assignment.')
output resourceId string = scannerAccess.id

@description('The subscription the role is assigned in.')
output subscriptionId string = subscription().subscriptionId
