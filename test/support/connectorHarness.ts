/**
 * Runs the Functions handlers in-process the way the host would, against a fake Entra tenant, fake
 * Signature 365 tenants and the shared test Azurite:
 * - app settings in process.env (AzureWebJobsStorage, a unique STORAGE_PREFIX, CONNECTOR_CONFIG
 *   with "@AppSetting(...)" secrets) before the first handler call;
 * - each handler gets a real `InvocationContext` whose log lines are captured;
 * - queue messages are read from the real Azurite queues, base64-decoded and JSON-parsed as the
 *   host does (host.json: messageEncoding base64), deleted after the handler returns, and made
 *   visible again after a throw, until maxDequeueCount (5) moves them to `<queue>-poison`.
 * Everything the connector lets out (log lines, stderr, queue bodies, thrown errors) is kept in
 * `capture` so tests can look for secrets in it.
 */
import { HttpRequest, InvocationContext, type HttpResponseInit, type Timer } from '@azure/functions';
import { QueueClient } from '@azure/storage-queue';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, expect, inject } from 'vitest';
import { pullWorker } from '../../functions/pullWorker';
import { syncNow } from '../../functions/syncNow';
import { syncTimer } from '../../functions/syncTimer';
import { uploadWorker } from '../../functions/uploadWorker';
import { resetWorkerRuntime } from '../../src/setup/workerRuntime';
import { TableDestinationHealthStore } from '../../src/store/destinationHealthStore';
import type { StorageTarget } from '../../src/store/storageAccount';
import { TableLedgerStore } from '../../src/store/ledgerStore';
import { FakeTenant, startFakeGraph, type FakeGraph } from '../fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../fakes/signature365';
import { expectedDestinations, expectedManager, type ExpectedDestination, type RawMapping, type RawOptions } from './expectedDestinations';

/** host.json extensions.queues.maxDequeueCount */
const MAX_DEQUEUE_COUNT = 5;

export interface Capture {
  /** Lines the handlers logged through their InvocationContext. */
  logs: string[];
  /** What reached process.stderr (the process logger: adapters' retry and split events). */
  stderr: string[];
  /** Every queue message body as stored (base64) and decoded. */
  messages: { queue: string; text: string; decoded: unknown }[];
  /** Messages of errors thrown by handlers. */
  errors: string[];
}

export interface DrainResult {
  /** Handler calls that returned (message deleted). */
  completed: number;
  /** Handler calls that threw (message made visible again, or poisoned). */
  failed: number;
  poisoned: number;
}

export interface HarnessOptions {
  tenant?: FakeTenant;
  /** Names of the Signature 365 tenants; default TenantA and TenantB. */
  destinations?: string[];
  /** The name of the one source under EntraId; default Default. */
  source?: string;
  /** The application permissions the fake Graph grants; default its own (no Application.Read.All). */
  graphPermissions?: string[];
}

export interface ConnectorHarness {
  graph: FakeGraph;
  s365: FakeSignature365;
  tenant: FakeTenant;
  /** The Entra tenant id: the `source` the destinations file records under. */
  sourceId: string;
  prefix: string;
  /** The storage the worker uses (same Azurite, same prefix), for reading the ledger and health. */
  storage: StorageTarget;
  ledger: TableLedgerStore;
  health: TableDestinationHealthStore;
  tokens: Record<string, string>;
  clientSecret: string;
  capture: Capture;
  /** Writes CONNECTOR_CONFIG (and the secrets' app settings); the worker reloads it on the next call. */
  configure(mappings: RawMapping[], options?: RawOptions): void;
  /** The syncTimer function as the host calls it. Throws what the handler throws. */
  runTimer(): Promise<void>;
  syncNow(body: string): Promise<HttpResponseInit>;
  /** Receives, handles and deletes pull requests until the queue is empty. */
  drainPulls(): Promise<DrainResult>;
  /** Receives, handles and deletes upload messages until the queue is empty (bounded). */
  drainUploads(options?: { maxMessages?: number }): Promise<DrainResult>;
  /** Messages waiting on `<prefix>-<name>`, decoded, without taking them. */
  peek(name: 'uploads' | 'pull-requests' | 'uploads-poison'): Promise<unknown[]>;
  /** Calls uploadWorker with a decoded message as the host would, e.g. to deliver one twice. */
  deliverUpload(message: unknown, dequeueCount?: number): Promise<void>;
  /** syncTimer, then drain the uploads: one whole round as the host would run it. */
  syncAndUpload(): Promise<DrainResult>;
  close(): Promise<void>;
}

function context(functionName: string, capture: Capture, dequeueCount?: number): InvocationContext {
  return new InvocationContext({
    invocationId: randomUUID(),
    functionName,
    logHandler: (_level, ...args: unknown[]) => {
      capture.logs.push(args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '));
    },
    ...(dequeueCount !== undefined ? { triggerMetadata: { dequeueCount } } : {}),
  });
}

function timer(): Timer {
  const now = new Date();
  return {
    isPastDue: false,
    schedule: { adjustForDST: true },
    scheduleStatus: { last: new Date(now.getTime() - 900_000).toISOString(), next: new Date(now.getTime() + 900_000).toISOString(), lastUpdated: now.toISOString() },
  };
}

/** As the host hands a base64 JSON queue message to a Node handler: decoded and parsed. */
export function decodeHostMessage(text: string): unknown {
  return JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as unknown;
}

let stderrHooked: Capture | undefined;
const originalStderrWrite = process.stderr.write.bind(process.stderr);

/** Routes process.stderr into the current harness's capture (the process logger writes there). */
function captureStderr(capture: Capture): void {
  stderrHooked = capture;
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    stderrHooked?.stderr.push(text);
    if (process.env.E2E_SHOW_STDERR === '1') return (originalStderrWrite as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
    const callback = rest.find((arg): arg is () => void => typeof arg === 'function');
    callback?.();
    return true;
  });
}

/** The app setting holding a destination's token; names as the vendor writes them ("Contoso Ltd") hold spaces and dots. */
function tokenSetting(destination: string): string {
  return `E2E_S365_TOKEN_${destination.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`;
}

export async function startConnectorHarness(options: HarnessOptions = {}): Promise<ConnectorHarness> {
  await resetWorkerRuntime();
  const tenant = options.tenant ?? new FakeTenant({ seed: 7 });
  const clientSecret = `e2e-secret-${randomBytes(16).toString('hex')}`;
  const destinationNames = options.destinations ?? ['TenantA', 'TenantB'];
  const tokens = Object.fromEntries(destinationNames.map((name) => [name, `idscl_${randomBytes(24).toString('base64url')}`]));
  const graph = await startFakeGraph({ tenant, clientSecret, ...(options.graphPermissions === undefined ? {} : { permissions: options.graphPermissions }) });
  const s365 = await startFakeSignature365({
    tenants: destinationNames.map((name, i) => ({ name, token: tokens[name] ?? '', tenantId: `5a1e5000-0000-4000-8000-${String(i + 1).padStart(12, '0')}` })),
  });
  const connectionString = inject('storageConnectionString');
  const prefix = `e${randomBytes(5).toString('hex')}`;
  const capture: Capture = { logs: [], stderr: [], messages: [], errors: [] };
  captureStderr(capture);

  process.env.AzureWebJobsStorage = connectionString;
  process.env.STORAGE_PREFIX = prefix;
  process.env.LOG_LEVEL = 'debug';
  process.env.E2E_ENTRA_CLIENT_SECRET = clientSecret;
  for (const name of destinationNames) process.env[tokenSetting(name)] = tokens[name];
  delete process.env.CONFIG_BLOB_URI;
  delete process.env.CONFIG_PATH;

  const queue = (name: string) => new QueueClient(connectionString, `${prefix}-${name}`);
  const uploads = queue('uploads');
  const pulls = queue('pull-requests');
  const poison = queue('uploads-poison');

  const call = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      capture.errors.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      throw error;
    }
  };

  async function drain(client: QueueClient, handler: (message: unknown, ctx: InvocationContext) => Promise<void>, functionName: string, maxMessages: number): Promise<DrainResult> {
    await client.createIfNotExists();
    const result: DrainResult = { completed: 0, failed: 0, poisoned: 0 };
    for (let handled = 0; handled < maxMessages;) {
      const received = await client.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 120 });
      if (received.receivedMessageItems.length === 0) return result;
      for (const item of received.receivedMessageItems) {
        handled += 1;
        const decoded = decodeHostMessage(item.messageText);
        capture.messages.push({ queue: client.name, text: item.messageText, decoded });
        try {
          await call(() => handler(decoded, context(functionName, capture, item.dequeueCount)));
          await client.deleteMessage(item.messageId, item.popReceipt);
          result.completed += 1;
        } catch {
          result.failed += 1;
          if (item.dequeueCount >= MAX_DEQUEUE_COUNT) {
            await poison.createIfNotExists();
            await poison.sendMessage(item.messageText);
            await client.deleteMessage(item.messageId, item.popReceipt);
            result.poisoned += 1;
          } else {
            // The host waits visibilityTimeout (30 s in host.json) before the retry; a test need not.
            await client.updateMessage(item.messageId, item.popReceipt, undefined, 0);
          }
        }
      }
    }
    throw new Error(`${functionName}: queue ${client.name} still had messages after ${maxMessages}; a message is looping`);
  }

  const storage: StorageTarget = { kind: 'connectionString', connectionString, prefix };
  const harness: ConnectorHarness = {
    graph, s365, tenant, sourceId: graph.tenantId, prefix, storage, tokens, clientSecret, capture,
    ledger: new TableLedgerStore(storage),
    health: new TableDestinationHealthStore(storage),
    configure(mappings, configOptions = {}) {
      const config = {
        EntraId: {
          [options.source ?? 'Default']: {
            TenantId: graph.tenantId, ClientId: graph.clientId, ClientSecret: '@AppSetting(E2E_ENTRA_CLIENT_SECRET)',
            AuthorityHost: graph.authorityHost, GraphEndpoint: graph.graphEndpoint,
          },
        },
        Signature365: Object.fromEntries(destinationNames.map((name) => [name, { Token: `@AppSetting(${tokenSetting(name)})`, Endpoint: s365.endpoint }])),
        Mappings: mappings,
        Options: configOptions,
      };
      process.env.CONNECTOR_CONFIG = JSON.stringify(config);
    },
    runTimer: () => call(() => syncTimer(timer(), context('syncTimer', capture))),
    async syncNow(body) {
      const request = new HttpRequest({ method: 'POST', url: 'http://localhost:7071/api/sync-now', body: { string: body }, headers: { 'content-type': 'application/json' } });
      return call(() => syncNow(request, context('syncNow', capture)));
    },
    drainPulls: () => drain(pulls, pullWorker, 'pullWorker', 20),
    drainUploads: (drainOptions = {}) => drain(uploads, uploadWorker, 'uploadWorker', drainOptions.maxMessages ?? 500),
    async peek(name) {
      const client = queue(name);
      await client.createIfNotExists();
      const out: unknown[] = [];
      const peeked = await client.peekMessages({ numberOfMessages: 32 });
      for (const item of peeked.peekedMessageItems) out.push(decodeHostMessage(item.messageText));
      return out;
    },
    deliverUpload: (message, dequeueCount = 1) => call(() => uploadWorker(message, context('uploadWorker', capture, dequeueCount))),
    async syncAndUpload() {
      await harness.runTimer();
      return harness.drainUploads();
    },
    async close() {
      await resetWorkerRuntime();
      await Promise.all([graph.close(), s365.close()]);
      if (stderrHooked === capture) {
        process.stderr.write = originalStderrWrite;
        stderrHooked = undefined;
      }
    },
  };
  return harness;
}

/** Users a destination holds for the harness's source, by id. */
export function heldUsers(harness: ConnectorHarness, destination: string): Map<string, Record<string, unknown>> {
  return new Map(harness.s365.tenant(destination).users(harness.sourceId).map((user) => [user.id, user]));
}

export function heldGroupIds(harness: ConnectorHarness, destination: string): Set<string> {
  return new Set(harness.s365.tenant(destination).groups(harness.sourceId).map((group) => group.id));
}

/** Batch POSTs the fake Signature 365 answered since request number `since`. */
export function batchesSince(harness: ConnectorHarness, since: number) {
  return harness.s365.requests.slice(since).filter((r) => r.method === 'POST');
}

/**
 * Every destination holds exactly the users and groups the independent expectation names, and each
 * user record carries the tenant's attributes, its resolved manager and its transitive groups.
 */
export function expectDestinationsToMatch(harness: ConnectorHarness, mappings: RawMapping[], options: RawOptions = {}): Map<string, ExpectedDestination> {
  const expected = expectedDestinations(harness.tenant, mappings, options);
  for (const [destination, want] of expected) {
    const held = heldUsers(harness, destination);
    expect([...held.keys()].sort(), `users at ${destination}`).toEqual([...want.users.keys()].sort());
    expect([...heldGroupIds(harness, destination)].sort(), `groups at ${destination}`).toEqual([...want.groups].sort());
    for (const [userId, groups] of want.users) {
      const source = harness.tenant.getUser(userId);
      expect(held.get(userId), `record of ${userId} at ${destination}`).toMatchObject({
        userPrincipalName: source?.userPrincipalName, mail: source?.mail, displayName: source?.displayName, jobTitle: source?.jobTitle,
        department: source?.department, accountEnabled: source?.accountEnabled, userType: source?.userType,
        manager: expectedManager(harness.tenant, userId), groups,
      });
    }
    for (const groupId of want.groups) {
      const group = harness.tenant.getGroup(groupId);
      expect(harness.s365.tenant(destination).group(harness.sourceId, groupId)).toEqual({ id: groupId, displayName: group?.displayName, mail: group?.mail, description: group?.description });
    }
  }
  return expected;
}

/** Fails when any secret of the harness (tokens, client secret) or any idscl_ token shape is in `texts`. */
export function expectNoSecrets(harness: ConnectorHarness, texts: readonly string[]): void {
  const secrets = [...Object.values(harness.tokens), harness.clientSecret];
  const leaks = texts.filter((text) => secrets.some((secret) => text.includes(secret)) || /idscl_[A-Za-z0-9_-]/.test(text));
  expect(leaks).toEqual([]);
}

/** Everything the connector let out during the harness's life, for expectNoSecrets. */
export function everythingCaptured(harness: ConnectorHarness): string[] {
  const { logs, stderr, messages, errors } = harness.capture;
  return [...logs, ...stderr, ...errors, ...messages.flatMap((m) => [m.text, JSON.stringify(m.decoded)])];
}

/**
 * For files that start one harness per test: `track(harness)` when it starts; after each test
 * everything it let out is checked for secrets and it is closed. Call at the top of the file.
 */
export function closeAfterEachTest(): { track(harness: ConnectorHarness): void } {
  let tracked: ConnectorHarness | undefined;
  afterEach(async () => {
    const harness = tracked;
    tracked = undefined;
    if (harness === undefined) return;
    try {
      expectNoSecrets(harness, everythingCaptured(harness));
    } finally {
      await harness.close();
    }
  });
  return { track(harness) { tracked = harness; } };
}
