// The function app on the Flex Consumption plan. Every app setting the connector reads
// (src/setup/appSettings.ts) that has to be set in Azure is set here; test/unit/infra
// checks the two lists against each other.
param name string
param planName string
param location string
param tags object
param serviceName string
param storageAccountName string
param deploymentContainerName string
param configContainerName string
param applicationInsightsName string
param identityResourceId string
param identityClientId string
@allowed([512, 2048, 4096])
param instanceMemoryMB int
@description('The most upload requests one Signature 365 tenant may receive at once; bounds scale-out below.')
@minValue(1)
@maxValue(64)
param uploadConcurrencyPerDestination int
@description('Empty for the config.json blob in the config container of this deployment\'s storage account.')
param configBlobUri string
param syncSchedule string
param logLevel string
param storagePrefix string
@secure()
@description('The key the Graph notification URLs carry (?code=); the webhook checks it.')
param graphWebhookKey string
@description('Keep one instance of the HTTP group warm, so Graph\'s validation request (10 s budget) never meets a cold start.')
param webhookAlwaysReady bool
@description('Extra settings, e.g. Key Vault references for @AppSetting(NAME) secrets; the settings below win on a clash.')
param additionalAppSettings object

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Scale-out bound. Each upload message goes to one destination, and every instance runs at
// most (batchSize + newBatchThreshold) queue messages at once (host.json, per instance). In the
// worst case every running upload is for the same destination, so
//   concurrent uploads per destination <= maximumInstanceCount * queueMessagesPerInstance.
// host.json sets batchSize 1 and newBatchThreshold 0, so one instance runs one message and the
// instance count is the bound itself (default 8 instead of the former 40 * (4 + 2) = 240).
// test/unit/infra keeps this number and host.json together.
var queueMessagesPerInstance = 1
var maximumInstanceCount = max(1, uploadConcurrencyPerDestination / queueMessagesPerInstance)

// Endpoints come from the account itself, so sovereign clouds get their own DNS suffix.
var endpoints = storageAccount.properties.primaryEndpoints

var baseAppSettings = {
  // Identity-based AzureWebJobsStorage: used by the host (timer locks, queue trigger) and by
  // the connector's own table, queue and blob clients. The service URIs are what the queue
  // trigger and the table client need; accountName is what src/setup/appSettings.ts reads.
  AzureWebJobsStorage__accountName: storageAccount.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: endpoints.blob
  AzureWebJobsStorage__queueServiceUri: endpoints.queue
  AzureWebJobsStorage__tableServiceUri: endpoints.table
  // Lets DefaultAzureCredential / ManagedIdentityCredential pick the user-assigned identity
  // (e.g. a "ManagedIdentity" source in config.json that names no ClientId).
  AZURE_CLIENT_ID: identityClientId
  // No key in this connection string: local auth is off, ingestion is authorised by the token.
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  CONFIG_BLOB_URI: !empty(configBlobUri) ? configBlobUri : '${endpoints.blob}${configContainerName}/config.json'
  SYNC_SCHEDULE: syncSchedule
  LOG_LEVEL: logLevel
  STORAGE_PREFIX: storagePrefix
  // The notification URLs are https://<default host name>/api/graph/{notifications,lifecycle}?code=<this key>;
  // WEBSITE_HOSTNAME comes from App Service. A custom domain sets GRAPH_NOTIFICATION_BASE_URL through additionalAppSettings.
  GRAPH_WEBHOOK_KEY: graphWebhookKey
  // The same bound for the in-process upload limiter (CLI and `serve` send from one process).
  UPLOAD_CONCURRENCY_PER_DESTINATION: string(uploadConcurrencyPerDestination)
}

module plan 'br/public:avm/res/web/serverfarm:0.5.0' = {
  name: 'appServicePlan'
  params: {
    name: planName
    location: location
    tags: tags
    skuName: 'FC1' // Flex Consumption
    reserved: true // Linux
    zoneRedundant: false
  }
}

module functionApp 'br/public:avm/res/web/site:0.22.0' = {
  name: 'functionApp'
  params: {
    kind: 'functionapp,linux'
    name: name
    location: location
    tags: union(tags, { 'azd-service-name': serviceName })
    serverFarmResourceId: plan.outputs.resourceId
    managedIdentities: {
      userAssignedResourceIds: [identityResourceId]
    }
    // Key Vault references in app settings resolve with this identity, not a system one.
    keyVaultAccessIdentityResourceId: identityResourceId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${endpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityResourceId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: webhookAlwaysReady ? [{ name: 'http', instanceCount: 1 }] : []
      }
      // Node 22 LTS: Node 20 reached end of support on 30 April 2026. The code and tests also
      // run on 20 (package.json engines: >=20).
      runtime: {
        name: 'node'
        version: '22'
      }
    }
    siteConfig: {
      alwaysOn: false
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    configs: [
      {
        name: 'appsettings'
        properties: union(additionalAppSettings, baseAppSettings)
      }
    ]
  }
}

output name string = functionApp.outputs.name
output configBlobUri string = baseAppSettings.CONFIG_BLOB_URI
output url string = 'https://${functionApp.outputs.defaultHostname}'
