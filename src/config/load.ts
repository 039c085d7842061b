import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { BlobClient, BlobServiceClient } from '@azure/storage-blob';
import { DefaultAzureCredential } from '@azure/identity';
import type { TokenCredential } from '@azure/core-auth';
import { APP_SETTINGS, readAppSetting } from '../setup/appSettings';
import { ConfigError, type ConfigIssue } from './errors';
import { parseConfigText } from './jsonText';
import { resolveConfigReport } from './resolve';
import type { ConnectorConfig } from './types';

export type ConfigOrigin = 'blob' | 'file' | 'appSetting';

export interface LoadedConfig {
  config: ConnectorConfig;
  origin: ConfigOrigin;
  /** Blob URI (without any SAS), absolute file path, or "app setting CONNECTOR_CONFIG". Safe to log. */
  location: string;
  /** What works but is probably not meant (src/config/warnings.ts, plain-text secrets); never secret values. */
  warnings: ConfigIssue[];
}

/**
 * The largest configuration read, from a file, a blob or the CONNECTOR_CONFIG app setting alike.
 * A real config.json is a few KiB; 5 MiB holds LimitToGroups lists of about 130,000 group ids.
 * Anything larger is refused before it is parsed (or, from a blob, before it is all downloaded).
 */
export const MAX_CONFIG_BYTES = 5 * 1024 * 1024;

function tooLarge(setting: string, location: string, bytes: number | undefined): ConfigError {
  const size = bytes === undefined ? 'more than 5 MiB' : `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  return new ConfigError(
    [
      {
        path: setting,
        message:
          `the configuration at ${location} is ${size}; the limit is 5 MiB (a config.json is usually a few KiB). ` +
          'Check that this is config.json; list groups that hold the users rather than very many small groups',
      },
    ],
    { location },
  );
}

/**
 * How CONFIG_BLOB_URI is read: with a token credential (managed identity in Azure, where shared
 * keys are off), or with a storage connection string (Azurite, on-premises). A URI carrying a SAS
 * is read with the SAS alone.
 */
export type BlobAccess =
  | { kind: 'credential'; credential: TokenCredential }
  | { kind: 'connectionString'; connectionString: string };

export interface LoadConfigDeps {
  /**
   * Default: DefaultAzureCredential, using the user-assigned identity named by
   * AzureWebJobsStorage__clientId when set (in Azure), or the developer's sign-in (locally).
   */
  blobAccess?: BlobAccess;
  abortSignal?: AbortSignal;
}

const CONFIG_SETTINGS = [APP_SETTINGS.configBlobUri, APP_SETTINGS.configPath, APP_SETTINGS.configJson] as const;

/**
 * Reads and resolves the configuration from the first of CONFIG_BLOB_URI, CONFIG_PATH and
 * CONNECTOR_CONFIG that is set. Throws ConfigError (with the location) when it cannot be used;
 * other errors (a network failure reading the blob) are thrown as they are, so callers retry them.
 */
export async function loadConfig(env: NodeJS.ProcessEnv, deps: LoadConfigDeps = {}): Promise<LoadedConfig> {
  const read = await readConfigText(env, deps);
  if (read === 'unchanged') throw new Error('readConfigText answered "unchanged" to an unconditional read');
  return resolveConfigText(read, env);
}

/** The configuration as read, before it is parsed. */
export interface ConfigText {
  text: string;
  origin: ConfigOrigin;
  location: string;
  /** Where relative certificate paths start. */
  baseDir: string;
  /** The blob's ETag (blob origin only): a later read can ask "only if it changed". */
  etag?: string;
}

/** Which setting names the configuration, and its value: a different answer is a different configuration. */
export function configSourceKey(env: NodeJS.ProcessEnv): string {
  return JSON.stringify(CONFIG_SETTINGS.map((name) => readAppSetting(env, name) ?? null));
}

/**
 * Reads the text of the configuration, without parsing it. With `ifNoneMatch` (the ETag of an
 * earlier read of the same blob) the blob is read only if it changed since: "unchanged" otherwise.
 */
export async function readConfigText(env: NodeJS.ProcessEnv, deps: LoadConfigDeps = {}, options: { ifNoneMatch?: string } = {}): Promise<ConfigText | 'unchanged'> {
  const blobUri = readAppSetting(env, APP_SETTINGS.configBlobUri);
  if (blobUri !== undefined) {
    const location = describeBlobUri(blobUri);
    const read = await readConfigBlob(blobUri, location, env, deps, options.ifNoneMatch);
    if (read === 'unchanged') return read;
    return { text: read.text, origin: 'blob', location, baseDir: process.cwd(), ...(read.etag !== undefined ? { etag: read.etag } : {}) };
  }
  const path = readAppSetting(env, APP_SETTINGS.configPath);
  if (path !== undefined) {
    const location = resolvePath(path);
    return { text: await readConfigFile(location), origin: 'file', location, baseDir: dirname(location) };
  }
  const json = readAppSetting(env, APP_SETTINGS.configJson);
  if (json !== undefined) {
    const location = `app setting ${APP_SETTINGS.configJson}`;
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > MAX_CONFIG_BYTES) throw tooLarge(APP_SETTINGS.configJson, location, bytes);
    return { text: json, origin: 'appSetting', location: `app setting ${APP_SETTINGS.configJson}`, baseDir: process.cwd() };
  }
  throw new ConfigError([
    {
      path: '',
      message:
        `no configuration; set one of the app settings ${CONFIG_SETTINGS.join(', ')}: ` +
        `${APP_SETTINGS.configBlobUri} to the URL of config.json in Blob storage, ` +
        `${APP_SETTINGS.configPath} to a config.json file, or ${APP_SETTINGS.configJson} to the JSON itself`,
    },
  ]);
}

/** Parses and resolves configuration text (app setting references are read from `env`). Throws ConfigError with the location. */
export function resolveConfigText(read: ConfigText, env: NodeJS.ProcessEnv): LoadedConfig {
  const { config, warnings } = parseAndResolve(read.text, env, read.baseDir, read.location);
  return { config, warnings, origin: read.origin, location: read.location };
}

function parseAndResolve(text: string, env: NodeJS.ProcessEnv, baseDir: string, location: string): { config: ConnectorConfig; warnings: ConfigIssue[] } {
  try {
    return resolveConfigReport(parseConfigText(text), env, { baseDir });
  } catch (error) {
    throw error instanceof ConfigError ? error.withLocation(location) : error;
  }
}

async function readConfigFile(location: string): Promise<string> {
  try {
    // Asked first, so a huge file (a log, a disk image) is refused without being read.
    const { size } = await stat(location);
    if (size > MAX_CONFIG_BYTES) throw tooLarge(APP_SETTINGS.configPath, location, size);
    return await readFile(location, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    const hint = code === 'ENOENT' ? 'create it (see config.sample.json) or correct the setting' : 'check the path and its permissions';
    throw new ConfigError([{ path: APP_SETTINGS.configPath, message: `cannot read ${JSON.stringify(location)} (${code}); ${hint}` }], {
      location,
      cause: error,
    });
  }
}

/** The URI without its query: a SAS is a secret. */
function describeBlobUri(uri: string): string {
  try {
    const parsed = new URL(uri);
    const sas = parsed.search === '' ? '' : ' (with SAS)';
    return `${parsed.origin}${parsed.pathname}${sas}`;
  } catch {
    return '(unparseable URI)';
  }
}

function hasSas(uri: URL): boolean {
  return uri.searchParams.has('sig');
}

function createConfigBlobClient(uri: string, env: NodeJS.ProcessEnv, access: BlobAccess | undefined): BlobClient {
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    throw new ConfigError([{ path: APP_SETTINGS.configBlobUri, message: 'is not a URL; copy the blob URL from the portal or Storage Explorer (Properties > URL)' }]);
  }
  if (hasSas(parsed)) return new BlobClient(uri);
  if (access?.kind === 'connectionString') {
    // The account root comes from the connection string, so path-style URIs (Azurite) work too.
    const accountUrl = BlobServiceClient.fromConnectionString(access.connectionString).url.replace(/\/?$/, '/');
    const plain = `${parsed.origin}${parsed.pathname}`;
    if (!plain.startsWith(accountUrl)) {
      throw new ConfigError([
        { path: APP_SETTINGS.configBlobUri, message: `${describeBlobUri(uri)} is not in the storage account of the connection string (${accountUrl})` },
      ]);
    }
    const [container, ...blob] = plain.slice(accountUrl.length).split('/');
    if (container === undefined || container === '' || blob.length === 0) {
      throw new ConfigError([{ path: APP_SETTINGS.configBlobUri, message: 'must name a container and a blob, e.g. https://account.blob.core.windows.net/config/config.json' }]);
    }
    return new BlobClient(access.connectionString, decodeURIComponent(container), decodeURIComponent(blob.join('/')));
  }
  const credential =
    access?.credential ??
    new DefaultAzureCredential({ managedIdentityClientId: readAppSetting(env, APP_SETTINGS.storageClientId) });
  return new BlobClient(uri, credential);
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('statusCode' in error)) return undefined;
  return typeof error.statusCode === 'number' ? error.statusCode : undefined;
}

async function readConfigBlob(
  uri: string, location: string, env: NodeJS.ProcessEnv, deps: LoadConfigDeps, ifNoneMatch: string | undefined,
): Promise<{ text: string; etag: string | undefined } | 'unchanged'> {
  const client = createConfigBlobClient(uri, env, deps.blobAccess);
  try {
    // One request: the body and its ETag together (downloadToBuffer asks for the properties first).
    const response = await client.download(0, undefined, {
      abortSignal: deps.abortSignal,
      ...(ifNoneMatch !== undefined ? { conditions: { ifNoneMatch } } : {}),
    });
    return { text: await readStreamText(response.readableStreamBody, location), etag: response.etag };
  } catch (error) {
    const status = statusOf(error);
    if (status === 304 && ifNoneMatch !== undefined) return 'unchanged';
    const setting = APP_SETTINGS.configBlobUri;
    if (status === 404) {
      throw new ConfigError([{ path: setting, message: `no blob at ${location}; upload config.json there or correct the setting` }], { location, cause: error });
    }
    if (status === 401 || status === 403) {
      throw new ConfigError(
        [{ path: setting, message: `access to ${location} was denied (${status}); grant the app's identity 'Storage Blob Data Reader' on the storage account or container` }],
        { location, cause: error },
      );
    }
    if (error instanceof Error && (error.name === 'CredentialUnavailableError' || error.name === 'AuthenticationError')) {
      throw new ConfigError([{ path: setting, message: `no identity could get a token to read ${location}: ${error.message}` }], { location, cause: error });
    }
    throw error;
  }
}

async function readStreamText(stream: NodeJS.ReadableStream | undefined, location: string): Promise<string> {
  if (stream === undefined) return '';
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    bytes += buffer.length;
    if (bytes > MAX_CONFIG_BYTES) throw tooLarge(APP_SETTINGS.configBlobUri, location, undefined);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
