// Log search alerts on Application Insights, deployed with the app. Each query reads the
// connector's own structured log lines: every line is one JSON object whose "event" names what
// happened (src/ logs them; test/unit/infra checks every event named here is still logged),
// and it reaches Application Insights as a trace (host.json keeps traces out of sampling, so
// a count of zero means none happened). An action group e-mails them when alertEmail is set.
param applicationInsightsName string
param location string
param tags object
@description('Empty: no action group; the alerts show in the portal only.')
param alertEmail string
@minValue(1)
@maxValue(47)
param noSuccessfulSyncHours int

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: 'ag-${applicationInsightsName}'
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 's365alerts'
    enabled: true
    emailReceivers: [
      { name: 'administrator', emailAddress: alertEmail, useCommonAlertSchema: true }
    ]
  }
}

// Event names, one list per alert. A run failed: the pull of a source or the planning of its
// uploads threw, or a delta round failed.
var failedRunEvents = ['round.failed', 'sync.pullFailed', 'sync.planFailed', 'sync.reconcileFailed']
// Uploads: a batch refused, items the destination rejected, work dropped, a message poisoned
// by `serve` (the Functions host logs its own poison moves; matched below by their wording).
var uploadFailureEvents = ['upload.itemsFailed', 'upload.dropped', 'queue.poisoned']
// The destination answered 401/403 or stayed unavailable: it is quarantined (its uploads wait).
var quarantineEvents = ['upload.unauthorized', 'upload.destinationUnavailable', 'destination.rejected']
// The deletion gate holds deletions until an administrator approves them.
var heldDeletionEvents = ['deletions.held']
// A source's certificate or client secret ends within 30 days (warned at every run; 7 days: urgent).
var credentialEvents = ['credential.expiring']
// A completed delta round of a source: what "a successful sync" means here.
var successfulSyncEvent = 'round.completed'

// Every trace that is one of the connector's JSON lines, with its event name and source.
var connectorEvents = 'traces | where message startswith "{" | extend line = parse_json(message) | extend event = tostring(line.event), source = tostring(line.source)'

var countRules = [
  {
    name: 'failed-runs'
    displayName: 'Signature 365 connector: a sync run failed'
    severity: 1
    query: '${connectorEvents} | where event in (${join(map(failedRunEvents, e => '"${e}"'), ', ')})'
  }
  {
    name: 'upload-failures'
    displayName: 'Signature 365 connector: uploads failed or a message was poisoned'
    severity: 2
    query: '${connectorEvents} | where event in (${join(map(uploadFailureEvents, e => '"${e}"'), ', ')}) | union (traces | where message has "MaxDequeueCount" and message has "-poison")'
  }
  {
    name: 'destination-quarantined'
    displayName: 'Signature 365 connector: a destination is quarantined'
    severity: 1
    query: '${connectorEvents} | where event in (${join(map(quarantineEvents, e => '"${e}"'), ', ')})'
  }
  {
    name: 'credential-expiring'
    displayName: 'Signature 365 connector: a source credential (certificate or client secret) expires within 30 days'
    severity: 2
    query: '${connectorEvents} | where event in (${join(map(credentialEvents, e => '"${e}"'), ', ')})'
  }
  {
    name: 'deletions-held'
    displayName: 'Signature 365 connector: deletions are held for approval'
    severity: 3
    query: '${connectorEvents} | where event in (${join(map(heldDeletionEvents, e => '"${e}"'), ', ')})'
  }
]

var actions = empty(alertEmail) ? {} : { actionGroups: [actionGroup.id] }

resource countAlerts 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = [
  for rule in countRules: {
    name: 'alert-${rule.name}-${applicationInsightsName}'
    location: location
    tags: tags
    properties: {
      displayName: rule.displayName
      severity: rule.severity
      enabled: true
      scopes: [applicationInsights.id]
      evaluationFrequency: 'PT15M'
      windowSize: 'PT15M'
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
          }
        ]
      }
      autoMitigate: true
      actions: actions
    }
  }
]

// A source that logged anything in the last two days (the longest window a log alert may
// query) but completed no round in the last noSuccessfulSyncHours hours: each such source is
// one row, so the alert names it. A source never seen at all is the failed-runs alert's case.
resource noSuccessfulSync 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = {
  name: 'alert-no-successful-sync-${applicationInsightsName}'
  location: location
  tags: tags
  properties: {
    displayName: 'Signature 365 connector: no successful sync of a source for ${noSuccessfulSyncHours} hours'
    severity: 1
    enabled: true
    scopes: [applicationInsights.id]
    evaluationFrequency: 'PT1H'
    windowSize: 'P2D'
    criteria: {
      allOf: [
        {
          query: '${connectorEvents} | where isnotempty(source) | summarize lastCompleted = maxif(timestamp, event == "${successfulSyncEvent}") by source | where isnull(lastCompleted) or lastCompleted < ago(${noSuccessfulSyncHours}h)'
          timeAggregation: 'Count'
          dimensions: [{ name: 'source', operator: 'Include', values: ['*'] }]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    autoMitigate: true
    actions: actions
  }
}

