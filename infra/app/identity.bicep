// The user-assigned identity the function app runs as: storage, Key Vault references,
// Application Insights ingestion and (once granted, see docs/deploy.md) Microsoft Graph.
// User-assigned rather than system-assigned so its roles exist before the app does,
// and so it survives the app being deleted and re-created.
param name string
param location string
param tags object

module identity 'br/public:avm/res/managed-identity/user-assigned-identity:0.4.1' = {
  name: 'userAssignedIdentity'
  params: {
    name: name
    location: location
    tags: tags
  }
}

output name string = identity.outputs.name
output resourceId string = identity.outputs.resourceId
output clientId string = identity.outputs.clientId
output principalId string = identity.outputs.principalId
