// Opt-in (main.bicep: grantGraphAppRoles, default false): grants the app identity its Microsoft
// Graph application permissions in the deployment itself, with the Microsoft Graph Bicep
// extension (bicepconfig.json names its version; Bicep 0.36.1 or later). Granting app roles
// on Graph is a tenant-wide admin act, so whoever runs `azd up` then needs Privileged Role
// Administrator (or Global Administrator) in Entra ID; without it the deployment fails here,
// which is why the manual grant in docs/deploy.md is the default path.
extension microsoftGraphV1

@description('Object id of the service principal of the app\'s user-assigned identity.')
param identityPrincipalId string

@description('Application permissions by value, e.g. User.Read.All; src/graph/permissions.ts is the list.')
param appRoles array

// Microsoft Graph's own service principal, found by its well-known application id; its object
// id differs per tenant, so it is looked up, never written down.
resource graph 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: '00000003-0000-0000-c000-000000000000' // Microsoft Graph
}

// Role ids looked up by value in Graph's appRoles (application roles only), so no GUID is
// copied from documentation; an unknown value fails the deployment at the [0].
resource grants 'Microsoft.Graph/appRoleAssignedTo@v1.0' = [
  for role in appRoles: {
    resourceId: graph.id
    appRoleId: filter(graph.appRoles, r => r.value == role && contains(r.allowedMemberTypes, 'Application'))[0].id
    principalId: identityPrincipalId
  }
]

