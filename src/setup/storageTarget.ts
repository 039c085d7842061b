import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import type { StorageTarget } from '../store/storageAccount';
import type { TokenCredential } from '@azure/core-auth';
import { APP_SETTINGS, readAppSetting } from './appSettings';
import { DEV_ACCOUNT, DEV_KEY } from './embeddedAzurite';

/** Azurite's documented default endpoints, for `UseDevelopmentStorage=true` (what `func start` users have). */
const DEVELOPMENT_STORAGE =
  `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};` +
  `BlobEndpoint=http://127.0.0.1:10000/${DEV_ACCOUNT};QueueEndpoint=http://127.0.0.1:10001/${DEV_ACCOUNT};` +
  `TableEndpoint=http://127.0.0.1:10002/${DEV_ACCOUNT};`;

const DEFAULT_PREFIX = 's365';

/**
 * The storage the app settings point at: a connection string (`AzureWebJobsStorage`), or an
 * account reached with managed identity (`AzureWebJobsStorage__accountName`, as the Functions host
 * itself uses in Azure). Undefined when neither is set: the CLI then starts an embedded Azurite.
 */
export function storageTargetFromSettings(env: NodeJS.ProcessEnv): StorageTarget | undefined {
  const prefixSetting = readAppSetting(env, APP_SETTINGS.storagePrefix) ?? DEFAULT_PREFIX;
  if (!/^[a-z][a-z0-9]{0,19}$/.test(prefixSetting)) {
    throw new Error(`${APP_SETTINGS.storagePrefix}: "${prefixSetting}" must be 1-20 lower-case letters or digits, starting with a letter`);
  }
  const connectionString = readAppSetting(env, APP_SETTINGS.storageConnectionString);
  if (connectionString !== undefined) {
    const expanded = /^UseDevelopmentStorage=true;?$/i.test(connectionString.trim()) ? DEVELOPMENT_STORAGE : connectionString;
    return { kind: 'connectionString', connectionString: expanded, prefix: prefixSetting };
  }
  const accountName = readAppSetting(env, APP_SETTINGS.storageAccountName);
  if (accountName === undefined) return undefined;
  const credential = storageCredential(env);
  return {
    kind: 'identity',
    prefix: prefixSetting,
    credential,
    tableEndpoint: readAppSetting(env, APP_SETTINGS.storageTableServiceUri) ?? `https://${accountName}.table.core.windows.net`,
    queueEndpoint: readAppSetting(env, APP_SETTINGS.storageQueueServiceUri) ?? `https://${accountName}.queue.core.windows.net`,
    blobEndpoint: readAppSetting(env, APP_SETTINGS.storageBlobServiceUri) ?? `https://${accountName}.blob.core.windows.net`,
  };
}

/**
 * The identity the app reaches its storage with (and reads config.json with): the user-assigned
 * identity named by AzureWebJobsStorage__clientId in Azure, else the default chain (a developer's sign-in).
 */
export function storageCredential(env: NodeJS.ProcessEnv): TokenCredential {
  const clientId = readAppSetting(env, APP_SETTINGS.storageClientId);
  return clientId !== undefined ? new ManagedIdentityCredential({ clientId }) : new DefaultAzureCredential();
}
