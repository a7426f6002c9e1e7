metadata name = 'Scanner Function App'
metadata description = 'The Flex Consumption (FC1) plan and the Python Function App that runs the scanner as its user-assigned identity, with every app setting the code reads.'

// ============== //
//   Parameters   //
// ============== //

@description('Required. Name of the Function App (also the host name prefix).')
param name string

@description('Required. Name of the Flex Consumption plan.')
param planName string

@description('Optional. Location of the plan and the app.')
param location string = resourceGroup().location

@description('Optional. Tags of the resources. The app also gets azd-service-name so that azd deploy finds it.')
param tags object = {}

@description('Required. The azd service name of the app (services key in azure.yaml).')
param serviceName string

@description('Required. Python version of the Flex Consumption runtime; keep it equal to the version the tests run on.')
@allowed([
  '3.11'
])
param pythonVersion string

@description('Optional. Upper bound of instances the plan scales out to (Flex Consumption: 40 to 1000).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Optional. Memory of each instance in MB.')
@allowed([
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Required. Resource ID of the user-assigned identity the app runs as.')
param identityResourceId string

@description('Required. Client ID of that identity (AZURE_CLIENT_ID, AzureWebJobsStorage__clientId, APPLICATIONINSIGHTS_AUTHENTICATION_STRING).')
param identityClientId string

@description('Required. Name of the AzureWebJobsStorage account.')
param storageAccountName string

@description('Required. URL of the deployment blob container.')
param deploymentContainerUrl string

@description('Required. Name of the dead-letter blob container (DEADLETTER_CONTAINER).')
param deadLetterContainerName string

@description('Required. Application Insights connection string.')
param applicationInsightsConnectionString string

@description('Required. Logs Ingestion endpoint of the data collection rule (LOGS_INGESTION_ENDPOINT).')
param logsIngestionEndpoint string

@description('Required. Immutable ID of the data collection rule (LOGS_DCR_IMMUTABLE_ID).')
param dataCollectionRuleImmutableId string

@description('Required. DCR stream for finding rows (LOGS_FINDINGS_STREAM).')
param findingsStreamName string

@description('Required. DCR stream for run records (LOGS_RUNS_STREAM).')
param runsStreamName string

@description('Required. Subscription IDs the scanner covers, comma-separated (SCAN_SUBSCRIPTIONS).')
param scanSubscriptions string

@description('Required. NCRONTAB schedule of the timer trigger, UTC (SCAN_SCHEDULE).')
param scanSchedule string

@description('Required. Benchmark whose controls are evaluated (CIS_BENCHMARK).')
param benchmark string

@description('Required. CIS sections or control ids to evaluate, comma-separated, or all (CIS_SECTIONS).')
param sections string

@description('Required. How CIS 3.2.7 eventRecordQPS is judged: cis or zero-only (EVENT_RECORD_QPS_MODE).')
@allowed([
  'cis'
  'zero-only'
])
param eventRecordQpsMode string

@description('Required. Lowest non-zero eventRecordQPS that passes 3.2.7 in cis mode (EVENT_RECORD_QPS_MIN).')
@minValue(1)
@maxValue(10000)
param eventRecordQpsMin int

@description('Required. Policy document, inline YAML or JSON (eventRecordQPS rule, levels, exemptions with expiry); empty: the settings above apply (SCAN_POLICY).')
param scanPolicy string

@description('Required. Whether clusters without Entra ID are scanned with their kubeconfig\'s local credentials (ALLOW_LOCAL_ACCOUNTS).')
param allowLocalAccounts bool

@description('Required. What happens to a private cluster whose API server the app cannot reach: report or run-command (PRIVATE_CLUSTER_MODE).')
@allowed([
  'report'
  'run-command'
])
param privateClusterMode string

@description('Required. Entra tenant whose v2.0 access tokens POST /api/scan accepts (SCAN_API_TENANT_ID).')
param scanApiTenantId string

@description('Required. Application (client) ID of the scanner API\'s app registration, the audience of those tokens (SCAN_API_CLIENT_ID); created by infra/hooks/scanner-api.sh.')
@minLength(36)
@maxLength(36)
param scanApiClientId string

@description('Optional. App role a caller\'s token must carry in its roles claim (SCAN_API_ROLE); the hook defines Scan.Run.')
param scanApiRole string = 'Scan.Run'

@description('Required. Entra authority host of the cloud, environment().authentication.loginEndpoint (SCAN_API_AUTHORITY; a trailing slash is dropped).')
param scanApiAuthority string

// ============= //
//   Resources   //
// ============= //

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: zone redundancy on Flex Consumption exists only in some regions; a scheduled scan lost to a zone outage runs again next period, and the silent-scanner alert reports a longer gap.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true // Linux
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: POST /api/scan is the on-demand entry point, reached from operators' machines and pipelines; it requires a function key and an Entra ID token with the Scan.Run app role, and this template has no private network for it.
  // checkov:skip=CKV_AZURE_17: callers authenticate with an Entra ID access token (checked in the app) and a function key over HTTPS; client certificates would add a certificate authority for one operator endpoint.
  // checkov:skip=CKV_AZURE_212: a scheduled batch job: a cold start costs seconds once per period, and always-ready instances would be billed around the clock.
  // checkov:skip=CKV_AZURE_213: nothing serves traffic that a health probe could steer; liveness is measured by the run records (silent-scanner alert).
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityResourceId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // Every setting the code reads (shared/settings.py DOCUMENTED plus the Functions host's
      // own); tests/infra/test_settings.py fails when one is missing. The tuning values are the
      // code's defaults, written out so that the deployed configuration can be read here.
      appSettings: [
        // Functions host: identity-based host storage, Entra-authenticated telemetry.
        { name: 'AzureWebJobsStorage__accountName', value: storageAccountName }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: applicationInsightsConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
        // Scanner: identity and scope.
        { name: 'AZURE_CLIENT_ID', value: identityClientId }
        { name: 'ARM_ENDPOINT', value: environment().resourceManager }
        { name: 'SCAN_SUBSCRIPTIONS', value: scanSubscriptions }
        { name: 'DISCOVERY_MODE', value: 'auto' }
        { name: 'SCAN_SCHEDULE', value: scanSchedule }
        // Scanner: benchmark and judgement calls.
        { name: 'CIS_BENCHMARK', value: benchmark }
        { name: 'CIS_SECTIONS', value: sections }
        { name: 'EVENT_RECORD_QPS_MODE', value: eventRecordQpsMode }
        { name: 'EVENT_RECORD_QPS_MIN', value: string(eventRecordQpsMin) }
        { name: 'SCAN_POLICY', value: scanPolicy }
        { name: 'ALLOW_LOCAL_ACCOUNTS', value: allowLocalAccounts ? 'true' : 'false' }
        { name: 'PRIVATE_CLUSTER_MODE', value: privateClusterMode }
        // Scanner: politeness and bounds (code defaults).
        { name: 'SCAN_CONCURRENCY', value: '64' }
        { name: 'SCAN_CLUSTER_CONCURRENCY', value: '8' }
        { name: 'SCAN_REQUEST_TIMEOUT', value: '10' }
        { name: 'SCAN_MAX_RETRIES', value: '3' }
        { name: 'CONFIGZ_MAX_BYTES', value: '1048576' }
        // Findings: Logs Ingestion through the data collection rule, dead letters in host storage.
        { name: 'LOGS_INGESTION_ENDPOINT', value: logsIngestionEndpoint }
        { name: 'LOGS_DCR_IMMUTABLE_ID', value: dataCollectionRuleImmutableId }
        { name: 'LOGS_FINDINGS_STREAM', value: findingsStreamName }
        { name: 'LOGS_RUNS_STREAM', value: runsStreamName }
        { name: 'DEADLETTER_CONTAINER', value: deadLetterContainerName }
        // POST /api/scan: Entra ID v2.0 tokens of this tenant for the scanner API, with the app
        // role (checked in the app: EasyAuth does not block callers on Flex Consumption).
        { name: 'SCAN_API_AUTH', value: 'entra' }
        { name: 'SCAN_API_TENANT_ID', value: scanApiTenantId }
        { name: 'SCAN_API_CLIENT_ID', value: scanApiClientId }
        { name: 'SCAN_API_ROLE', value: scanApiRole }
        { name: 'SCAN_API_AUTHORITY', value: scanApiAuthority }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityResourceId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

// Deployment goes through azd with Entra ID; no FTP or SCM basic-auth publishing credentials.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

// =========== //
//   Outputs   //
// =========== //

@description('The resource ID of the Function App.')
output resourceId string = app.id

@description('The name of the Function App.')
output name string = app.name

@description('The default host name of the Function App (POST https://<host>/api/scan).')
output defaultHostName string = app.properties.defaultHostName
