metadata name = 'Function App storage'
metadata description = 'The AzureWebJobsStorage account of the Function App: the Flex Consumption deployment container, the scan-cluster queue and its poison queue (each with its own role assignments, storage-queue.bicep), and the dead-letter container. Shared keys are disabled; the app reaches it with its managed identity only.'

// ============== //
//   Parameters   //
// ============== //

@description('Required. Name of the storage account (3-24 lower-case letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Optional. Location of the storage account.')
param location string = resourceGroup().location

@description('Optional. Tags of the resources.')
param tags object = {}

@description('Required. Blob container that holds the deployment package (functionAppConfig.deployment.storage).')
param deploymentContainerName string

@description('Required. Blob container where rows wait when Log Analytics refuses them (the app setting DEADLETTER_CONTAINER).')
param deadLetterContainerName string

@description('Required. Queues the app reads and writes (the scan-cluster fan-out queue and its poison queue).')
param queueNames array

@description('Optional. Role assignments on the storage account. Each item is a roleAssignmentType: roleDefinitionId (a built-in role GUID), principalId, principalType, description.')
param roleAssignments array = []

@description('Optional. Role assignments made on each queue of queueNames, scoped to that queue (storage-queue.bicep). Each item is a roleAssignmentType: roleDefinitionId (a built-in role GUID), principalId, principalType, description.')
param queueRoleAssignments array = []

// ============= //
//   Resources   //
// ============= //

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: the Flex Consumption app has no VNet integration in this template, so it reaches its host storage over the public endpoint; access is Entra-only (allowSharedKeyAccess false) and limited to the app identity by RBAC.
  // checkov:skip=CKV_AZURE_59: same reason as CKV_AZURE_35: public network access is required by an app without VNet integration; no key, SAS or anonymous access exists.
  // checkov:skip=CKV_AZURE_206: LRS is enough: the account holds a deployment package that azd re-uploads, queue messages that the next run re-creates, and dead letters that are replayed within one schedule period.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false // Entra ID only: AzureWebJobsStorage__credential=managedidentity
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7 // a dead letter deleted by mistake can be restored for a week
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

module queues 'storage-queue.bicep' = [for queueName in queueNames: {
  name: 'queue-${queueName}'
  dependsOn: [
    queueService
  ]
  params: {
    storageAccountName: storage.name
    name: queueName
    roleAssignments: queueRoleAssignments
  }
}]

resource storageRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for roleAssignment in roleAssignments: {
  name: guid(storage.id, roleAssignment.principalId, roleAssignment.roleDefinitionId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleAssignment.roleDefinitionId)
    principalId: roleAssignment.principalId
    principalType: roleAssignment.principalType
    description: roleAssignment.description
  }
}]

// =========== //
//   Outputs   //
// =========== //

@description('The resource ID of the storage account.')
output resourceId string = storage.id

@description('The name of the storage account (AzureWebJobsStorage__accountName).')
output name string = storage.name

@description('The blob endpoint of the storage account.')
output blobEndpoint string = storage.properties.primaryEndpoints.blob

@description('The URL of the deployment container (functionAppConfig.deployment.storage.value).')
output deploymentContainerUrl string = '${storage.properties.primaryEndpoints.blob}${deploymentContainer.name}'

@description('The name of the dead-letter container (DEADLETTER_CONTAINER).')
output deadLetterContainerName string = deadLetterContainer.name
