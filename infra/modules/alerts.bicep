metadata name = 'Compliance and scanner alerts'
metadata description = 'An e-mail action group and four log search alert rules over the findings workspace: FAIL findings, coverage gaps, a silent scanner, and dead-lettered rows left waiting.'

// ============== //
//   Parameters   //
// ============== //

@description('Required. Resource ID of the Log Analytics workspace that holds AksCisFindings_CL and AksCisScanRuns_CL.')
param workspaceResourceId string

@description('Required. E-mail address that receives the alerts.')
param alertEmail string

@description('Required. Hours between two scheduled scans; the queries measure silence, coverage and waiting in these periods.')
@allowed([
  1
  2
  3
  4
  6
  8
  12
])
param scanIntervalHours int

@description('Required. Prefix of the alert rule and action group names.')
param namePrefix string

@description('Optional. Location of the alert rules (the workspace\'s region).')
param location string = resourceGroup().location

@description('Optional. Tags of the resources.')
param tags object = {}

// ============= //
//   Variables   //
// ============= //

// Each query file starts with this line, valid KQL as it stands so that the file can be pasted
// into Log Analytics; the deployed rule gets the deployed period instead.
var periodLine = 'let period = 6h;'
var deployedPeriodLine = 'let period = ${scanIntervalHours}h;'

// Log search alerts scan at most two days of data whatever the query says, so every query
// looks back two days at most (overrideQueryTimeRange) and filters its own time range.
var queryTimeRange = 'P2D'

// ============= //
//   Resources   //
// ============= //

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: '${namePrefix}-email'
  location: 'global'
  tags: tags
  properties: {
    enabled: true
    groupShortName: 'akskubelet' // at most 12 characters
    emailReceivers: [
      {
        name: 'compliance-owner'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

resource failedControls 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-failed-controls'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'AKS CIS: CIS control failing'
    description: 'FAIL findings in the latest run of a cluster, one alert per cluster and control. Resolves when a later run passes.'
    severity: 2
    enabled: true
    scopes: [
      workspaceResourceId
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    overrideQueryTimeRange: queryTimeRange
    skipQueryValidation: true // the custom tables take minutes to become queryable after creation
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: replace(loadTextContent('../queries/failures.kql'), periodLine, deployedPeriodLine)
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'FailedTargets'
          dimensions: [
            {
              name: 'ClusterId'
              operator: 'Include'
              values: [
                '*'
              ]
            }
            {
              name: 'ControlId'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
      customProperties: {
        source: 'aks-kubelet-scanner'
        runbook: 'docs/infra.md#alerts'
      }
    }
  }
}

resource coverageGaps 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-coverage'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'AKS CIS: coverage gap'
    description: 'ERROR rows in the latest run (a node or cluster was not read, so it was not judged), a failed discovery, or a discovered cluster without findings for two scheduled runs.'
    severity: 2
    enabled: true
    scopes: [
      workspaceResourceId
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    overrideQueryTimeRange: queryTimeRange
    skipQueryValidation: true
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: replace(loadTextContent('../queries/coverage.kql'), periodLine, deployedPeriodLine)
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'Rows'
          dimensions: [
            {
              name: 'Target'
              operator: 'Include'
              values: [
                '*'
              ]
            }
            {
              name: 'Problem'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
      customProperties: {
        source: 'aks-kubelet-scanner'
        runbook: 'docs/infra.md#alerts'
      }
    }
  }
}

resource silentScanner 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-silent-scanner'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'AKS CIS: scanner silent'
    description: 'No scheduled run record for two schedule periods: the timer, the app or the ingestion path is broken, and no finding is current.'
    severity: 1
    enabled: true
    scopes: [
      workspaceResourceId
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    overrideQueryTimeRange: queryTimeRange
    skipQueryValidation: true
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: replace(loadTextContent('../queries/silent-scanner.kql'), periodLine, deployedPeriodLine)
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'Runs'
          operator: 'LessThan'
          threshold: 1
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
      customProperties: {
        source: 'aks-kubelet-scanner'
        runbook: 'docs/infra.md#alerts'
      }
    }
  }
}

resource waitingDeadLetters 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-dead-letters'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'AKS CIS: findings waiting in the dead-letter container'
    description: 'Rows that Log Analytics refused have waited longer than one schedule period: replays keep failing (ingestion, DCR or schema problem), so findings are missing from the workspace.'
    severity: 2
    enabled: true
    scopes: [
      workspaceResourceId
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    overrideQueryTimeRange: queryTimeRange
    skipQueryValidation: true
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: replace(loadTextContent('../queries/dead-letters.kql'), periodLine, deployedPeriodLine)
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'WaitingRows'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
      customProperties: {
        source: 'aks-kubelet-scanner'
        runbook: 'docs/infra.md#alerts'
      }
    }
  }
}

// =========== //
//   Outputs   //
// =========== //

@description('The resource ID of the e-mail action group.')
output actionGroupResourceId string = actionGroup.id

@description('The resource IDs of the four alert rules.')
output alertRuleResourceIds array = [
  failedControls.id
  coverageGaps.id
  silentScanner.id
  waitingDeadLetters.id
]
