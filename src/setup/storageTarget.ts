import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import type { StorageTarget } from '../store/storageAccount';
import { APP_SETTINGS, readAppSetting } from './appSettings';

/** Azurite's documented default endpoints, for `UseDevelopmentStorage=true` (what `func start` users have). */
const DEVELOPMENT_STORAGE =
  'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;' +
  'AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;' +
  'BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;' +
  'TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;';

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
  const clientId = readAppSetting(env, APP_SETTINGS.storageClientId);
  const credential = clientId !== undefined ? new ManagedIdentityCredential({ clientId }) : new DefaultAzureCredential();
  return {
    kind: 'identity',
    prefix: prefixSetting,
    credential,
    tableEndpoint: readAppSetting(env, APP_SETTINGS.storageTableServiceUri) ?? `https://${accountName}.table.core.windows.net`,
    queueEndpoint: readAppSetting(env, APP_SETTINGS.storageQueueServiceUri) ?? `https://${accountName}.queue.core.windows.net`,
    blobEndpoint: readAppSetting(env, APP_SETTINGS.storageBlobServiceUri) ?? `https://${accountName}.blob.core.windows.net`,
  };
}
