import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSubscriptionsApi } from '../../../src/graph/subscriptionsApi';
import { notificationEndpoints, parsePublicBaseUrl, type NotificationEndpoints } from '../../../src/realtime/notificationEndpoints';
import { parseNotifications } from '../../../src/realtime/notificationPayload';
import type { LifecycleEvent, StoredSubscription, SubscribedKind, SubscriptionSlot, SubscriptionsApi } from '../../../src/realtime/ports';
import { beginNotifiedPull } from '../../../src/realtime/pullCoalescer';
import { SUBSCRIPTIONS_LOCK, SubscriptionManager, SubscriptionsBusyError, type LifecycleNotice } from '../../../src/realtime/subscriptionManager';
import { createLogger } from '../../../src/setup/logging';
import { SecretScrubber } from '../../../src/setup/secretScrubber';
import { ConnectorQueues, decodeMessageText } from '../../../src/store/connectorQueues';
import { TableLockStore } from '../../../src/store/lockStore';
import { TablePullGateStore } from '../../../src/store/pullGateStore';
import { TableSubscriptionStore } from '../../../src/store/subscriptionStore';
import { startFakeGraph, type FakeGraph, type RequestRecord } from '../../fakes/graph';
import { isolatedStorage } from '../../support/storage';

// SubscriptionManager against the fake Graph (/v1.0/subscriptions, with real validation handshakes to a
// local receiver) and Azurite. The manager's clock is the real clock shifted by `clock.offsetMs`: the
// fake Graph judges expirationDateTime by the real clock, so "later" is reached by creating in the
// past (a negative offset) and coming back to the present, never by asking Graph for more than it allows.

const SOURCE = 'Default';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Half of the requested lifetime (41,700 minutes): renewal is due past this. */
const HALF_LIFE = (41_700 / 2) * MINUTE;
const DELTA_INTERVAL_MINUTES = 15;

// ---- a local webhook receiver --------------------------------------------------------------------

interface Receiver {
  origin: string;
  /** How validation requests are answered: echo the token (Graph's rule), or fail with 500. */
  validation: 'echo' | 'fail';
  /** Bodies of lifecycle notifications received (not validations). */
  lifecycleBodies: string[];
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://receiver');
      const token = url.searchParams.get('validationToken');
      if (token !== null) {
        if (receiver.validation === 'fail') {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end('down');
          return;
        }
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end(token);
        return;
      }
      if (url.pathname.endsWith('/lifecycle')) receiver.lifecycleBodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(202);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const receiver: Receiver = {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    validation: 'echo',
    lifecycleBodies: [],
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
  return receiver;
}

// ---- the fixture -----------------------------------------------------------------------------------

interface PullMessage {
  type: string;
  source: string;
  reason: string;
  full: boolean;
}

interface Fixture {
  graph: FakeGraph;
  receiver: Receiver;
  api: SubscriptionsApi;
  store: TableSubscriptionStore;
  gates: TablePullGateStore;
  queues: ConnectorQueues;
  locks: TableLockStore;
  endpoints: NotificationEndpoints;
  clock: { offsetMs: number };
  now(): Date;
  /** Every JSON log line the managers wrote. */
  logs: string[];
  manager(endpoints?: Fixture['endpoints'] | { unavailable: string }): SubscriptionManager;
  /** Takes every visible pull message and starts the pull, as the pull worker does. */
  takePulls(): Promise<PullMessage[]>;
  /** Graph requests on /subscriptions from `mark` on (an index into graph.requests). */
  subscriptionRequests(mark?: number): RequestRecord[];
  /** POST, PATCH and DELETE on /subscriptions from `mark` on. */
  subscriptionWrites(mark?: number): RequestRecord[];
  stored(kind?: SubscribedKind): Promise<StoredSubscription[]>;
  slot(kind: SubscribedKind): Promise<SubscriptionSlot | undefined>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: { permissions?: string[]; offsetMs?: number } = {}): Promise<Fixture> {
  const receiver = await startReceiver();
  cleanups.push(() => receiver.close());
  const clientSecret = `sm-secret-${randomBytes(12).toString('hex')}`;
  const graph = await startFakeGraph({
    clientSecret,
    ...(options.permissions !== undefined ? { permissions: options.permissions } : {}),
    notifications: { batchWindowMs: 50, retryBackoffMs: 50, validationTimeoutMs: 3000 },
  });
  cleanups.push(() => graph.close());
  const storage = isolatedStorage();
  const store = new TableSubscriptionStore(storage);
  const gates = new TablePullGateStore(storage);
  const queues = new ConnectorQueues(storage);
  const locks = new TableLockStore(storage);
  await Promise.all([store.initialize(), gates.initialize(), queues.initialize(), locks.initialize()]);
  const api = createSubscriptionsApi(graph.sourceConfig());
  const clock = { offsetMs: options.offsetMs ?? 0 };
  const now = () => new Date(Date.now() + clock.offsetMs);
  const logs: string[] = [];
  // A scrubber that knows no secret: what reaches the sink is what the manager wrote.
  const logger = createLogger({ level: 'debug', sink: { write: (line) => logs.push(line) }, scrubber: new SecretScrubber() });
  const endpoints = notificationEndpoints(parsePublicBaseUrl(receiver.origin, 'test'), undefined);

  const fixture: Fixture = {
    graph, receiver, api, store, gates, queues, locks, endpoints, clock, now, logs,
    manager: (given = fixture.endpoints) => new SubscriptionManager({
      store, apiFor: (source) => {
        if (source !== SOURCE) throw new Error(`unexpected source ${source}`);
        return api;
      },
      sources: [SOURCE], endpoints: given, locks, holder: 'manager-test', deltaIntervalMinutes: DELTA_INTERVAL_MINUTES, logger,
      gates, queue: queues, minIntervalMs: 0, now,
    }),
    async takePulls() {
      const received = await queues.pullRequests.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 });
      const messages: PullMessage[] = [];
      for (const item of received.receivedMessageItems) {
        await queues.pullRequests.deleteMessage(item.messageId, item.popReceipt);
        const message = decodeMessageText(item.messageText) as PullMessage;
        messages.push(message);
        expect(await beginNotifiedPull(message.source, 'subscriptionCatchUp', { gates, queue: queues, minIntervalMs: 0, now })).toBe('start');
      }
      return messages;
    },
    subscriptionRequests: (mark = 0) => graph.requests.slice(mark).filter((r) => r.target === 'subscriptions'),
    subscriptionWrites: (mark = 0) => fixture.subscriptionRequests(mark).filter((r) => r.method !== 'GET'),
    async stored(kind) {
      return (await store.listSubscriptions()).filter((s) => kind === undefined || s.kind === kind);
    },
    async slot(kind) {
      return (await store.listSlots()).find((s) => s.source === SOURCE && s.kind === kind);
    },
  };
  return fixture;
}

const catchUp = { type: 'pull', source: SOURCE, reason: 'subscriptionCatchUp', full: false };

async function only<T>(items: Promise<T[]> | T[]): Promise<T> {
  const list = await items;
  expect(list).toHaveLength(1);
  return list[0]!;
}

/** nextAttemptAt is `waitMs` after the slot was written (the two are read from the clock a moment apart). */
function expectWait(slot: SubscriptionSlot, waitMs: number): void {
  const wait = Date.parse(slot.nextAttemptAt ?? '') - Date.parse(slot.updatedAt);
  expect(wait).toBeGreaterThan(waitMs - 2000);
  expect(wait).toBeLessThanOrEqual(waitMs);
}

/** The lifecycle notice the webhook would queue for what Graph POSTed to the lifecycle URL. */
async function lifecycleNotice(f: Fixture, subscription: StoredSubscription, event: LifecycleEvent): Promise<LifecycleNotice> {
  const before = f.receiver.lifecycleBodies.length;
  await f.graph.subscriptions.sendLifecycle(subscription.id, event);
  const body = f.receiver.lifecycleBodies[before];
  const parsed = parseNotifications(body ?? '');
  if (!parsed.ok) throw new Error(parsed.error);
  const item = parsed.batch.lifecycle[0]!;
  expect(item.clientState).toBe(subscription.clientState);
  expect(item.event).toBe(event);
  return { source: SOURCE, kind: subscription.kind, subscriptionId: item.subscriptionId, event };
}

// ---- tests -----------------------------------------------------------------------------------------

describe('SubscriptionManager.maintain', () => {
  it('(a) creates the users and groups subscriptions, stores them and asks for one catch-up pull', async () => {
    const f = await setup();
    const summary = await f.manager().maintain();

    expect(summary).toMatchObject({ locked: false, created: 2, renewed: 0, deleted: 0, failed: 0 });
    const atGraph = f.graph.subscriptions.list();
    expect(atGraph.map((s) => s.resource).sort()).toEqual(['groups', 'users']);
    for (const subscription of atGraph) {
      expect(subscription).toMatchObject({
        changeType: 'updated,deleted', notificationUrl: f.endpoints.notificationUrl, lifecycleNotificationUrl: f.endpoints.lifecycleUrl,
        latestSupportedTlsVersion: 'v1_2',
      });
    }
    expect(f.graph.subscriptions.handshakes).toHaveLength(4);
    expect(f.graph.subscriptions.handshakes.every((h) => h.ok)).toBe(true);

    const stored = await f.stored();
    expect(stored).toHaveLength(2);
    for (const subscription of stored) {
      const graphSide = atGraph.find((s) => s.id === subscription.id);
      expect(graphSide?.resource).toBe(subscription.kind);
      expect(subscription.clientState).toBe(graphSide?.clientState);
      expect(subscription.clientState.length).toBeGreaterThanOrEqual(40);
      expect(subscription.expiresAt).toBe(graphSide?.expirationDateTime);
      expect(subscription.endpointFingerprint).toBe(f.endpoints.fingerprint);
      expect(subscription.source).toBe(SOURCE);
      // Asked for 41,700 minutes.
      expect(Date.parse(subscription.expiresAt) - Date.now()).toBeGreaterThan(41_690 * MINUTE);
    }
    expect(stored[0]!.clientState).not.toBe(stored[1]!.clientState);

    const slots = await f.store.listSlots();
    expect(slots).toHaveLength(2);
    for (const slot of slots) {
      const subscription = stored.find((s) => s.kind === slot.kind)!;
      expect(slot).toMatchObject({ source: SOURCE, state: 'active', detail: '', subscriptionId: subscription.id, expiresAt: subscription.expiresAt, failures: 0, nextAttemptAt: null });
    }
    expect(summary.slots.map((s) => s.state)).toEqual(['active', 'active']);

    expect(await f.takePulls()).toEqual([expect.objectContaining(catchUp)]);
  });

  it('(a) never reuses a clientState, across subscriptions and recreations', async () => {
    const f = await setup();
    const manager = f.manager();
    await manager.maintain();
    const seen = new Set((await f.stored()).map((s) => s.clientState));
    for (const subscription of await f.stored()) {
      await manager.onLifecycleEvent(await lifecycleNotice(f, subscription, 'subscriptionRemoved'));
    }
    const recreated = await f.stored();
    expect(recreated).toHaveLength(2);
    for (const s of recreated) seen.add(s.clientState);
    expect(seen.size).toBe(4);
  });

  it('(b) does no Graph request at all on a second pass soon after', async () => {
    const f = await setup();
    await f.manager().maintain();
    await f.takePulls();
    const slotsBefore = await f.store.listSlots();
    const mark = f.graph.requests.length;

    f.clock.offsetMs = 10 * MINUTE;
    const summary = await f.manager().maintain();

    expect(summary).toMatchObject({ locked: false, created: 0, renewed: 0, deleted: 0, failed: 0 });
    expect(f.subscriptionRequests(mark)).toEqual([]);
    expect(await f.store.listSlots()).toEqual(slotsBefore);
    expect(await f.takePulls()).toEqual([]);
  });

  it('(c) renews at half-life: one PATCH per subscription, the new expiry stored, no catch-up', async () => {
    // Created just over half a lifetime ago (the clock comes back to the present).
    const f = await setup({ offsetMs: -(HALF_LIFE + MINUTE) });
    await f.manager().maintain();
    await f.takePulls();
    const created = await f.stored();

    // Two minutes before half-life: nothing.
    f.clock.offsetMs = -2 * MINUTE;
    let mark = f.graph.requests.length;
    expect(await f.manager().maintain()).toMatchObject({ renewed: 0, created: 0 });
    expect(f.subscriptionRequests(mark)).toEqual([]);

    // Just past half-life.
    f.clock.offsetMs = 0;
    mark = f.graph.requests.length;
    const summary = await f.manager().maintain();

    expect(summary).toMatchObject({ renewed: 2, created: 0, deleted: 0, failed: 0 });
    const writes = f.subscriptionWrites(mark);
    expect(writes.map((r) => r.method)).toEqual(['PATCH', 'PATCH']);
    expect(writes.map((r) => r.path).sort()).toEqual(created.map((s) => `/v1.0/subscriptions/${s.id}`).sort());
    expect(writes.every((r) => r.status === 200)).toBe(true);

    const renewed = await f.stored();
    expect(renewed.map((s) => s.id).sort()).toEqual(created.map((s) => s.id).sort());
    for (const subscription of renewed) {
      const before = created.find((s) => s.id === subscription.id)!;
      expect(subscription.clientState).toBe(before.clientState);
      expect(subscription.createdAt).toBe(before.createdAt);
      expect(Date.parse(subscription.expiresAt) - Date.parse(before.expiresAt)).toBeGreaterThan(HALF_LIFE);
      expect(subscription.expiresAt).toBe(f.graph.subscriptions.get(subscription.id)?.expirationDateTime);
      expect((await f.slot(subscription.kind))?.expiresAt).toBe(subscription.expiresAt);
    }
    expect(await f.takePulls()).toEqual([]);

    // Renewed: the next pass leaves them alone.
    mark = f.graph.requests.length;
    await f.manager().maintain();
    expect(f.subscriptionRequests(mark)).toEqual([]);
  });

  it('(d) recreates a subscription Graph no longer has when renewing it (404), and asks for a catch-up pull', async () => {
    const f = await setup({ offsetMs: -15 * DAY });
    await f.manager().maintain();
    await f.takePulls();
    const oldUsers = await only(f.stored('users'));
    const oldGroups = await only(f.stored('groups'));
    expect(f.graph.subscriptions.remove(oldUsers.id)).toBe(true);

    f.clock.offsetMs = 0;
    const mark = f.graph.requests.length;
    const summary = await f.manager().maintain();

    expect(summary).toMatchObject({ created: 1, renewed: 1, failed: 0 });
    const newUsers = await only(f.stored('users'));
    expect(newUsers.id).not.toBe(oldUsers.id);
    expect(newUsers.clientState).not.toBe(oldUsers.clientState);
    expect((await only(f.stored('groups'))).id).toBe(oldGroups.id);
    expect(f.graph.subscriptions.list().map((s) => s.id).sort()).toEqual([newUsers.id, oldGroups.id].sort());
    const usersPatch = f.subscriptionWrites(mark).find((r) => r.method === 'PATCH' && r.path.endsWith(oldUsers.id));
    expect(usersPatch?.status).toBe(404);
    expect(f.subscriptionWrites(mark).filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(await f.slot('users')).toMatchObject({ state: 'active', subscriptionId: newUsers.id, failures: 0 });
    expect(await f.takePulls()).toEqual([expect.objectContaining(catchUp)]);
  });

  it('(e) skips groups without Group.Read.All, waits 6 hours, then tries again', async () => {
    const f = await setup({ permissions: ['User.Read.All', 'GroupMember.Read.All'], offsetMs: -(6 * HOUR + MINUTE) });
    const summary = await f.manager().maintain();

    expect(summary).toMatchObject({ created: 1, failed: 0 });
    expect(await f.slot('users')).toMatchObject({ state: 'active', failures: 0 });
    const skipped = (await f.slot('groups'))!;
    expect(skipped).toMatchObject({ state: 'skipped', subscriptionId: null, expiresAt: null, failures: 0 });
    expect(skipped.detail).toContain('Group.Read.All');
    expect(skipped.detail).toContain('timer');
    expect(skipped.detail).toContain(`every ${DELTA_INTERVAL_MINUTES} minutes`);
    expectWait(skipped, 6 * HOUR);
    expect(f.graph.subscriptions.list().map((s) => s.resource)).toEqual(['users']);
    expect(await f.stored('groups')).toEqual([]);
    expect(await f.takePulls()).toEqual([expect.objectContaining(catchUp)]);

    // Granted meanwhile, but the slot waits its 6 hours: no request to Graph before.
    f.graph.subscriptions.setPermissions(['User.Read.All', 'GroupMember.Read.All', 'Group.Read.All']);
    for (const offset of [-6 * HOUR, -3 * HOUR, -2 * MINUTE]) {
      f.clock.offsetMs = offset;
      const mark = f.graph.requests.length;
      await f.manager().maintain();
      expect(f.subscriptionRequests(mark), `at offset ${offset}`).toEqual([]);
      expect((await f.slot('groups'))?.state).toBe('skipped');
    }

    f.clock.offsetMs = 0;
    const mark = f.graph.requests.length;
    expect(await f.manager().maintain()).toMatchObject({ created: 1 });
    expect(f.subscriptionWrites(mark).map((r) => `${r.method} ${r.status}`)).toEqual(['POST 201']);
    const groups = await only(f.stored('groups'));
    expect(await f.slot('groups')).toMatchObject({ state: 'active', detail: '', subscriptionId: groups.id, nextAttemptAt: null });
    expect(await f.takePulls()).toEqual([expect.objectContaining(catchUp)]);
  });

  it('(e) keeps skipping (another 6 hours) while the permission is still missing', async () => {
    const f = await setup({ permissions: ['User.Read.All', 'GroupMember.Read.All'], offsetMs: -(6 * HOUR + MINUTE) });
    await f.manager().maintain();
    const first = (await f.slot('groups'))!;
    f.clock.offsetMs = 0;
    const mark = f.graph.requests.length;
    await f.manager().maintain();
    expect(f.subscriptionWrites(mark).map((r) => `${r.method} ${r.status}`)).toEqual(['POST 403']);
    const second = (await f.slot('groups'))!;
    expect(second).toMatchObject({ state: 'skipped', failures: 0 });
    expect(Date.parse(second.nextAttemptAt!)).toBeGreaterThan(Date.parse(first.nextAttemptAt!) + 5 * HOUR);
  });

  it('(g) replaces subscriptions made for another notification URL', async () => {
    const f = await setup();
    await f.manager().maintain();
    await f.takePulls();
    const old = await f.stored();
    const moved = await startReceiver();
    cleanups.push(() => moved.close());
    const newEndpoints = notificationEndpoints(parsePublicBaseUrl(moved.origin, 'test'), undefined);
    expect(newEndpoints.fingerprint).not.toBe(f.endpoints.fingerprint);

    const mark = f.graph.requests.length;
    const summary = await f.manager(newEndpoints).maintain();

    expect(summary).toMatchObject({ created: 2, deleted: 2, failed: 0 });
    const deletes = f.subscriptionWrites(mark).filter((r) => r.method === 'DELETE');
    expect(deletes.map((r) => r.path).sort()).toEqual(old.map((s) => `/v1.0/subscriptions/${s.id}`).sort());
    const atGraph = f.graph.subscriptions.list();
    expect(atGraph).toHaveLength(2);
    expect(atGraph.every((s) => s.notificationUrl === newEndpoints.notificationUrl && s.lifecycleNotificationUrl === newEndpoints.lifecycleUrl)).toBe(true);
    const stored = await f.stored();
    expect(stored.map((s) => s.id).sort()).toEqual(atGraph.map((s) => s.id).sort());
    expect(stored.every((s) => s.endpointFingerprint === newEndpoints.fingerprint)).toBe(true);
    expect(await f.takePulls()).toEqual([expect.objectContaining(catchUp)]);
  });

  it('(g) replaces subscriptions when only the key in the URL changed', async () => {
    const f = await setup();
    const base = parsePublicBaseUrl(f.receiver.origin, 'test');
    const keyOne = notificationEndpoints(base, 'key-one-0123456789');
    const keyTwo = notificationEndpoints(base, 'key-two-0123456789');
    await f.manager(keyOne).maintain();
    const old = await f.stored();
    expect(f.graph.subscriptions.list().every((s) => s.notificationUrl === keyOne.notificationUrl)).toBe(true);

    const mark = f.graph.requests.length;
    expect(await f.manager(keyTwo).maintain()).toMatchObject({ created: 2, deleted: 2, failed: 0 });

    const atGraph = f.graph.subscriptions.list();
    expect(atGraph.map((s) => s.id).some((id) => old.some((o) => o.id === id))).toBe(false);
    expect(atGraph.every((s) => s.notificationUrl === keyTwo.notificationUrl)).toBe(true);
    expect((await f.stored()).every((s) => s.endpointFingerprint === keyTwo.fingerprint)).toBe(true);
    // Every old subscription was deleted at Graph (successfully).
    for (const subscription of old) {
      expect(f.subscriptionWrites(mark).some((r) => r.method === 'DELETE' && r.path.endsWith(subscription.id) && r.status === 204)).toBe(true);
    }
  });

  // Regression: the Graph list is read once per source (users pass) and reused for groups. Deleting
  // the replaced groups subscription used to drop its id from the known ids, so the reused list made
  // it an "orphan" after a key-only change: a second DELETE (404) and a false orphan warning.
  it('(g) deletes each replaced subscription once, and does not report it as an orphan, after a key change', async () => {
    const f = await setup();
    const base = parsePublicBaseUrl(f.receiver.origin, 'test');
    await f.manager(notificationEndpoints(base, 'key-one-0123456789')).maintain();
    const old = await f.stored();
    const mark = f.graph.requests.length;
    await f.manager(notificationEndpoints(base, 'key-two-0123456789')).maintain();

    for (const subscription of old) {
      expect(f.subscriptionWrites(mark).filter((r) => r.method === 'DELETE' && r.path.endsWith(subscription.id)), subscription.kind).toHaveLength(1);
    }
    expect(f.logs.filter((line) => line.includes('subscription.orphanDeleted'))).toEqual([]);
  });

  it('(h) turns slots off with the reason and deletes the subscriptions when there is no endpoint', async () => {
    const f = await setup();
    await f.manager().maintain();
    await f.takePulls();
    const old = await f.stored();
    const reason = 'no public URL: set SERVE_PUBLIC_URL or run in Azure to get change notifications';

    let mark = f.graph.requests.length;
    const summary = await f.manager({ unavailable: reason }).maintain();

    expect(summary).toMatchObject({ created: 0, deleted: 2, failed: 0 });
    expect(f.subscriptionWrites(mark).map((r) => `${r.method} ${r.status}`)).toEqual(['DELETE 204', 'DELETE 204']);
    expect(f.subscriptionWrites(mark).map((r) => r.path).sort()).toEqual(old.map((s) => `/v1.0/subscriptions/${s.id}`).sort());
    expect(f.graph.subscriptions.list()).toEqual([]);
    expect(await f.stored()).toEqual([]);
    for (const kind of ['users', 'groups'] as const) {
      expect(await f.slot(kind)).toMatchObject({ state: 'off', detail: reason, subscriptionId: null, expiresAt: null, failures: 0, nextAttemptAt: null });
    }
    expect(await f.takePulls()).toEqual([]);

    // Nothing more to do while it stays so.
    mark = f.graph.requests.length;
    await f.manager({ unavailable: reason }).maintain();
    expect(f.subscriptionRequests(mark)).toEqual([]);

    // An endpoint again: created at once.
    expect(await f.manager().maintain()).toMatchObject({ created: 2 });
    expect((await f.store.listSlots()).map((s) => s.state)).toEqual(['active', 'active']);
  });

  it('(i) marks the slots failed when the validation handshake fails, and respects the backoff', async () => {
    const f = await setup();
    f.receiver.validation = 'fail';
    const summary = await f.manager().maintain();

    expect(summary).toMatchObject({ created: 0, failed: 2 });
    expect(f.graph.subscriptions.handshakes.map((h) => [h.status, h.ok])).toEqual([[500, false], [500, false]]);
    for (const kind of ['users', 'groups'] as const) {
      const slot = (await f.slot(kind))!;
      expect(slot).toMatchObject({ state: 'failed', failures: 1, subscriptionId: null });
      expect(slot.detail).toMatch(/validat/i);
      expect(slot.detail).toContain(f.endpoints.display);
      expect(slot.detail).toContain(`every ${DELTA_INTERVAL_MINUTES} minutes`);
      expectWait(slot, 5 * MINUTE);
    }
    expect(f.graph.subscriptions.list()).toEqual([]);
    expect(await f.stored()).toEqual([]);
    expect(await f.takePulls()).toEqual([]);

    // No new POST before nextAttemptAt, even once the endpoint works.
    f.receiver.validation = 'echo';
    for (const offset of [0, 2 * MINUTE, 4 * MINUTE + 50_000]) {
      f.clock.offsetMs = offset;
      const mark = f.graph.requests.length;
      await f.manager().maintain();
      expect(f.subscriptionRequests(mark), `at +${offset / 1000} s`).toEqual([]);
    }

    // Past it: tried again, and still failing doubles the wait.
    f.receiver.validation = 'fail';
    f.clock.offsetMs = 5 * MINUTE + 10_000;
    let mark = f.graph.requests.length;
    expect(await f.manager().maintain()).toMatchObject({ failed: 2 });
    expect(f.subscriptionWrites(mark).map((r) => `${r.method} ${r.status}`)).toEqual(['POST 400', 'POST 400']);
    const twice = (await f.slot('users'))!;
    expect(twice).toMatchObject({ state: 'failed', failures: 2 });
    expectWait(twice, 10 * MINUTE);

    f.clock.offsetMs = 14 * MINUTE;
    mark = f.graph.requests.length;
    await f.manager().maintain();
    expect(f.subscriptionRequests(mark)).toEqual([]);

    f.receiver.validation = 'echo';
    f.clock.offsetMs = 16 * MINUTE;
    mark = f.graph.requests.length;
    expect(await f.manager().maintain()).toMatchObject({ created: 2, failed: 0 });
    expect(await f.slot('users')).toMatchObject({ state: 'active', failures: 0, nextAttemptAt: null, detail: '' });
    expect(await f.slot('groups')).toMatchObject({ state: 'active', failures: 0 });
    expect(await f.takePulls()).toEqual([expect.objectContaining(catchUp)]);
  });

  it('(j) deletes orphans at Graph for our URL before creating, and leaves other subscriptions alone', async () => {
    const f = await setup();
    const other = await startReceiver();
    cleanups.push(() => other.close());
    const inAnHour = () => new Date(Date.now() + HOUR);
    // Left by a crash between "created at Graph" and "stored": our URL, unknown to the store.
    const orphanUsers = await f.api.create({
      kind: 'users', changeType: 'updated,deleted', notificationUrl: f.endpoints.notificationUrl, lifecycleNotificationUrl: f.endpoints.lifecycleUrl,
      expirationDateTime: inAnHour(), clientState: 'orphan-client-state-users',
    });
    const orphanGroups = await f.api.create({
      kind: 'groups', changeType: 'updated', notificationUrl: `${f.endpoints.notificationUrl}/`, lifecycleNotificationUrl: f.endpoints.lifecycleUrl,
      expirationDateTime: inAnHour(), clientState: 'orphan-client-state-groups',
    });
    // Somebody else's subscription (another app URL of the same app registration).
    const foreign = await f.api.create({
      kind: 'users', changeType: 'updated', notificationUrl: `${other.origin}/hooks/users`, lifecycleNotificationUrl: `${other.origin}/hooks/lifecycle`,
      expirationDateTime: inAnHour(), clientState: 'foreign-client-state',
    });

    const mark = f.graph.requests.length;
    const summary = await f.manager().maintain();

    expect(summary).toMatchObject({ created: 2, failed: 0 });
    const deleted = f.subscriptionWrites(mark).filter((r) => r.method === 'DELETE');
    expect(deleted.map((r) => r.path).sort()).toEqual([`/v1.0/subscriptions/${orphanUsers.id}`, `/v1.0/subscriptions/${orphanGroups.id}`].sort());
    const stored = await f.stored();
    expect(f.graph.subscriptions.list().map((s) => s.id).sort()).toEqual([...stored.map((s) => s.id), foreign.id].sort());
    // The Graph list is read once per source, not per kind.
    expect(f.subscriptionRequests(mark).filter((r) => r.method === 'GET')).toHaveLength(1);
    expect(f.logs.filter((line) => line.includes('subscription.orphanDeleted'))).toHaveLength(2);
  });

  it('(j) leaves an orphan alone on a pass with nothing to create, and deletes it on the next creation', async () => {
    const f = await setup();
    await f.manager().maintain();
    const orphan = await f.api.create({
      kind: 'users', changeType: 'updated,deleted', notificationUrl: f.endpoints.notificationUrl, lifecycleNotificationUrl: f.endpoints.lifecycleUrl,
      expirationDateTime: new Date(Date.now() + HOUR), clientState: 'orphan-client-state-users',
    });
    let mark = f.graph.requests.length;
    await f.manager().maintain();
    expect(f.subscriptionRequests(mark)).toEqual([]);
    expect(f.graph.subscriptions.get(orphan.id)).toBeDefined();

    // The stored row of the users subscription is lost: at Graph it is now an orphan too.
    const users = await only(f.stored('users'));
    const groups = await only(f.stored('groups'));
    await f.store.deleteSubscription(users.id);
    mark = f.graph.requests.length;
    expect(await f.manager().maintain()).toMatchObject({ created: 1, failed: 0 });

    const writes = f.subscriptionWrites(mark);
    expect(writes.filter((r) => r.method === 'DELETE').map((r) => r.path).sort())
      .toEqual([`/v1.0/subscriptions/${orphan.id}`, `/v1.0/subscriptions/${users.id}`].sort());
    expect(writes.filter((r) => r.method === 'POST')).toHaveLength(1);
    const recreated = await only(f.stored('users'));
    expect(f.graph.subscriptions.list().map((s) => s.id).sort()).toEqual([recreated.id, groups.id].sort());
  });

  it('returns locked and touches nothing while another instance holds the subscriptions lock', async () => {
    const f = await setup();
    const held = await f.locks.tryAcquire(SUBSCRIPTIONS_LOCK, 'another-instance', 60_000);
    expect(held).toBeDefined();
    const summary = await f.manager().maintain();
    expect(summary).toMatchObject({ locked: true, created: 0 });
    expect(f.subscriptionRequests()).toEqual([]);
    await expect(f.manager().onLifecycleEvent({ source: SOURCE, kind: 'users', subscriptionId: 'x', event: 'missed' })).rejects.toBeInstanceOf(SubscriptionsBusyError);
    await held!.release();
    expect(await f.manager().maintain()).toMatchObject({ locked: false, created: 2 });
  });
});

describe('SubscriptionManager.onLifecycleEvent', () => {
  async function active(): Promise<{ f: Fixture; users: StoredSubscription; groups: StoredSubscription }> {
    const f = await setup();
    await f.manager().maintain();
    await f.takePulls();
    return { f, users: await only(f.stored('users')), groups: await only(f.stored('groups')) };
  }

  it('(f) reauthorizationRequired: reauthorizes at Graph and asks for a catch-up pull', async () => {
    const { f, users } = await active();
    const notice = await lifecycleNotice(f, users, 'reauthorizationRequired');
    const mark = f.graph.requests.length;

    await f.manager().onLifecycleEvent(notice);

    expect(f.graph.subscriptions.reauthorizations).toEqual([users.id]);
    expect(f.subscriptionWrites(mark).map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([`POST /v1.0/subscriptions/${users.id}/reauthorize 204`]);
    expect(await only(f.stored('users'))).toEqual(users);
    expect(await f.takePulls()).toEqual([expect.objectContaining(catchUp)]);
  });

  it('(f) reauthorizationRequired for a subscription Graph no longer has: recreated', async () => {
    const { f, groups } = await active();
    const notice = await lifecycleNotice(f, groups, 'reauthorizationRequired');
    f.graph.subscriptions.remove(groups.id);

    await f.manager().onLifecycleEvent(notice);

    expect(f.graph.subscriptions.reauthorizations).toEqual([]);
    const recreated = await only(f.stored('groups'));
    expect(recreated.id).not.toBe(groups.id);
    expect(f.graph.subscriptions.get(recreated.id)).toMatchObject({ resource: 'groups', notificationUrl: f.endpoints.notificationUrl });
    expect(await f.slot('groups')).toMatchObject({ state: 'active', subscriptionId: recreated.id });
    expect(await f.takePulls()).toEqual([expect.objectContaining(catchUp)]);
  });

  it('(f) subscriptionRemoved: recreated, with a catch-up pull', async () => {
    const { f, users, groups } = await active();
    const notice = await lifecycleNotice(f, users, 'subscriptionRemoved');
    expect(f.graph.subscriptions.get(users.id)).toBeUndefined();

    await f.manager().onLifecycleEvent(notice);

    const recreated = await only(f.stored('users'));
    expect(recreated.id).not.toBe(users.id);
    expect(recreated.clientState).not.toBe(users.clientState);
    expect(f.graph.subscriptions.list().map((s) => s.id).sort()).toEqual([recreated.id, groups.id].sort());
    expect(await f.store.findSubscription(users.id)).toBeUndefined();
    expect(await f.slot('users')).toMatchObject({ state: 'active', subscriptionId: recreated.id, expiresAt: recreated.expiresAt });
    expect(await f.takePulls()).toEqual([expect.objectContaining(catchUp)]);
  });

  it('(f) missed: only a catch-up pull', async () => {
    const { f, users, groups } = await active();
    const notice = await lifecycleNotice(f, groups, 'missed');
    const slots = await f.store.listSlots();
    const mark = f.graph.requests.length;

    await f.manager().onLifecycleEvent(notice);

    expect(f.subscriptionRequests(mark)).toEqual([]);
    expect((await f.stored()).sort((a, b) => a.kind.localeCompare(b.kind))).toEqual([groups, users]);
    expect(await f.store.listSlots()).toEqual(slots);
    expect(await f.takePulls()).toEqual([expect.objectContaining(catchUp)]);
  });

  it('(f) ignores an event for a subscription that is not ours (unknown id, or another source)', async () => {
    const { f, users } = await active();
    const mark = f.graph.requests.length;
    const manager = f.manager();

    await manager.onLifecycleEvent({ source: SOURCE, kind: 'users', subscriptionId: '00000000-0000-4000-8000-000000000000', event: 'subscriptionRemoved' });
    await manager.onLifecycleEvent({ source: SOURCE, kind: 'users', subscriptionId: '', event: 'reauthorizationRequired' });
    await manager.onLifecycleEvent({ source: 'Other', kind: 'users', subscriptionId: users.id, event: 'subscriptionRemoved' });

    expect(f.subscriptionRequests(mark)).toEqual([]);
    expect(await only(f.stored('users'))).toEqual(users);
    expect(await f.takePulls()).toEqual([]);
    expect(f.logs.filter((line) => line.includes('subscription.lifecycleIgnored'))).toHaveLength(3);
  });
});

describe('the clientState secret', () => {
  it('(k) never appears in a log line, a slot or a maintenance summary', async () => {
    const f = await setup({ offsetMs: -15 * DAY });
    const secrets = new Set<string>();
    const collect = async () => {
      for (const s of await f.stored()) secrets.add(s.clientState);
      for (const s of f.graph.subscriptions.list()) if (s.clientState !== null) secrets.add(s.clientState);
    };
    const summaries: unknown[] = [];

    summaries.push(await f.manager().maintain());
    await collect();
    const users = await only(f.stored('users'));
    const groups = await only(f.stored('groups'));
    // Lifecycle: reauthorize, removed, missed; a vanished one at renewal; a failing handshake.
    await f.manager().onLifecycleEvent(await lifecycleNotice(f, users, 'reauthorizationRequired'));
    await f.manager().onLifecycleEvent(await lifecycleNotice(f, users, 'subscriptionRemoved'));
    await collect();
    await f.manager().onLifecycleEvent(await lifecycleNotice(f, groups, 'missed'));
    f.graph.subscriptions.remove(groups.id);
    f.receiver.validation = 'fail';
    f.clock.offsetMs = 0;
    summaries.push(await f.manager().maintain());
    f.receiver.validation = 'echo';
    f.clock.offsetMs = 6 * MINUTE;
    summaries.push(await f.manager().maintain());
    await collect();
    summaries.push(await f.manager({ unavailable: 'turned off for the test' }).maintain());

    expect(secrets.size).toBeGreaterThanOrEqual(4);
    expect(f.logs.length).toBeGreaterThan(5);
    const slotsText = JSON.stringify(await f.store.listSlots());
    const summariesText = JSON.stringify(summaries);
    for (const secret of secrets) {
      for (const line of f.logs) expect(line.includes(secret), `log line leaks a clientState: ${line.slice(0, 120)}`).toBe(false);
      expect(slotsText.includes(secret)).toBe(false);
      expect(summariesText.includes(secret)).toBe(false);
    }
  });
});
