// Optional vault for the secrets config.json refers to as @AppSetting(NAME): each such
// setting holds a Key Vault reference, which the platform resolves with the user-assigned
// identity (keyVaultAccessIdentityResourceId in api.bicep). RBAC authorization, not access
// policies: access is granted in rbac.bicep like every other role.
param name string
param location string
param tags object

module vault 'br/public:avm/res/key-vault/vault:0.12.1' = {
  // Not 'keyVault': main.bicep's deployment of this file has that name in the same resource
  // group, and a nested deployment may not share its parent's name in one scope.
  name: 'keyVaultVault'
  params: {
    name: name
    location: location
    tags: tags
    sku: 'standard'
    enableRbacAuthorization: true
    // Soft delete cannot be turned off on new vaults; a short retention and no purge
    // protection let `azd down --purge` free the name for the next `azd up`.
    softDeleteRetentionInDays: 7
    enablePurgeProtection: false
    publicNetworkAccess: 'Enabled'
  }
}

output name string = vault.outputs.name
output uri string = vault.outputs.uri
