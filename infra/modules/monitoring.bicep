metadata name = 'Findings store and telemetry'
metadata description = 'The Log Analytics workspace with the AksCisFindings_CL and AksCisScanRuns_CL tables, the Direct data collection rule the app uploads through (Logs Ingestion API), and workspace-based Application Insights with local authentication disabled.'

// ============== //
//   Parameters   //
// ============== //

@description('Required. Name of the Log Analytics workspace.')
param workspaceName string

@description('Required. Name of the data collection rule.')
param dataCollectionRuleName string

@description('Required. Name of the Application Insights component.')
param applicationInsightsName string

@description('Optional. Location of the resources; the data collection rule must be in the workspace\'s region.')
param location string = resourceGroup().location

@description('Optional. Tags of the resources.')
param tags object = {}

@description('Optional. Days the workspace keeps findings and telemetry (interactive retention).')
@minValue(30)
@maxValue(730)
param retentionInDays int = 90

@description('Optional. Role assignments on the data collection rule. Each item is a roleAssignmentType: roleDefinitionId (a built-in role GUID), principalId, principalType, description.')
param dataCollectionRuleRoleAssignments array = []

@description('Optional. Role assignments on the Application Insights component. Each item is a roleAssignmentType: roleDefinitionId (a built-in role GUID), principalId, principalType, description.')
param applicationInsightsRoleAssignments array = []

// ============= //
//   Variables   //
// ============= //

// The record schema. shared/core/records.py (FINDING_COLUMNS, RUN_COLUMNS) is the single source of
// truth; tests/infra/test_schema.py fails when these lists, the tables or the stream
// declarations drift from it. Types are Log Analytics column types.
var findingColumns = [
  { name: 'TimeGenerated', type: 'datetime' }
  { name: 'RunId', type: 'string' }
  { name: 'RecordId', type: 'string' }
  { name: 'Benchmark', type: 'string' }
  { name: 'ControlId', type: 'string' }
  { name: 'ControlTitle', type: 'string' }
  { name: 'Level', type: 'int' }
  { name: 'Status', type: 'string' }
  { name: 'Actual', type: 'string' }
  { name: 'Expected', type: 'string' }
  { name: 'Reason', type: 'string' }
  { name: 'Remediation', type: 'string' }
  { name: 'SubscriptionId', type: 'string' }
  { name: 'ResourceGroup', type: 'string' }
  { name: 'ClusterName', type: 'string' }
  { name: 'ClusterId', type: 'string' }
  { name: 'NodePool', type: 'string' }
  { name: 'NodeName', type: 'string' }
  { name: 'KubeletVersion', type: 'string' }
  { name: 'OsImage', type: 'string' }
  { name: 'Exempt', type: 'boolean' }
  { name: 'ExemptionReason', type: 'string' }
  { name: 'ExemptionExpires', type: 'string' }
  { name: 'Section', type: 'string' }
  { name: 'Scope', type: 'string' }
  { name: 'Evidence', type: 'string' }
  { name: 'EvidenceCount', type: 'int' }
]

var runColumns = [
  { name: 'TimeGenerated', type: 'datetime' }
  { name: 'RunId', type: 'string' }
  { name: 'Trigger', type: 'string' }
  { name: 'TriggeredBy', type: 'string' } // JSON: kind, objectId, appId, name, tenantId of the caller
  { name: 'Benchmark', type: 'string' }
  { name: 'StartedAt', type: 'datetime' }
  { name: 'FinishedAt', type: 'datetime' }
  { name: 'Subscriptions', type: 'int' }
  { name: 'Clusters', type: 'int' }
  { name: 'ClustersFailed', type: 'int' }
  { name: 'Nodes', type: 'int' }
  { name: 'NodesFailed', type: 'int' }
  { name: 'Passed', type: 'int' }
  { name: 'Failed', type: 'int' }
  { name: 'Errors', type: 'int' }
  { name: 'Skipped', type: 'int' }
  { name: 'Manual', type: 'int' }
  { name: 'ExemptionsExpiring', type: 'int' }
  { name: 'ExpiringExemptions', type: 'string' }
  { name: 'RowsSent', type: 'int' }
  { name: 'RowsDeadLettered', type: 'int' }
  { name: 'RowsReplayed', type: 'int' }
  { name: 'ClusterRows', type: 'int' }
]

var findingsTableName = 'AksCisFindings_CL'
var runsTableName = 'AksCisScanRuns_CL'
var findingsStreamName = 'Custom-AksCisFindings' // LOGS_FINDINGS_STREAM
var runsStreamName = 'Custom-AksCisScanRuns' // LOGS_RUNS_STREAM
var workspaceDestinationName = 'findingsWorkspace'

// ============= //
//   Resources   //
// ============= //

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      disableLocalAuth: true // no workspace keys: rows arrive through the DCR with Entra tokens only
    }
    publicNetworkAccessForIngestion: 'Enabled'
    publicNetworkAccessForQuery: 'Enabled'
  }
}

resource findingsTable 'Microsoft.OperationalInsights/workspaces/tables@2023-09-01' = {
  parent: workspace
  name: findingsTableName
  properties: {
    plan: 'Analytics' // alerts and the workbook query it
    schema: {
      name: findingsTableName
      description: 'One row per scan run and CIS AKS control: per node for node-scoped controls (kubelet), per cluster for cluster-scoped ones (Scope, Evidence) (shared/core/records.py Finding).'
      columns: findingColumns
    }
  }
}

resource runsTable 'Microsoft.OperationalInsights/workspaces/tables@2023-09-01' = {
  parent: workspace
  name: runsTableName
  properties: {
    plan: 'Analytics'
    schema: {
      name: runsTableName
      description: 'One row per scan run or fanned-out invocation (shared/core/records.py RunRecord).'
      columns: runColumns
    }
  }
}

// kind Direct gives the rule its own Logs Ingestion endpoint (properties.endpoints.logsIngestion),
// so no data collection endpoint is needed.
resource dataCollectionRule 'Microsoft.Insights/dataCollectionRules@2024-03-11' = {
  name: dataCollectionRuleName
  location: location
  tags: tags
  kind: 'Direct'
  properties: {
    description: 'CIS AKS findings and scan runs from the AKS CIS scanner (Logs Ingestion API).'
    streamDeclarations: {
      'Custom-AksCisFindings': {
        columns: findingColumns
      }
      'Custom-AksCisScanRuns': {
        columns: runColumns
      }
    }
    destinations: {
      logAnalytics: [
        {
          name: workspaceDestinationName
          workspaceResourceId: workspace.id
        }
      ]
    }
    dataFlows: [
      {
        streams: [
          findingsStreamName
        ]
        destinations: [
          workspaceDestinationName
        ]
        transformKql: 'source'
        outputStream: 'Custom-${findingsTableName}'
      }
      {
        streams: [
          runsStreamName
        ]
        destinations: [
          workspaceDestinationName
        ]
        transformKql: 'source'
        outputStream: 'Custom-${runsTableName}'
      }
    ]
  }
  dependsOn: [
    findingsTable
    runsTable
  ]
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true // telemetry is accepted only with an Entra token (APPLICATIONINSIGHTS_AUTHENTICATION_STRING)
    publicNetworkAccessForIngestion: 'Enabled'
    publicNetworkAccessForQuery: 'Enabled'
  }
}

resource dataCollectionRuleRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for roleAssignment in dataCollectionRuleRoleAssignments: {
  name: guid(dataCollectionRule.id, roleAssignment.principalId, roleAssignment.roleDefinitionId)
  scope: dataCollectionRule
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleAssignment.roleDefinitionId)
    principalId: roleAssignment.principalId
    principalType: roleAssignment.principalType
    description: roleAssignment.description
  }
}]

resource applicationInsightsRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for roleAssignment in applicationInsightsRoleAssignments: {
  name: guid(applicationInsights.id, roleAssignment.principalId, roleAssignment.roleDefinitionId)
  scope: applicationInsights
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

@description('The resource ID of the Log Analytics workspace.')
output workspaceResourceId string = workspace.id

@description('The name of the Log Analytics workspace.')
output workspaceName string = workspace.name

@description('The data collection rule\'s own Logs Ingestion endpoint (LOGS_INGESTION_ENDPOINT).')
output logsIngestionEndpoint string = dataCollectionRule.properties.endpoints.logsIngestion

@description('The immutable ID of the data collection rule (LOGS_DCR_IMMUTABLE_ID).')
output dataCollectionRuleImmutableId string = dataCollectionRule.properties.immutableId

@description('The resource ID of the data collection rule.')
output dataCollectionRuleResourceId string = dataCollectionRule.id

@description('The DCR stream for finding rows (LOGS_FINDINGS_STREAM).')
output findingsStreamName string = findingsStreamName

@description('The DCR stream for run records (LOGS_RUNS_STREAM).')
output runsStreamName string = runsStreamName

@description('The Application Insights connection string (APPLICATIONINSIGHTS_CONNECTION_STRING; it holds no secret once local authentication is disabled).')
output applicationInsightsConnectionString string = applicationInsights.properties.ConnectionString

@description('The resource ID of the Application Insights component.')
output applicationInsightsResourceId string = applicationInsights.id
