metadata name = 'Compliance workbook'
metadata description = 'A shared Azure Monitor workbook over the findings workspace: compliance matrix (cluster x control, latest run), FAIL and ERROR trend, worst node pools, scan runs, and the raw evidence of a selected cluster.'

// ============== //
//   Parameters   //
// ============== //

@description('Required. Resource ID of the Log Analytics workspace the workbook queries.')
param workspaceResourceId string

@description('Required. Display name of the workbook.')
param displayName string

@description('Optional. Location of the workbook.')
param location string = resourceGroup().location

@description('Optional. Tags of the resource.')
param tags object = {}

// ============= //
//   Resources   //
// ============= //

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, workspaceResourceId, 'aks-kubelet-compliance-workbook') // a workbook's name must be a GUID
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    description: 'CIS AKS compliance (kubelet per node, managed-cluster controls per cluster) from the AKS CIS scanner (AksCisFindings_CL, AksCisScanRuns_CL).'
    category: 'workbook'
    sourceId: workspaceResourceId
    version: 'Notebook/1.0'
    serializedData: replace(loadTextContent('../workbook/aks-kubelet-compliance.workbook.json'), '__WORKSPACE_RESOURCE_ID__', workspaceResourceId)
  }
}

// =========== //
//   Outputs   //
// =========== //

@description('The resource ID of the workbook.')
output resourceId string = workbook.id
