metadata name = 'AKS kubelet CIS scanner'
metadata description = 'Everything azd up deploys: the scanner Function App (Flex Consumption, Python) with its user-assigned identity and keyless storage, the Log Analytics tables and Direct data collection rule for its findings, the least-privilege scanner role in every target subscription, the alerts and the workbook.'

targetScope = 'subscription'

// ============== //
//   Parameters   //
// ============== //

@description('Required. Name of the azd environment; names and tags every resource.')
@minLength(1)
@maxLength(32)
param environmentName string

@description('Required. Region of every resource (Flex Consumption must be available there).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Optional. Subscription IDs to scan, comma-separated. The scanner role is created and assigned in each of them, and the app scans exactly these (SCAN_SUBSCRIPTIONS). Empty: the subscription deployed to.')
param targetSubscriptionIds string = ''

@description('Optional. Hours between two scheduled scans, a divisor of 24 so that runs are evenly spaced. The timer runs at minute 0 of every such hour, UTC (Flex Consumption has no time zone setting); the alerts measure silence, coverage and waiting in these periods.')
@allowed([
  1
  2
  3
  4
  6
  8
  12
])
param scanIntervalHours int = 6

@description('Required. E-mail address that receives the compliance and scanner alerts.')
param alertEmail string

@description('Optional. How CIS AKS 3.2.7 (eventRecordQPS) is judged. cis: 0 or at least eventRecordQpsMin passes; zero-only: only 0 passes, as kube-bench reads it.')
@allowed([
  'cis'
  'zero-only'
])
param eventRecordQpsMode string = 'cis'

@description('Optional. Lowest non-zero eventRecordQPS that passes 3.2.7 in cis mode.')
@minValue(1)
@maxValue(10000)
param eventRecordQpsMin int = 5

@description('Optional. The scan policy as inline YAML or JSON (SCAN_POLICY): the eventRecordQPS rule, the benchmark levels to evaluate, and exemptions (control, scope, reason, expiry date). Empty: eventRecordQpsMode and eventRecordQpsMin apply, both levels, no exemption.')
param scanPolicy string = ''

@description('Optional. Benchmark whose controls are evaluated.')
@allowed([
  'cis-aks-1.8'
])
param benchmark string = 'cis-aks-1.8'

@description('Optional. CIS sections (or control ids) to evaluate, comma-separated, for example 3.2 for the kubelet controls only (CIS_SECTIONS); all: every section of the benchmark.')
param sections string = 'all'

@description('Optional. Whether clusters without Entra ID integration are scanned with the local-account credentials listClusterUserCredential returns for them (effectively cluster-admin). Off: such clusters get ERROR rows saying why.')
param allowLocalAccounts bool = false

@description('Optional. What the scanner does with a private cluster whose API server it cannot reach: report (ERROR rows naming the fix) or run-command (read configz through the AKS run command API; the scanner role then also grants runcommand/action and commandResults/read).')
@allowed([
  'report'
  'run-command'
])
param privateClusterMode string = 'report'

@description('Required. Application (client) ID of the scanner API\'s Entra app registration: the audience of the tokens POST /api/scan accepts. The azd preprovision hook (infra/hooks/scanner-api.sh) creates the registration with its Scan.Run app role and sets SCAN_API_CLIENT_ID.')
@minLength(36)
@maxLength(36)
param scanApiClientId string

@description('Optional. Days the workspace keeps findings and telemetry.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 90

@description('Optional. Tags added to every resource.')
param tags object = {}

// ============= //
//   Variables   //
// ============= //

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var allTags = union(tags, {
  'azd-env-name': environmentName
})
var targetSubscriptions = empty(targetSubscriptionIds) ? [
  subscription().subscriptionId
] : split(replace(targetSubscriptionIds, ' ', ''), ',')

// The Functions host and the scanner agree on these names (function_app.py, shared/deadletter.py).
var scanQueueName = 'scan-cluster'
var poisonQueueName = 'scan-cluster-poison'
var deadLetterContainerName = 'findings-deadletter'
var functionAppName = 'func-aks-kubelet-${resourceToken}'
var deploymentContainerName = 'app-package-${resourceToken}'

// Built-in roles the app identity holds, each on one resource (docs/infra.md, Permissions).
var builtInRoles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// ============= //
//   Resources   //
// ============= //

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: allTags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-aks-kubelet-${resourceToken}'
    location: location
    tags: allTags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: allTags
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    queueNames: [
      scanQueueName
      poisonQueueName
    ]
    roleAssignments: [
      {
        roleDefinitionId: builtInRoles.storageBlobDataOwner
        principalId: identity.outputs.principalId
        principalType: 'ServicePrincipal'
        description: 'Host storage (AzureWebJobsStorage): deployment package, timer locks, dead-letter blobs and their leases.'
      }
    ]
    // On each of the two queues, not on the account: no other queue of the account is reachable.
    queueRoleAssignments: [
      {
        roleDefinitionId: builtInRoles.storageQueueDataContributor
        principalId: identity.outputs.principalId
        principalType: 'ServicePrincipal'
        description: 'This queue only: the scan-cluster trigger and output, or the poison queue output.'
      }
    ]
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    workspaceName: 'log-aks-kubelet-${resourceToken}'
    dataCollectionRuleName: 'dcr-aks-kubelet-${resourceToken}'
    applicationInsightsName: 'appi-aks-kubelet-${resourceToken}'
    location: location
    tags: allTags
    retentionInDays: retentionInDays
    dataCollectionRuleRoleAssignments: [
      {
        roleDefinitionId: builtInRoles.monitoringMetricsPublisher
        principalId: identity.outputs.principalId
        principalType: 'ServicePrincipal'
        description: 'Upload findings and run records through this data collection rule only (Logs Ingestion API).'
      }
    ]
    applicationInsightsRoleAssignments: [
      {
        roleDefinitionId: builtInRoles.monitoringMetricsPublisher
        principalId: identity.outputs.principalId
        principalType: 'ServicePrincipal'
        description: 'Send Functions telemetry with an Entra token (local authentication is disabled).'
      }
    ]
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'functionApp'
  scope: rg
  params: {
    name: functionAppName
    planName: 'plan-aks-kubelet-${resourceToken}'
    location: location
    tags: allTags
    serviceName: 'scanner'
    pythonVersion: '3.11'
    identityResourceId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    deadLetterContainerName: deadLetterContainerName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    logsIngestionEndpoint: monitoring.outputs.logsIngestionEndpoint
    dataCollectionRuleImmutableId: monitoring.outputs.dataCollectionRuleImmutableId
    findingsStreamName: monitoring.outputs.findingsStreamName
    runsStreamName: monitoring.outputs.runsStreamName
    scanSubscriptions: join(targetSubscriptions, ',')
    scanSchedule: '0 0 */${scanIntervalHours} * * *'
    benchmark: benchmark
    sections: sections
    eventRecordQpsMode: eventRecordQpsMode
    eventRecordQpsMin: eventRecordQpsMin
    scanPolicy: scanPolicy
    allowLocalAccounts: allowLocalAccounts
    privateClusterMode: privateClusterMode
    scanApiTenantId: tenant().tenantId
    scanApiClientId: scanApiClientId
    scanApiAuthority: environment().authentication.loginEndpoint // https://login.microsoftonline.com/ in the public cloud; the app drops the slash
  }
}

// One role definition, assignable in every target subscription; created in the first of them.
module scannerRole 'modules/scanner-role.bicep' = {
  name: 'scannerRole-${resourceToken}'
  scope: subscription(targetSubscriptions[0])
  params: {
    environmentName: environmentName
    assignableSubscriptionIds: targetSubscriptions
    allowRunCommand: privateClusterMode == 'run-command'
  }
}

module scannerAccess 'modules/scanner-access.bicep' = [for subscriptionId in targetSubscriptions: {
  name: 'access-${resourceToken}-${subscriptionId}'
  scope: subscription(subscriptionId)
  params: {
    roleDefinitionName: scannerRole.outputs.roleDefinitionName
    principalId: identity.outputs.principalId
  }
}]

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    workspaceResourceId: monitoring.outputs.workspaceResourceId
    alertEmail: alertEmail
    scanIntervalHours: scanIntervalHours
    namePrefix: 'aks-kubelet-${environmentName}'
    location: location
    tags: allTags
  }
}

module workbook 'modules/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: {
    workspaceResourceId: monitoring.outputs.workspaceResourceId
    displayName: 'AKS kubelet CIS compliance (${environmentName})'
    location: location
    tags: allTags
  }
}

// =========== //
//   Outputs   //
// =========== //

@description('The region of the deployment (azd).')
output AZURE_LOCATION string = location

@description('The tenant of the deployment (azd).')
output AZURE_TENANT_ID string = tenant().tenantId

@description('The resource group that holds every resource but the scanner role and its assignments.')
output AZURE_RESOURCE_GROUP string = rg.name

@description('The name of the Function App.')
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name

@description('The object (principal) ID of the scanner identity: the Kubernetes user name to bind with infra/k8s/ on clusters that use Kubernetes RBAC.')
output SCANNER_PRINCIPAL_ID string = identity.outputs.principalId

@description('The resource ID of the scanner custom role: the preprovision and postdown hooks (infra/hooks/scanner_access.py) revoke it where SCAN_SUBSCRIPTION_IDS no longer names a subscription.')
output SCANNER_ROLE_DEFINITION_ID string = scannerRole.outputs.roleDefinitionId

@description('The client ID of the scanner identity (AZURE_CLIENT_ID).')
output SCANNER_CLIENT_ID string = identity.outputs.clientId

@description('The subscriptions the scanner role is assigned in and the app scans.')
output SCAN_SUBSCRIPTIONS string = join(targetSubscriptions, ',')

@description('The Logs Ingestion endpoint of the data collection rule (for the CLI: LOGS_INGESTION_ENDPOINT).')
output LOGS_INGESTION_ENDPOINT string = monitoring.outputs.logsIngestionEndpoint

@description('The immutable ID of the data collection rule (for the CLI: LOGS_DCR_IMMUTABLE_ID).')
output LOGS_DCR_IMMUTABLE_ID string = monitoring.outputs.dataCollectionRuleImmutableId

@description('The resource ID of the Log Analytics workspace.')
output LOG_ANALYTICS_WORKSPACE_ID string = monitoring.outputs.workspaceResourceId

@description('The application (client) ID of the scanner API: the audience of POST /api/scan tokens.')
output SCAN_API_CLIENT_ID string = scanApiClientId

@description('What a caller asks a token for: az account get-access-token --resource <this>.')
output SCAN_API_IDENTIFIER_URI string = 'api://${scanApiClientId}'

@description('The manual trigger (POST with a function key and an Entra token carrying Scan.Run).')
output SCAN_API_URL string = 'https://${functionApp.outputs.defaultHostName}/api/scan'
