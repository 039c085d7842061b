// Signature 365 Entra ID Connector: everything one deployment needs, in its own resource
// group. `azd up` provisions this and deploys the app; docs/deploy.md walks through it.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; seeds the unique suffix of every resource name.')
param environmentName string

@minLength(1)
@description('Region for all resources. It must offer the Flex Consumption plan: `az functionapp list-flexconsumption-locations`.')
@metadata({ azd: { type: 'location' } })
param location string

@description('Object id of the person or pipeline running azd, granted data access to upload config.json, set Key Vault secrets and run the CLI against this storage. Empty to grant nothing.')
param principalId string = ''
@allowed(['User', 'ServicePrincipal'])
param principalType string = 'User'

// Names, all optional: empty means "<abbreviation><unique suffix>".
param resourceGroupName string = ''
param functionAppName string = ''
param appServicePlanName string = ''
param identityName string = ''
param storageAccountName string = ''
param logAnalyticsName string = ''
param applicationInsightsName string = ''
param keyVaultName string = ''

@description('Create a Key Vault for the secrets config.json names with @AppSetting(NAME).')
param createKeyVault bool = true

@description('NCRONTAB schedule of the delta sync timer (SYNC_SCHEDULE).')
param syncSchedule string = '0 */15 * * * *'

@allowed(['debug', 'info', 'warn', 'error'])
param logLevel string = 'info'

@description('Prefix of the connector\'s table and queue names (STORAGE_PREFIX), so deployments can share an account.')
@minLength(1)
@maxLength(20)
param storagePrefix string = 's365'

@description('Blob container that holds config.json.')
param configContainerName string = 'config'

@description('Where the app reads config.json (CONFIG_BLOB_URI). Empty for <blob endpoint>/<configContainerName>/config.json in this deployment\'s storage account.')
param configBlobUri string = ''

@description('Memory of each Flex Consumption instance, MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Concurrent uploads per destination: the most requests one Signature 365 tenant receives at once. It bounds scale-out: maximumInstanceCount = this / queue messages per instance (host.json); see docs/deploy.md, "Scale-out".')
@minValue(1)
@maxValue(64)
param uploadConcurrencyPerDestination int = 8

@secure()
@description('Key of the Graph notification URLs (GRAPH_WEBHOOK_KEY). Default: a new random value on each provision; the subscription timer then moves the subscriptions to the new URLs.')
param graphWebhookKey string = newGuid()

@description('Keep one always-ready instance for the HTTP functions (billed while idle), so the webhook answers Graph at once after idle periods.')
param webhookAlwaysReady bool = false

@description('Extra app settings, e.g. { "S365_TOKEN_TENANT1": "@Microsoft.KeyVault(SecretUri=...)" } for @AppSetting(NAME) secrets in config.json.')
param additionalAppSettings object = {}

@description('Grant the app identity its Microsoft Graph application permissions in this deployment (Microsoft Graph Bicep extension). Off by default: whoever runs azd then needs Privileged Role Administrator in Entra ID. docs/deploy.md, step 1, has the manual grant.')
param grantGraphAppRoles bool = false

@description('The Microsoft Graph application permissions granted when grantGraphAppRoles is true (src/graph/permissions.ts lists what each is for). Group.Read.All serves only the groups change-notification subscription, Application.Read.All only extension discovery, Domain.Read.All only the mail-domain report, MailboxSettings.Read only the mailbox type; drop one to do without.')
param graphAppRoles array = ['User.Read.All', 'GroupMember.Read.All', 'Group.Read.All', 'Application.Read.All', 'Domain.Read.All', 'MailboxSettings.Read']

@description('E-mail address the alerts go to. Empty: the alert rules fire in the portal only, with no action group.')
param alertEmail string = ''

@description('Alert when a source has had no completed delta round for this many hours.')
@minValue(1)
@maxValue(47)
param alertNoSuccessfulSyncHours int = 6

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var appName = !empty(functionAppName) ? functionAppName : '${abbrs.webSitesFunctions}s365-${resourceToken}'
// Flex Consumption pulls the app package from this container.
var deploymentContainerName = 'app-package-${take(appName, 32)}-${take(toLower(uniqueString(appName, resourceToken)), 7)}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity './app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: !empty(identityName) ? identityName : '${abbrs.managedIdentityUserAssignedIdentities}s365-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage './app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: !empty(storageAccountName) ? storageAccountName : '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    configContainerName: configContainerName
  }
}

module monitoring './app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: !empty(logAnalyticsName) ? logAnalyticsName : '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: !empty(applicationInsightsName) ? applicationInsightsName : '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module keyVault './app/keyvault.bicep' = if (createKeyVault) {
  name: 'keyVault'
  scope: rg
  params: {
    name: !empty(keyVaultName) ? keyVaultName : '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
  }
}

module rbac './app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: createKeyVault ? keyVault.outputs.name : ''
    identityPrincipalId: identity.outputs.principalId
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
  }
}

module api './app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: appName
    planName: !empty(appServicePlanName) ? appServicePlanName : '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    serviceName: 'api'
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    configContainerName: configContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    identityResourceId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    instanceMemoryMB: instanceMemoryMB
    uploadConcurrencyPerDestination: uploadConcurrencyPerDestination
    configBlobUri: configBlobUri
    syncSchedule: syncSchedule
    logLevel: logLevel
    storagePrefix: storagePrefix
    graphWebhookKey: graphWebhookKey
    webhookAlwaysReady: webhookAlwaysReady
    additionalAppSettings: additionalAppSettings
  }
  // The host reaches storage with the identity as soon as it starts; without its roles
  // the first start fails and only recovers on a later restart.
  dependsOn: [rbac]
}

module alerts './app/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    location: location
    tags: tags
    alertEmail: alertEmail
    noSuccessfulSyncHours: alertNoSuccessfulSyncHours
  }
}

module graphPermissions './app/graphPermissions.bicep' = if (grantGraphAppRoles) {
  name: 'graphPermissions'
  scope: rg
  params: {
    identityPrincipalId: identity.outputs.principalId
    appRoles: graphAppRoles
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = api.outputs.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output CONFIG_BLOB_URI string = api.outputs.configBlobUri
output STORAGE_PREFIX string = storagePrefix
// The identity's client id: what config.json's "ManagedIdentity": { "ClientId": ... } names.
output AZURE_CLIENT_ID string = identity.outputs.clientId
// The identity's service principal object id: what the Microsoft Graph app roles are granted to.
output AZURE_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_KEY_VAULT_NAME string = createKeyVault ? keyVault.outputs.name : ''
output AZURE_KEY_VAULT_URI string = createKeyVault ? keyVault.outputs.uri : ''
// https://<default host name>: the app's own address (status, sync-now, deletions).
output AZURE_FUNCTION_APP_URL string = api.outputs.url
// Where Graph sends change notifications unless GRAPH_NOTIFICATION_BASE_URL names a custom
// domain; Graph's subscriptions carry it with ?code=<GRAPH_WEBHOOK_KEY>, which is not an output.
output GRAPH_NOTIFICATION_URL string = '${api.outputs.url}/api/graph/notifications'
output AZURE_APPLICATION_INSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AZURE_APPLICATION_INSIGHTS_ID string = monitoring.outputs.applicationInsightsId
output AZURE_LOG_ANALYTICS_NAME string = monitoring.outputs.logAnalyticsName
// Which Graph permissions this deployment granted itself (empty: grant them as in docs/deploy.md, step 1).
output GRAPH_APP_ROLES_GRANTED string = grantGraphAppRoles ? join(graphAppRoles, ',') : ''
