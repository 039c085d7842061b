// The one storage account of a deployment. It holds:
//  - the deployment container the Flex Consumption plan pulls the app package from;
//  - the `config` container for config.json (CONFIG_BLOB_URI);
//  - the connector's tables (mirror, cursors, upload state, audit) and queues, all named
//    with STORAGE_PREFIX. The app creates those itself on first use, so a new table or
//    queue in the code needs no infrastructure change; the data roles in rbac.bicep cover
//    creating them.
// Shared keys are off: every caller (the app, the deployer, Storage Explorer) signs in
// with Entra ID, so there is no account key or connection string to leak or rotate.
param name string
param location string
param tags object
param deploymentContainerName string
param configContainerName string

module storage 'br/public:avm/res/storage/storage-account:0.13.2' = {
  name: 'storageAccount'
  params: {
    name: name
    location: location
    tags: tags
    kind: 'StorageV2'
    skuName: 'Standard_LRS'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    minimumTlsVersion: 'TLS1_2'
    dnsEndpointType: 'Standard'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    blobServices: {
      containers: [
        { name: deploymentContainerName }
        { name: configContainerName }
      ]
    }
  }
}

output name string = storage.outputs.name
output resourceId string = storage.outputs.resourceId
