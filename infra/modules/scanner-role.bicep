metadata name = 'Scanner custom role'
metadata description = 'The least-privilege role the scanner identity needs in each target subscription: discover clusters, fetch the user kubeconfig (server URL and CA), read what the cluster-scoped CIS controls judge (diagnostic settings, Defender pricing, registries, role assignments and definitions), and, on clusters with Azure RBAC for Kubernetes, list nodes, GET nodes/{node}/proxy/configz and list what CIS section 4 reads (never secrets); with allowRunCommand, also run the configz script on private clusters through the AKS run command API.'

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
  'Microsoft.ContainerRegistry/registries/read' // 5.1.2, 5.1.3: registries and their admin user (Resource Graph)
  'Microsoft.Authorization/roleAssignments/read' // 5.1.2, 5.1.3: who holds roles on registries; 4.1.1: on Azure-RBAC clusters (Resource Graph authorizationresources)
  'Microsoft.Authorization/roleDefinitions/read' // 5.1.2, 5.1.3: what those roles permit (ARM GET per role)
]

// Only with allowRunCommand: submit the configz script and read its result. The command runs in a
// pod AKS creates in the cluster; on Entra clusters its kubectl uses the scanner's own token.
var runCommandActions = [
  'Microsoft.ContainerService/managedClusters/runcommand/action' // POST .../runCommand
  'Microsoft.ContainerService/managedClusters/commandResults/read' // GET .../commandResults/{id}
]

// Azure RBAC for Kubernetes Authorization (clusters with enableAzureRBAC): AKS's authorizer (guard)
// maps get/list/watch of <group>/<resource> to managedClusters/<group>/<resource>/read (no group
// segment for the core group) and drops the subresource, so nodes/read also authorizes GET
// nodes/{node}/proxy (kubeguard/guard authz/providers/azure/rbac/checkaccessreqhelper.go). Names as
// Microsoft publishes them: MicrosoftDocs/azure-docs articles/role-based-access-control/permissions/
// containers.md (Microsoft.ContainerService, DataAction); customresources/read: MicrosoftDocs/
// azure-aks-docs articles/aks/entra-id-authorization.md. Assigned at subscription scope, each read
// holds in every namespace of every cluster there: configmaps/read cannot be narrowed to the
// default namespace by this role. tests/infra/test_roles.py derives this list from k8s_lists.READS.
var kubernetesDataActions = [
  'Microsoft.ContainerService/managedClusters/nodes/read' // list nodes, and get nodes/proxy for configz (guard drops the subresource)
  'Microsoft.ContainerService/managedClusters/rbac.authorization.k8s.io/clusterroles/read' // 4.1.1-4.1.12, 5.2.1: what each role grants
  'Microsoft.ContainerService/managedClusters/rbac.authorization.k8s.io/clusterrolebindings/read' // 4.1.1-4.1.12, 5.2.1: who holds it cluster-wide
  'Microsoft.ContainerService/managedClusters/rbac.authorization.k8s.io/roles/read' // 4.1.1-4.1.12, 5.2.1: namespaced roles
  'Microsoft.ContainerService/managedClusters/rbac.authorization.k8s.io/rolebindings/read' // 4.1.1-4.1.12, 5.2.1: who holds them per namespace
  'Microsoft.ContainerService/managedClusters/serviceaccounts/read' // 4.1.5, 4.1.6: automountServiceAccountToken of each service account
  'Microsoft.ContainerService/managedClusters/namespaces/read' // 4.4.2, 4.6.1; Pod Security labels as evidence for 4.2.x
  'Microsoft.ContainerService/managedClusters/networking.k8s.io/networkpolicies/read' // 4.4.2: network policies per namespace
  'Microsoft.ContainerService/managedClusters/customresources/read' // 4.4.2: Calico and Cilium policies (every custom resource kind: the role cannot narrow it to those groups)
  'Microsoft.ContainerService/managedClusters/services/read' // 4.6.3 (objects in default), 5.4.5 (LoadBalancer services)
  'Microsoft.ContainerService/managedClusters/networking.k8s.io/ingresses/read' // 5.4.5 (ingresses without TLS), 4.6.3
  'Microsoft.ContainerService/managedClusters/configmaps/read' // 4.6.3: ConfigMaps in default, listed as metadata only (the grant covers every namespace and the data)
  'Microsoft.ContainerService/managedClusters/admissionregistration.k8s.io/validatingwebhookconfigurations/read' // evidence for 4.2.x: admission webhooks installed
  'Microsoft.ContainerService/managedClusters/admissionregistration.k8s.io/mutatingwebhookconfigurations/read' // evidence for 4.2.x: admission webhooks installed
  'Microsoft.ContainerService/managedClusters/apps/deployments/read' // 4.5.1 (Secrets in pod templates), a pod's owning workload, 4.6.3
  'Microsoft.ContainerService/managedClusters/apps/daemonsets/read' // 4.5.1, owning workload, 4.6.3
  'Microsoft.ContainerService/managedClusters/apps/statefulsets/read' // 4.5.1, owning workload, 4.6.3
  'Microsoft.ContainerService/managedClusters/apps/replicasets/read' // 4.5.1, a ReplicaSet's Deployment, 4.6.3
  'Microsoft.ContainerService/managedClusters/batch/jobs/read' // 4.5.1, owning workload, 4.6.3
  'Microsoft.ContainerService/managedClusters/batch/cronjobs/read' // 4.5.1, owning workload, 4.6.3
  'Microsoft.ContainerService/managedClusters/pods/read' // one paged pass: 4.1.5, 4.1.6, 4.2.1-4.2.5, 4.5.1, 4.6.2, 4.6.3, 5.1.4
]

// ============= //
//   Resources   //
// ============= //

// No wildcard, no admin credentials; run command only when asked for.
resource scannerRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(tenant().tenantId, environmentName, 'aks-kubelet-compliance-scanner')
  properties: {
    roleName: 'AKS kubelet compliance scanner (${environmentName})'
    description: 'Discover AKS clusters, fetch the user kubeconfig (server URL and CA, no secret on Entra clusters), read diagnostic settings, Defender pricing, registries and role assignments and definitions for the cluster-scoped CIS controls, and on Azure-RBAC clusters list nodes, GET nodes/{node}/proxy/configz and list the objects CIS section 4 evaluates (never secrets). Note: nodes/read also authorizes nodes/proxy, which reaches the kubelet API.'
    type: 'CustomRole'
    permissions: [
      {
        actions: allowRunCommand ? concat(scanActions, runCommandActions) : scanActions
        notActions: []
        dataActions: kubernetesDataActions
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
