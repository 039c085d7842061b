/**
 * Every app setting (environment variable) the connector reads, in one place, so that the
 * Bicep templates can be checked against it (test/unit/infra.test.ts) and the docs list them.
 */
export const APP_SETTINGS = {
  /** Storage for the mirror, cursors and queues: a connection string (local, Azurite, on-premises). */
  storageConnectionString: 'AzureWebJobsStorage',
  /** Identity-based storage in Azure: the account name; endpoints are derived. */
  storageAccountName: 'AzureWebJobsStorage__accountName',
  /** Client id of the user-assigned identity used for storage (and Key Vault). */
  storageClientId: 'AzureWebJobsStorage__clientId',
  /** Service URIs for identity-based storage (sovereign clouds, private endpoints); derived from the account name when unset. */
  storageTableServiceUri: 'AzureWebJobsStorage__tableServiceUri',
  storageQueueServiceUri: 'AzureWebJobsStorage__queueServiceUri',
  storageBlobServiceUri: 'AzureWebJobsStorage__blobServiceUri',
  /** Optional prefix for table and queue names (default "s365"). */
  storagePrefix: 'STORAGE_PREFIX',
  /** Config source, first found wins: a blob URI, a file path, or the JSON itself. */
  configBlobUri: 'CONFIG_BLOB_URI',
  configPath: 'CONFIG_PATH',
  configJson: 'CONNECTOR_CONFIG',
  /** NCRONTAB schedule of the delta timer (default every 15 minutes). */
  syncSchedule: 'SYNC_SCHEDULE',
  /** debug | info | warn | error (default info). */
  logLevel: 'LOG_LEVEL',
  /** Where Graph reaches this app (https), for change notifications; default https://$WEBSITE_HOSTNAME. */
  notificationBaseUrl: 'GRAPH_NOTIFICATION_BASE_URL',
  /** The key the notification URLs carry as ?code= and the webhook checks; set by the infra. */
  webhookKey: 'GRAPH_WEBHOOK_KEY',
  /** Set by App Service itself: the app's default host name. */
  websiteHostname: 'WEBSITE_HOSTNAME',
  /** `serve` only: lets non-loopback callers use /api/status, /api/dashboard, /api/audit and /api/sync-now. */
  serveApiKey: 'SERVE_API_KEY',
  /** Batch requests in flight to one Signature 365 destination from one process (default 8). */
  uploadConcurrencyPerDestination: 'UPLOAD_CONCURRENCY_PER_DESTINATION',
} as const;

export type AppSettingName = (typeof APP_SETTINGS)[keyof typeof APP_SETTINGS];

export const DEFAULT_SYNC_SCHEDULE = '0 */15 * * * *';

/** Reads one app setting; empty strings count as unset. */
export function readAppSetting(env: NodeJS.ProcessEnv, name: AppSettingName): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

export const DEFAULT_UPLOAD_CONCURRENCY_PER_DESTINATION = 8;
/** Also infra's @maxValue for uploadConcurrencyPerDestination (test/unit/infra checks the two agree). */
export const MAX_UPLOAD_CONCURRENCY_PER_DESTINATION = 64;

/** UPLOAD_CONCURRENCY_PER_DESTINATION, checked: a whole number from 1 to 64, default 8. */
export function readUploadConcurrencyPerDestination(env: NodeJS.ProcessEnv): number {
  const name = APP_SETTINGS.uploadConcurrencyPerDestination;
  const raw = readAppSetting(env, name);
  if (raw === undefined) return DEFAULT_UPLOAD_CONCURRENCY_PER_DESTINATION;
  const value = Number(raw.trim());
  if (!Number.isInteger(value) || value < 1 || value > MAX_UPLOAD_CONCURRENCY_PER_DESTINATION) {
    throw new Error(`${name}: "${raw}" must be a whole number from 1 to ${MAX_UPLOAD_CONCURRENCY_PER_DESTINATION} (batch requests in flight per Signature 365 destination); remove it for the default ${DEFAULT_UPLOAD_CONCURRENCY_PER_DESTINATION}`);
  }
  return value;
}
