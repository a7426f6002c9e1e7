metadata name = 'Storage queue'
metadata description = 'One queue of the Function App storage account, and the role assignments scoped to that queue alone (not to the account).'

// ============== //
//   Parameters   //
// ============== //

@description('Required. Name of the storage account that holds the queue (its queue service must exist).')
param storageAccountName string

@description('Required. Name of the queue.')
param name string

@description('Optional. Role assignments on this queue only. Each item is a roleAssignmentType: roleDefinitionId (a built-in role GUID), principalId, principalType, description.')
param roleAssignments array = []

// ============= //
//   Resources   //
// ============= //

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource queue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: name
}

// Scoped to the queue: "a role assignment applies to messages in the queue, as well as queue
// properties and metadata" (docs/infra.md, Permissions, cites the Azure Storage documentation).
resource queueRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for roleAssignment in roleAssignments: {
  name: guid(queue.id, roleAssignment.principalId, roleAssignment.roleDefinitionId)
  scope: queue
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

@description('The resource ID of the queue (the scope of its role assignments).')
output resourceId string = queue.id

@description('The name of the queue.')
output name string = queue.name
