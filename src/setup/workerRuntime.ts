/**
 * The runtime of one Functions worker: built on first use, rebuilt when config.json changes, and
 * shared by every invocation of that worker (clients and credentials keep their connections and
 * token caches between invocations). The configuration is kept for 30 s between checks for a
 * change (src/config/configCache.ts), so invocations do not read the blob each time.
 */
import { createHash } from 'node:crypto';
import { ConfigCache, type ConfigCacheOptions } from '../config/configCache';
import type { LoadConfigDeps, LoadedConfig } from '../config/load';
import type { Logger } from '../sync/logger';
import { APP_SETTINGS, readAppSetting } from './appSettings';
import { createRuntime, type ConnectorRuntime } from './runtime';
import { configSecrets } from '../config/mask';
import { processScrubber } from './secretScrubber';
import { storageCredential } from './storageTarget';
import { assertNoUnresolvedKeyVaultReferences } from './unresolvedSettings';

/** A Functions run stops between pages after this long (functionTimeout is 30 minutes in host.json) and resumes next time. */
export const FUNCTION_RUN_BUDGET_IN_MS = 25 * 60_000;

let current: { fingerprint: string; loaded: LoadedConfig; runtime: Promise<ConnectorRuntime> } | undefined;
let configCache = new ConfigCache();

function blobAccessFor(env: NodeJS.ProcessEnv): LoadConfigDeps['blobAccess'] {
  const connectionString = readAppSetting(env, APP_SETTINGS.storageConnectionString);
  if (connectionString !== undefined && !/^UseDevelopmentStorage=true/i.test(connectionString)) {
    return { kind: 'connectionString', connectionString };
  }
  return { kind: 'credential', credential: storageCredential(env) };
}

/**
 * Returns the worker's runtime for the current config (kept up to 30 s between checks for a change,
 * see ConfigCache). `logger` is the process-level logger the runtime keeps (adapters log retries
 * through it); invocations pass their own logger to the core calls.
 */
export async function getWorkerRuntime(logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<ConnectorRuntime> {
  assertNoUnresolvedKeyVaultReferences(env);
  const loaded = await configCache.load(env, { blobAccess: blobAccessFor(env) });
  if (current !== undefined && current.loaded === loaded) return current.runtime;
  processScrubber.register(...configSecrets(loaded.config));
  const fingerprint = createHash('sha256').update(JSON.stringify(loaded.config)).digest('hex');
  if (current === undefined || current.fingerprint !== fingerprint) {
    const previous = current;
    const runtime = createRuntime({ config: loaded.config, logger, env });
    current = { fingerprint, loaded, runtime };
    // A failed build must not stick: the next invocation tries again.
    void runtime.catch(() => { if (current?.runtime === runtime) current = undefined; });
    if (previous !== undefined) logger.info('config.reloaded', { location: loaded.location });
    // Once per loaded config, not per invocation; the paths and messages hold no secret values.
    for (const warning of loaded.warnings) logger.warn('config.warning', { path: warning.path, message: warning.message });
  } else {
    current = { ...current, loaded };
  }
  return current.runtime;
}

/** For tests: forget the cached runtime and configuration (after changing app settings); `configCache` sets the new cache's clock and period. */
export async function resetWorkerRuntime(configCacheOptions: ConfigCacheOptions = {}): Promise<void> {
  const previous = current;
  current = undefined;
  configCache = new ConfigCache(configCacheOptions);
  if (previous !== undefined) await (await previous.runtime.catch(() => undefined))?.close();
}
