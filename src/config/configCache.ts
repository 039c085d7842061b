/**
 * The configuration, kept between invocations of one worker. Every trigger (upload messages
 * included, several a second during a sync) needs it, and reading the blob each time cost a storage
 * request (two, with downloadToBuffer) per message. So:
 * - within `ttlInMs` of the last check, the kept configuration is used with no read at all;
 * - after that, the blob is asked for "only if changed" (If-None-Match with its ETag): an unchanged
 *   blob answers 304 with no body and the kept configuration is used for another period; a changed
 *   one is read, parsed and resolved. A file is read again and compared (a local read).
 * So a change to config.json is seen at the first check after it, at most `ttlInMs` late.
 * CONNECTOR_CONFIG (the JSON in an app setting) costs no read and is resolved every time, as before.
 *
 * A configuration that fails to load is not kept: the next call tries again, and the error goes
 * to the caller (the host retries the message) rather than a stale configuration being used
 * without anyone knowing. Concurrent calls during a check share that one check.
 *
 * Secrets written as "@AppSetting(NAME)" are read when the text is resolved; a change to such an
 * app setting alone restarts the Functions host (App Service restarts on any app setting change),
 * which starts with an empty cache.
 */
import { configSourceKey, readConfigText, resolveConfigText, type ConfigText, type LoadConfigDeps, type LoadedConfig } from './load';

/** How long a loaded configuration is used before config.json is checked for a change again. */
export const DEFAULT_CONFIG_CACHE_TTL_IN_MS = 30_000;

interface Kept {
  key: string;
  loaded: LoadedConfig;
  /** The blob's ETag, or the file's text: what tells a change. */
  etag: string | undefined;
  text: string;
  checkedAt: number;
}

export interface ConfigCacheOptions {
  /** Default 30 s (DEFAULT_CONFIG_CACHE_TTL_IN_MS); 0 checks on every call. */
  ttlInMs?: number;
  /** The clock, in ms (tests). Default Date.now. */
  now?: () => number;
}

export class ConfigCache {
  private readonly ttlInMs: number;
  private readonly now: () => number;
  private kept: Kept | undefined;
  private check: { key: string; promise: Promise<LoadedConfig> } | undefined;

  constructor(options: ConfigCacheOptions = {}) {
    this.ttlInMs = options.ttlInMs ?? DEFAULT_CONFIG_CACHE_TTL_IN_MS;
    this.now = options.now ?? Date.now;
  }

  /** The configuration `env` names: kept, checked for a change, or read (see the header). */
  async load(env: NodeJS.ProcessEnv, deps: LoadConfigDeps = {}): Promise<LoadedConfig> {
    const key = configSourceKey(env);
    const kept = this.kept?.key === key ? this.kept : undefined;
    if (kept !== undefined && this.now() - kept.checkedAt < this.ttlInMs) return kept.loaded;
    if (this.check?.key === key) return this.check.promise;
    const promise = this.refresh(key, kept, env, deps);
    const check = { key, promise };
    this.check = check;
    try {
      return await promise;
    } finally {
      if (this.check === check) this.check = undefined;
    }
  }

  /** Forgets what is kept: the next call reads. */
  clear(): void {
    this.kept = undefined;
    this.check = undefined;
  }

  private async refresh(key: string, kept: Kept | undefined, env: NodeJS.ProcessEnv, deps: LoadConfigDeps): Promise<LoadedConfig> {
    const checkedAt = this.now();
    const read = await readConfigText(env, deps, kept?.etag !== undefined ? { ifNoneMatch: kept.etag } : {});
    if (read === 'unchanged' || (kept !== undefined && kept.etag === undefined && read.text === kept.text)) {
      if (kept === undefined) throw new Error('the configuration blob answered "not modified" to a first read');
      this.kept = { ...kept, checkedAt };
      return kept.loaded;
    }
    const loaded = resolveConfigText(read, env);
    if (read.origin !== 'appSetting') this.kept = keep(key, loaded, read, checkedAt);
    return loaded;
  }
}

function keep(key: string, loaded: LoadedConfig, read: ConfigText, checkedAt: number): Kept {
  return { key, loaded, etag: read.etag, text: read.etag === undefined ? read.text : '', checkedAt };
}
