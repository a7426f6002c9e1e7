metadata name = 'Scanner custom role'
metadata description = 'The least-privilege role the scanner identity needs in each target subscription: discover clusters, fetch the user kubeconfig (server URL and CA), read what the cluster-scoped CIS controls judge (diagnostic settings, Defender pricing, registries, role assignments and definitions), and, on clusters with Azure RBAC for Kubernetes, list nodes and GET nodes/{node}/proxy/configz; with allowRunCommand, also run the configz script on private clusters through the AKS run command API.'

targetScope = 'subscription'

// ============== //
//   Parameters   //
// ============== //

@description('Required. Name of the azd environment; makes the role name unique in the tenant.')
param environmentName string

@description('Required. Subscription IDs the role may be assigned in (its assignable scopes).')
@minLength(1)
param assignableSubscriptionIds array

@description('Optional. Also grant the two run command actions (PRIVATE_CLUSTER_MODE=run-command: private clusters read through the AKS run command API).')
param allowRunCommand bool = false

// ============= //
//   Variables   //
// ============= //

// Each action is one call the scanner makes; tests/infra/test_roles.py keeps these lists exact.
var scanActions = [
  'Microsoft.Resources/subscriptions/read' // list the subscriptions in scope
  'Microsoft.ResourceGraph/resources/read' // discover clusters with one Resource Graph query
  'Microsoft.ContainerService/managedClusters/read' // per-subscription ARM listing, the fallback
  'Microsoft.ContainerService/managedClusters/listClusterUserCredential/action' // API server URL and CA
  'Microsoft.Insights/diagnosticSettings/read' // 2.1.1: each cluster's diagnostic settings (audit logs)
  'Microsoft.Security/pricings/read' // 5.1.1: the Defender for Containers plan (Resource Graph securityresources)
  'Microsoft.ContainerRegistry/registries/read' // 5.1.2-5.1.4: registries and their admin user (Resource Graph)
  'Microsoft.Authorization/roleAssignments/read' // 5.1.2-5.1.4: who holds roles on registries (Resource Graph authorizationresources)
  'Microsoft.Authorization/roleDefinitions/read' // 5.1.2, 5.1.3: what those roles permit (ARM GET per role)
]

// Only with allowRunCommand: submit the configz script and read its result. The command runs in a
// pod AKS creates in the cluster; on Entra clusters its kubectl uses the scanner's own token.
var runCommandActions = [
  'Microsoft.ContainerService/managedClusters/runcommand/action' // POST .../runCommand
  'Microsoft.ContainerService/managedClusters/commandResults/read' // GET .../commandResults/{id}
]

// ============= //
//   Resources   //
// ============= //

// No wildcard, no admin credentials; run command only when asked for.
resource scannerRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(tenant().tenantId, environmentName, 'aks-kubelet-compliance-scanner')
  properties: {
    roleName: 'AKS kubelet compliance scanner (${environmentName})'
    description: 'Discover AKS clusters, fetch the user kubeconfig (server URL and CA, no secret on Entra clusters), read diagnostic settings, Defender pricing, registries and role assignments and definitions for the cluster-scoped CIS controls, and on Azure-RBAC clusters list nodes and GET nodes/{node}/proxy/configz. Note: nodes/read also authorizes nodes/proxy, which reaches the kubelet API.'
    type: 'CustomRole'
    permissions: [
      {
        actions: allowRunCommand ? concat(scanActions, runCommandActions) : scanActions
        notActions: []
        dataActions: [
          'Microsoft.ContainerService/managedClusters/nodes/read' // Azure RBAC for Kubernetes: get/list nodes and get nodes/proxy
        ]
        notDataActions: []
      }
    ]
    assignableScopes: [for subscriptionId in assignableSubscriptionIds: '/subscriptions/${subscriptionId}']
  }
}

// =========== //
//   Outputs   //
// =========== //

@description('The name (GUID) of the role definition; assign it with subscriptionResourceId in any assignable subscription.')
output roleDefinitionName string = scannerRole.name

@description('The display name of the role.')
output roleName string = scannerRole.properties.roleName

@description('The resource ID of the role definition; the azd hooks read its assignable scopes to revoke the role where it is no longer wanted.')
output roleDefinitionId string = scannerRole.id
