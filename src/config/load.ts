import { readFile } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { BlobClient, BlobServiceClient } from '@azure/storage-blob';
import { DefaultAzureCredential } from '@azure/identity';
import type { TokenCredential } from '@azure/core-auth';
import { APP_SETTINGS, readAppSetting } from '../setup/appSettings';
import { ConfigError } from './errors';
import { resolveConfig } from './resolve';
import type { ConnectorConfig } from './types';

export type ConfigOrigin = 'blob' | 'file' | 'appSetting';

export interface LoadedConfig {
  config: ConnectorConfig;
  origin: ConfigOrigin;
  /** Blob URI (without any SAS), absolute file path, or "app setting CONNECTOR_CONFIG". Safe to log. */
  location: string;
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
  const blobUri = readAppSetting(env, APP_SETTINGS.configBlobUri);
  if (blobUri !== undefined) {
    const location = describeBlobUri(blobUri);
    const text = await readConfigBlob(blobUri, location, env, deps);
    return { config: parseAndResolve(text, env, process.cwd(), location), origin: 'blob', location };
  }
  const path = readAppSetting(env, APP_SETTINGS.configPath);
  if (path !== undefined) {
    const location = resolvePath(path);
    const text = await readConfigFile(location);
    return { config: parseAndResolve(text, env, dirname(location), location), origin: 'file', location };
  }
  const json = readAppSetting(env, APP_SETTINGS.configJson);
  if (json !== undefined) {
    const location = `app setting ${APP_SETTINGS.configJson}`;
    return { config: parseAndResolve(json, env, process.cwd(), location), origin: 'appSetting', location };
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

function parseAndResolve(text: string, env: NodeJS.ProcessEnv, baseDir: string, location: string): ConnectorConfig {
  try {
    return resolveConfig(parseConfigText(text), env, { baseDir });
  } catch (error) {
    throw error instanceof ConfigError ? error.withLocation(location) : error;
  }
}

/**
 * JSON.parse with an error fit for people: line and column, and never the text itself (V8's
 * messages quote the input, which may hold a secret).
 */
export function parseConfigText(text: string): unknown {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text; // Notepad writes a BOM
  if (body.trim() === '') throw new ConfigError([{ path: '', message: 'the configuration is empty (no JSON at all); see config.sample.json' }]);
  try {
    return JSON.parse(body) as unknown;
  } catch {
    const problem = locateJsonError(body);
    const message =
      problem === undefined
        ? 'not valid JSON'
        : `not valid JSON at line ${problem.line}, column ${problem.column}: ${problem.reason}`;
    throw new ConfigError([{ path: '', message }]);
  }
}

export interface JsonSyntaxProblem {
  line: number;
  column: number;
  reason: string;
}

class JsonStop extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const MAX_DEPTH = 256;

/** Where the first JSON syntax error is (1-based line and column), or undefined if the text is valid JSON. */
export function locateJsonError(text: string): JsonSyntaxProblem | undefined {
  let at = 0;
  const stop = (reason: string, offset = at): JsonStop => new JsonStop(offset, reason);
  const skipSpace = (): void => {
    while (at < text.length && ' \t\n\r'.includes(text.charAt(at))) at++;
  };
  const describeHere = (): string => {
    if (at >= text.length) return 'the text ends too early';
    const char = text.charAt(at);
    if (char === '/') return 'comments are not allowed in JSON';
    if (char === "'") return 'strings need double quotes (")';
    return `unexpected character ${JSON.stringify(char)}`;
  };
  const string = (): void => {
    at++; // opening quote
    while (at < text.length) {
      const char = text.charAt(at);
      if (char === '"') {
        at++;
        return;
      }
      if (char === '\\') {
        const escape = text.charAt(at + 1);
        if (escape === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(at + 2, at + 6))) throw stop('invalid \\u escape');
          at += 6;
        } else if ('"\\/bfnrt'.includes(escape) && escape !== '') {
          at += 2;
        } else {
          throw stop('invalid escape; write a backslash as \\\\ (Windows paths: C:\\\\certs\\\\app.pem)');
        }
        continue;
      }
      if (char < ' ') throw stop('line break or control character inside a string; write it as \\n');
      at++;
    }
    throw stop('a string is not closed (missing ")');
  };
  const value = (depth: number): void => {
    if (depth > MAX_DEPTH) throw stop('nested too deeply');
    skipSpace();
    const char = text.charAt(at);
    if (char === '{') return container(depth, '}');
    if (char === '[') return container(depth, ']');
    if (char === '"') return string();
    const literal = /^(?:true|false|null)/.exec(text.slice(at, at + 5));
    if (literal !== null) {
      at += literal[0].length;
      return;
    }
    const number = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(at, at + 64));
    if (number !== null) {
      at += number[0].length;
      return;
    }
    throw stop(`expected a value; ${describeHere()}`);
  };
  const container = (depth: number, close: '}' | ']'): void => {
    at++;
    skipSpace();
    if (text.charAt(at) === close) {
      at++;
      return;
    }
    for (;;) {
      if (close === '}') {
        skipSpace();
        if (text.charAt(at) !== '"') throw stop(`expected a property name in double quotes; ${describeHere()}`);
        string();
        skipSpace();
        if (text.charAt(at) !== ':') throw stop(`expected ':' after the property name; ${describeHere()}`);
        at++;
      }
      value(depth + 1);
      skipSpace();
      const next = text.charAt(at);
      if (next === close) {
        at++;
        return;
      }
      if (next !== ',') throw stop(`expected ',' or '${close}'; ${describeHere()} (a missing comma?)`);
      const comma = at;
      at++;
      skipSpace();
      if (text.charAt(at) === close) throw stop(`trailing comma before '${close}' (JSON allows none)`, comma);
    }
  };
  try {
    value(0);
    skipSpace();
    if (at < text.length) throw stop(`unexpected text after the end of the JSON; ${describeHere()}`);
    return undefined;
  } catch (error) {
    if (!(error instanceof JsonStop)) throw error;
    const before = text.slice(0, error.offset);
    const line = before.split('\n').length;
    const column = error.offset - (before.lastIndexOf('\n') + 1) + 1;
    return { line, column, reason: error.reason };
  }
}

async function readConfigFile(location: string): Promise<string> {
  try {
    return await readFile(location, 'utf8');
  } catch (error) {
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

async function readConfigBlob(uri: string, location: string, env: NodeJS.ProcessEnv, deps: LoadConfigDeps): Promise<string> {
  const client = createConfigBlobClient(uri, env, deps.blobAccess);
  try {
    const buffer = await client.downloadToBuffer(0, undefined, { abortSignal: deps.abortSignal });
    return buffer.toString('utf8');
  } catch (error) {
    const status = statusOf(error);
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
