/**
 * `serve` in the test process against the fake Graph (with subscriptions and notification delivery),
 * the fake Signature 365 and the shared test Azurite: what the real-time tests start from.
 */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config/load';
import { freePort } from '../../src/setup/freePort';
import type { ConnectorConfig } from '../../src/config/types';
import { createLogger } from '../../src/setup/logging';
import { startServe, type RunningServe, type ServeOptions } from '../../src/serve/serveApp';
import type { StorageTarget } from '../../src/store/storageAccount';
import { FakeTenant, startFakeGraph, type FakeGraph, type FakeGraphOptions } from '../fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../fakes/signature365';
import { isolatedStorage } from './storage';

export interface RealtimeHarness {
  tenant: FakeTenant;
  graph: FakeGraph;
  s365: FakeSignature365;
  storage: StorageTarget;
  config: ConnectorConfig;
  clientSecret: string;
  token: string;
  /** JSON log lines serve wrote. */
  logs: string[];
  serve?: RunningServe;
  /** `publicUrl: 'self'`: the URL serve itself listens on (a free port picked first); any other value is used as given. */
  startServe(options?: Partial<Omit<ServeOptions, 'config' | 'logger'>>): Promise<RunningServe>;
  close(): Promise<void>;
}

export async function startRealtimeHarness(options: { users?: number; groups?: number; graph?: FakeGraphOptions; mappings?: unknown[] } = {}): Promise<RealtimeHarness> {
  const tenant = new FakeTenant({ seed: 11 });
  tenant.generate({ users: options.users ?? 30, groups: options.groups ?? 4 });
  const clientSecret = `rt-secret-${randomBytes(12).toString('hex')}`;
  const token = `idscl_${randomBytes(24).toString('base64url')}`;
  const graph = await startFakeGraph({ tenant, clientSecret, notifications: { batchWindowMs: 50, retryBackoffMs: 100 }, ...options.graph });
  const s365 = await startFakeSignature365({ tenants: [{ name: 'TenantA', token, tenantId: '5a1e5000-0000-4000-8000-000000000001' }] });
  const raw = {
    EntraId: { Default: { TenantId: graph.tenantId, ClientId: graph.clientId, ClientSecret: '@AppSetting(RT_SECRET)', AuthorityHost: graph.authorityHost, GraphEndpoint: graph.graphEndpoint } },
    Signature365: { TenantA: { Token: '@AppSetting(RT_TOKEN)', Endpoint: s365.endpoint } },
    Mappings: options.mappings ?? [{ From: 'EntraId:Default', To: 'Signature365:TenantA' }],
    Options: {},
  };
  const { config } = await loadConfig({ RT_SECRET: clientSecret, RT_TOKEN: token, CONNECTOR_CONFIG: JSON.stringify(raw) });
  const storage = isolatedStorage();
  const logs: string[] = [];
  const harness: RealtimeHarness = {
    tenant, graph, s365, storage, config, clientSecret, token, logs,
    async startServe(serveOptions = {}) {
      const { publicUrl, ...rest } = serveOptions;
      const logger = createLogger({ level: 'debug', sink: { write: (line) => logs.push(line) } });
      // 'self': the URL serve itself listens on, known only once it listens; so pick a free port first.
      let port = rest.port ?? 0;
      let url = publicUrl;
      if (publicUrl === 'self') {
        port = await freePort();
        url = `http://127.0.0.1:${port}`;
      }
      harness.serve = await startServe({
        config, logger, env: {}, host: '127.0.0.1', ...rest, port,
        ...(url !== undefined ? { publicUrl: url } : {}),
        runtime: { storage, ...rest.runtime },
      });
      return harness.serve;
    },
    async close() {
      await harness.serve?.stop();
      await Promise.all([graph.close(), s365.close()]);
    },
  };
  return harness;
}


/** Waits until `check` holds, polling; fails after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 15_000, what = 'condition'): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
