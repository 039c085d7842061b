// Log Analytics + Application Insights. Local (key) authentication is off: telemetry is
// accepted only with an Entra token, so the connection string handed to the app carries
// no secret, and the identity needs Monitoring Metrics Publisher (see rbac.bicep).
param logAnalyticsName string
param applicationInsightsName string
param location string
param tags object

module logAnalytics 'br/public:avm/res/operational-insights/workspace:0.11.1' = {
  name: 'logAnalytics'
  params: {
    name: logAnalyticsName
    location: location
    tags: tags
    dataRetention: 30
  }
}

module applicationInsights 'br/public:avm/res/insights/component:0.6.0' = {
  name: 'applicationInsights'
  params: {
    name: applicationInsightsName
    location: location
    tags: tags
    workspaceResourceId: logAnalytics.outputs.resourceId
    disableLocalAuth: true
  }
}

output applicationInsightsName string = applicationInsights.outputs.name
output applicationInsightsId string = applicationInsights.outputs.resourceId
output logAnalyticsName string = logAnalytics.outputs.name
