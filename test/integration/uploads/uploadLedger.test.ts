/**
 * Plans and uploads over the real ledger (Azurite) and the fake servers, with the clock in the
 * test's hand: grace periods, retries and quarantines that take days or minutes in production are
 * crossed by moving `now`, and nothing is pulled in between (the directory does not change), so
 * whatever happens is time-driven work the ledger found due.
 *
 * Two upload paths: the queue path (QueueUploadExecutor + processUpload, the Functions app) with
 * the queue replaced by a list the test delivers from, and the in-process path (the CLI).
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/config/resolve';
import { createRuntime, type ConnectorRuntime } from '../../../src/setup/runtime';
import { StorageRequestCounter } from '../../../src/store/requestCounter';
import { InProcessUploadExecutor } from '../../../src/sync/inProcessUploads';
import { silentLogger } from '../../../src/sync/logger';
import type { UploadRequestedMessage } from '../../../src/sync/messages';
import type { LedgerEntry, LedgerRead, LedgerScope, LedgerStore, UploadQueue } from '../../../src/sync/ports';
import { processUpload } from '../../../src/sync/processUpload';
import { readConnectorStatus } from '../../../src/sync/status';
import type { Logger, LogFields } from '../../../src/sync/logger';
import { QueueUploadExecutor } from '../../../src/sync/queueUploads';
import { runSync, type SyncRunSummary } from '../../../src/sync/runSync';
import type { UploadExecutor } from '../../../src/sync/uploadWork';
import { FakeTenant, startFakeGraph, type FakeGraph } from '../../fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../../fakes/signature365';
import { ledgerEntries, ledgerEntry } from '../../support/ledgerView';
import { isolatedStorage } from '../../support/storage';

const DAY_IN_MS = 86_400_000;

/** Stands in for the uploads queue: the test takes what was queued and delivers it when it likes. */
class ListQueue implements UploadQueue {
  messages: UploadRequestedMessage[] = [];
  sendUpload(message: Omit<UploadRequestedMessage, 'v' | 'type'>): Promise<void> {
    this.messages.push({ v: 1, type: 'upload', ...message });
    return Promise.resolve();
  }
  take(): UploadRequestedMessage[] {
    const taken = this.messages;
    this.messages = [];
    return taken;
  }
}

/** The runtime's ledger; `afterNextRead` runs once, between a read and its answer (another writer landing then). */
class HookedLedger implements LedgerStore {
  afterNextRead: (() => Promise<void>) | undefined;
  constructor(private readonly inner: LedgerStore) {}
  initialize(): Promise<void> { return this.inner.initialize(); }
  async read(scope: LedgerScope, buckets: readonly string[] | 'all', options?: { extend?: LedgerRead }): Promise<LedgerRead> {
    const read = await this.inner.read(scope, buckets, options);
    const hook = this.afterNextRead;
    this.afterNextRead = undefined;
    await hook?.();
    return read;
  }
  summaries: LedgerStore['summaries'] = (scope, options) => this.inner.summaries(scope, options);
  update: LedgerStore['update'] = (scope, buckets, mutate, summarize, options) => this.inner.update(scope, buckets, mutate, summarize, options);
}

interface World {
  graph: FakeGraph;
  s365: FakeSignature365;
  tenant: FakeTenant;
  runtime: ConnectorRuntime;
  ledger: HookedLedger;
  queue: ListQueue;
  counter: StorageRequestCounter;
  clock: { now: Date };
  team: string;
  members: string[];
  /** A sync on the queue path: returns what it queued. */
  sync(): Promise<UploadRequestedMessage[]>;
  /** A sync on the in-process path (the CLI): sends at once. */
  syncInProcess(): Promise<SyncRunSummary>;
  upload(messages: readonly UploadRequestedMessage[]): Promise<void>;
}

let world: World | undefined;
afterEach(async () => {
  if (world === undefined) return;
  await world.runtime.close();
  await Promise.all([world.graph.close(), world.s365.close()]);
  world = undefined;
});

/** One team of five in TenantB's scope; TenantA takes the whole source. */
async function start(options: { DeleteAfterDays?: number; FullReconcileHours?: number } = {}, env: NodeJS.ProcessEnv = process.env): Promise<World> {
  const tenant = new FakeTenant({ seed: 41 });
  const team = tenant.addGroup({ displayName: 'Team' }).id;
  const members = Array.from({ length: 5 }, () => tenant.addUser().id);
  for (const id of members) tenant.addMember(team, id);
  tenant.addUser();
  const secret = `int-secret-${randomBytes(8).toString('hex')}`;
  const graph = await startFakeGraph({ tenant, clientSecret: secret });
  const tokens = { TenantA: `idscl_${randomBytes(16).toString('hex')}`, TenantB: `idscl_${randomBytes(16).toString('hex')}` };
  const s365 = await startFakeSignature365({
    tenants: [
      { name: 'TenantA', token: tokens.TenantA, tenantId: '5a1e5000-0000-4000-8000-00000000000a' },
      { name: 'TenantB', token: tokens.TenantB, tenantId: '5a1e5000-0000-4000-8000-00000000000b' },
    ],
  });
  const config = resolveConfig({
    EntraId: { Default: { TenantId: graph.tenantId, ClientId: graph.clientId, ClientSecret: secret, AuthorityHost: graph.authorityHost, GraphEndpoint: graph.graphEndpoint } },
    Signature365: { TenantA: { Token: tokens.TenantA, Endpoint: s365.endpoint }, TenantB: { Token: tokens.TenantB, Endpoint: s365.endpoint } },
    Mappings: [{ From: 'EntraId:Default', To: 'Signature365:TenantA' }, { From: 'EntraId:Default', To: 'Signature365:TenantB', LimitToGroups: [team] }],
    Options: options,
  }, {});
  const counter = new StorageRequestCounter();
  const runtime = await createRuntime({ config, logger: silentLogger, env, storage: isolatedStorage(), destinations: { retryDelayInMs: 50 }, requestCounter: counter });
  const ledger = new HookedLedger(runtime.ledger);
  const queue = new ListQueue();
  const clock = { now: new Date() };
  const now = () => clock.now;
  const run = async (executor: UploadExecutor) => {
    const summary = await runSync({ ...runtime.syncDependencies(executor), ledger, now }, { runId: `run-${randomBytes(3).toString('hex')}`, holder: 'test' });
    expect(summary.failures).toEqual([]);
    return summary;
  };
  world = {
    graph, s365, tenant, runtime, ledger, queue, counter, clock, team, members,
    async sync() {
      await run(new QueueUploadExecutor({ ledger, outbox: runtime.outbox, queue, dispatches: runtime.cursors, now }));
      return queue.take();
    },
    syncInProcess: () => run(new InProcessUploadExecutor({
      ledger, health: runtime.health, deletions: runtime.deletions, now,
      destination: (name) => runtime.destination(name), sourceKey: () => graph.tenantId,
    })),
    async upload(messages) {
      for (const message of messages) await processUpload(message, { ...runtime.uploadDependencies(), ledger, now });
    },
  };
  return world;
}

const heldA = (w: World) => new Set(w.s365.tenant('TenantA').users(w.graph.tenantId).map((u) => u.id));
const heldB = (w: World) => new Set(w.s365.tenant('TenantB').users(w.graph.tenantId).map((u) => u.id));
const entryB = (w: World, id: string): Promise<LedgerEntry | undefined> => ledgerEntry(w.runtime.ledger, 'TenantB', 'Default', 'users', id);
const postsSince = (w: World, mark: number) => w.s365.requests.slice(mark).filter((r) => r.method === 'POST');

describe('the ledger on the queue path', () => {
  it('writes nothing, reads no ledger entry and queues nothing when nothing changed and nothing is due', async () => {
    const w = await start();
    await w.upload(await w.sync());
    const before = w.counter.snapshot();

    expect(await w.sync()).toEqual([]);

    const used = w.counter.snapshot();
    expect(used.tableBatches - before.tableBatches).toBe(0);
    // Lock, cursors, the journal, holds and one projected summary query per destination and kind: no ledger entries, no mirror rows.
    expect(used.total - before.total).toBeLessThanOrEqual(20);
  });

  it('sends the latest record when a message arrives late, and nothing when the newer message follows', async () => {
    const w = await start();
    await w.upload(await w.sync());
    const id = w.members[0] ?? '';
    w.tenant.updateUser(id, { jobTitle: 'First' });
    const late = await w.sync();
    w.tenant.updateUser(id, { jobTitle: 'Second' });
    const newer = await w.sync();
    await w.upload(late);
    expect(w.s365.tenant('TenantB').user(w.graph.tenantId, id)?.jobTitle).toBe('Second');
    const mark = w.s365.requests.length;
    await w.upload(newer);
    expect(w.s365.requests.length).toBe(mark);
  });

  it('keeps the newer wish when a plan lands while an older batch is on the wire', async () => {
    const w = await start();
    await w.upload(await w.sync());
    const id = w.members[2] ?? '';
    w.tenant.updateUser(id, { jobTitle: 'First' });
    const first = (await w.sync()).filter((m) => m.destination === 'TenantB');
    w.tenant.updateUser(id, { jobTitle: 'Second' });
    let second: UploadRequestedMessage[] = [];
    // The plan of "Second" runs after the upload of "First" read its entries, before it records the answer.
    w.ledger.afterNextRead = async () => { second = (await w.sync()).filter((m) => m.destination === 'TenantB'); };
    await w.upload(first);
    expect(second).toHaveLength(1);
    expect(w.s365.tenant('TenantB').user(w.graph.tenantId, id)?.jobTitle).toBe('First');
    // The answer for "First" did not erase that "Second" is queued: the newer message still sends it.
    expect((await entryB(w, id))?.qh).not.toBeUndefined();
    await w.upload(second);
    expect(w.s365.tenant('TenantB').user(w.graph.tenantId, id)?.jobTitle).toBe('Second');
  });

  it('deletes a user who left scope once DeleteAfterDays 7 have passed, with no change pulled in between', async () => {
    const w = await start();
    await w.upload(await w.sync());
    const leaver = w.members[1] ?? '';
    w.tenant.removeMember(w.team, leaver);
    const leftAt = w.clock.now;
    await w.upload(await w.sync());
    expect(heldB(w).has(leaver)).toBe(true);
    expect(await entryB(w, leaver)).toMatchObject({ l: leftAt.toISOString() });

    w.clock.now = new Date(leftAt.getTime() + 6 * DAY_IN_MS);
    expect((await w.sync()).filter((m) => m.destination === 'TenantB')).toEqual([]);

    w.clock.now = new Date(leftAt.getTime() + 7 * DAY_IN_MS);
    const due = await w.sync();
    expect(due).toEqual([expect.objectContaining({ destination: 'TenantB', kind: 'users', ids: [leaver] })]);
    await w.upload(due);
    expect(heldB(w).has(leaver)).toBe(false);
    // Deleted downstream: nothing left to remember.
    expect(await entryB(w, leaver)).toBeUndefined();
    // TenantA (the whole source) keeps the user throughout.
    expect(w.s365.tenant('TenantA').user(w.graph.tenantId, leaver)).toBeDefined();
  });

  it('holds a quarantined destination\'s work until its retryAfter, then sends all it owes', async () => {
    const w = await start();
    w.s365.faults.failNext(1, 401, { match: { tenant: 'TenantB' } });
    await w.upload(await w.sync());
    const health = await w.runtime.health.get('TenantB');
    expect(health).toMatchObject({ healthy: false, consecutiveFailures: 1 });
    expect(heldB(w).size).toBe(0);

    const whileQuarantined = await w.sync();
    expect(whileQuarantined.filter((m) => m.destination === 'TenantB')).toEqual([]);

    w.clock.now = new Date(Date.parse(health?.retryAfter ?? '') + 1_000);
    await w.upload(await w.sync());
    expect(heldB(w)).toEqual(new Set(w.members));
    expect(await w.runtime.health.get('TenantB')).toMatchObject({ healthy: true, consecutiveFailures: 0, lastError: null });
  });

  it('quarantines a destination that stays unavailable through every retry, without throwing, and catches up after', async () => {
    const w = await start();
    w.s365.faults.failNext(20, 503, { match: { tenant: 'TenantB' } });
    await w.upload(await w.sync());
    const health = await w.runtime.health.get('TenantB');
    expect(health).toMatchObject({ healthy: false, consecutiveFailures: 1 });
    const retryAfter = Date.parse(health?.retryAfter ?? '');
    expect(retryAfter - w.clock.now.getTime()).toBeLessThanOrEqual(60 * 60_000);
    expect(heldB(w).size).toBe(0);
    expect((await w.sync()).filter((m) => m.destination === 'TenantB')).toEqual([]);

    w.s365.faults.clear();
    w.clock.now = new Date(retryAfter + 1_000);
    const afterQuarantine = (await w.sync()).filter((m) => m.destination === 'TenantB');
    expect(afterQuarantine.filter((m) => m.kind === 'users').flatMap((m) => m.ids).sort()).toEqual([...w.members].sort());
    await w.upload(afterQuarantine);
    expect(heldB(w)).toEqual(new Set(w.members));
  });

  it('does not queue work again while it is in flight, and re-drives it once 30 minutes have passed', async () => {
    const w = await start();
    const first = (await w.sync()).filter((m) => m.destination === 'TenantB' && m.kind === 'users');
    expect(first.flatMap((m) => m.ids)).toHaveLength(w.members.length);
    // The messages are "in the queue" (never processed): the next tick must not add copies.
    expect((await w.sync()).filter((m) => m.destination === 'TenantB')).toEqual([]);

    // Lost or poisoned: half an hour later the ledger still owes them, so they come due and are queued again.
    w.clock.now = new Date(w.clock.now.getTime() + 30 * 60_000);
    const again = (await w.sync()).filter((m) => m.destination === 'TenantB');
    expect(again.filter((m) => m.kind === 'users').flatMap((m) => m.ids).sort()).toEqual([...w.members].sort());
    await w.upload(again);
    expect(heldB(w)).toEqual(new Set(w.members));
  });

  it('drops a message for a destination no longer in the config, without throwing', async () => {
    const w = await start();
    const [message] = await w.sync();
    if (message === undefined) throw new Error('the first sync queued nothing');
    const mark = w.s365.requests.length;
    await w.upload([{ ...message, destination: 'Retired' }]);
    expect(w.s365.requests.length).toBe(mark);
  });
});

/** A logger that keeps every line (event and fields), children included. */
function recordingLogger(lines: { event: string; fields: LogFields }[] = [], base: LogFields = {}): Logger & { lines: typeof lines } {
  const line = (event: string, fields: LogFields = {}) => { lines.push({ event, fields: { ...base, ...fields } }); };
  return { lines, debug: line, info: line, warn: line, error: line, child: (fields) => recordingLogger(lines, { ...base, ...fields }) };
}

/** Each message cut into messages of one id: N messages for N objects. */
const oneIdEach = (messages: readonly UploadRequestedMessage[]) => messages.flatMap((m) => m.ids.map((id) => ({ ...m, ids: [id] })));
const postsTo = (w: World, tenant: string, mark: number) => postsSince(w, mark).filter((r) => r.tenant === tenant);

describe('rejections, throttling and concurrency on the queue path', () => {
  it('sends the others when one record gets a batch refused as a whole (400), and backs that one off, visible in status', async () => {
    const w = await start();
    const victim = w.members[2] ?? '';
    w.s365.faults.rejectBatchWith(victim, 'upserts[2].mail is not a mailbox');

    await w.upload(await w.sync());

    expect(heldB(w)).toEqual(new Set(w.members.filter((id) => id !== victim)));
    expect(await entryB(w, victim)).toMatchObject({ w: 1, f: 1, e: expect.stringContaining('is not a mailbox') });
    const b = (await readConnectorStatus(w.runtime, w.clock.now)).destinations.find((d) => d.destination === 'TenantB');
    expect(b).toMatchObject({ healthy: true, users: { failed: 1 } });
    expect(b?.failedObjects).toEqual([expect.objectContaining({ id: victim, failures: 1, lastError: expect.stringContaining('is not a mailbox') })]);

    // The next plan sends the one object again, not its batch; a second failure waits a minute, doubling.
    const retry = (await w.sync()).filter((m) => m.destination === 'TenantB');
    expect(retry.flatMap((m) => m.ids)).toEqual([victim]);
    await w.upload(retry);
    expect(await entryB(w, victim)).toMatchObject({ f: 2 });
    const backingOff = (await readConnectorStatus(w.runtime, w.clock.now)).destinations.find((d) => d.destination === 'TenantB');
    expect(backingOff?.failedObjects).toEqual([expect.objectContaining({ id: victim, failures: 2, nextAttemptAt: new Date(w.clock.now.getTime() + 60_000).toISOString() })]);
    w.clock.now = new Date(w.clock.now.getTime() + 30_000);
    expect((await w.sync()).filter((m) => m.destination === 'TenantB')).toEqual([]);
    w.clock.now = new Date(w.clock.now.getTime() + 31_000);
    w.s365.faults.clear();
    await w.upload((await w.sync()).filter((m) => m.destination === 'TenantB'));
    expect(heldB(w)).toEqual(new Set(w.members));
  });

  it('turns a destination answering 404 into a "rejected" state: N messages, no throw (no poison), one request, logged and in status', async () => {
    const w = await start();
    const forB = oneIdEach((await w.sync()).filter((m) => m.destination === 'TenantB'));
    expect(forB.length).toBeGreaterThanOrEqual(6);
    w.s365.faults.failNext(1_000, 404, { match: { tenant: 'TenantB' } });
    const logger = recordingLogger();
    const mark = w.s365.requests.length;

    for (const message of forB) {
      // A throw is what the host retries five times and then poisons.
      await expect(processUpload(message, { ...w.runtime.uploadDependencies(), ledger: w.ledger, logger, now: () => w.clock.now })).resolves.toBeDefined();
    }

    expect(postsTo(w, 'TenantB', mark)).toHaveLength(1);
    const health = await w.runtime.health.get('TenantB');
    expect(health).toMatchObject({ healthy: false, reason: 'rejected', lastError: expect.stringContaining('404') });
    expect(logger.lines.filter((l) => l.event === 'destination.rejected')).toEqual([
      expect.objectContaining({ fields: expect.objectContaining({ destination: 'TenantB', status: 404 }) }),
    ]);
    const b = (await readConnectorStatus(w.runtime, w.clock.now)).destinations.find((d) => d.destination === 'TenantB');
    expect(b).toMatchObject({ healthy: false, quarantineReason: 'rejected', state: expect.stringMatching(/^rejected: .*404/), quarantinedUntil: health?.retryAfter });
    // While rejected, the plan queues nothing for it; once the cause is fixed and the backoff ends, everything goes.
    expect((await w.sync()).filter((m) => m.destination === 'TenantB')).toEqual([]);
    w.s365.faults.clear();
    w.clock.now = new Date(Date.parse(health?.retryAfter ?? '') + 1_000);
    await w.upload(await w.sync());
    expect(heldB(w)).toEqual(new Set(w.members));
    expect(await w.runtime.health.get('TenantB')).toMatchObject({ healthy: true, reason: null });
  });

  it('waits out a long Retry-After on 429 in the ledger, without quarantining the destination', async () => {
    const w = await start();
    const messages = await w.sync();
    w.s365.faults.throttle(1_000, 600, { tenant: 'TenantB' });
    const mark = w.s365.requests.length;

    await w.upload(messages);

    // No in-request wait of 10 minutes: one request per message, then the work waits in the ledger.
    expect(postsTo(w, 'TenantB', mark)).toHaveLength(messages.filter((m) => m.destination === 'TenantB').length);
    expect((await w.runtime.health.get('TenantB'))?.healthy ?? true).toBe(true);
    const entry = await entryB(w, w.members[0] ?? '');
    expect(Date.parse(entry?.r ?? '') - w.clock.now.getTime()).toBeGreaterThanOrEqual(590_000);
    expect(heldA(w).size).toBeGreaterThan(0);

    w.clock.now = new Date(w.clock.now.getTime() + 300_000);
    expect((await w.sync()).filter((m) => m.destination === 'TenantB')).toEqual([]);
    w.s365.faults.clear();
    w.clock.now = new Date(w.clock.now.getTime() + 301_000);
    await w.upload(await w.sync());
    expect(heldB(w)).toEqual(new Set(w.members));
  });

  it('keeps at most UPLOAD_CONCURRENCY_PER_DESTINATION batches in flight to one destination from one process', async () => {
    const w = await start({}, { ...process.env, UPLOAD_CONCURRENCY_PER_DESTINATION: '2' });
    const forA = oneIdEach((await w.sync()).filter((m) => m.destination === 'TenantA' && m.kind === 'users'));
    expect(forA.length).toBeGreaterThanOrEqual(6);
    w.s365.faults.slow(1_000, 100, { tenant: 'TenantA' });
    w.s365.resetConcurrency();

    // As a Functions worker or `serve` runs several queue messages at once.
    await Promise.all(forA.map((message) => processUpload(message, { ...w.runtime.uploadDependencies(), ledger: w.ledger, now: () => w.clock.now })));

    expect(w.s365.concurrency('TenantA').max).toBe(2);
    expect(heldA(w).size).toBe(forA.length);
    // Six workers wrote their acknowledgements at once: none was lost (same-bucket races are driven step by step in ledgerInterleavings.test.ts).
    const entries = await ledgerEntries(w.runtime.ledger, 'TenantA', 'Default', 'users');
    for (const { ids: [id] } of forA) expect(entries.get(id ?? '')).toMatchObject({ a: expect.any(String), w: 1 });
    expect((await w.sync()).filter((m) => m.destination === 'TenantA' && m.kind === 'users')).toEqual([]);
  });

  it('refuses an UPLOAD_CONCURRENCY_PER_DESTINATION that is not a whole number from 1 to 64, naming the setting', async () => {
    await expect(start({}, { ...process.env, UPLOAD_CONCURRENCY_PER_DESTINATION: 'eight' })).rejects.toThrow(/UPLOAD_CONCURRENCY_PER_DESTINATION: "eight" must be a whole number from 1 to 64/);
  });
});

describe('the ledger on the in-process path', () => {
  it('records a destination answering 404 as rejected and finishes the run (one request, the other destination served)', async () => {
    const w = await start();
    w.s365.faults.failNext(1_000, 404, { match: { tenant: 'TenantB' } });
    const mark = w.s365.requests.length;

    const summary = await w.syncInProcess();

    expect(summary.plans.flatMap((plan) => plan.uploads?.quarantinedDestinations ?? [])).toEqual([{ destination: 'TenantB', reason: 'rejected' }]);
    expect(postsTo(w, 'TenantB', mark)).toHaveLength(1);
    expect(await w.runtime.health.get('TenantB')).toMatchObject({ healthy: false, reason: 'rejected' });
    expect(heldA(w).size).toBe(w.members.length + 1);
  });

  it('defers the rest of a destination\'s work past a long Retry-After, without quarantining it', async () => {
    const w = await start();
    w.s365.faults.throttle(1_000, 900, { tenant: 'TenantB' });

    const summary = await w.syncInProcess();

    expect(summary.plans.flatMap((plan) => plan.uploads?.quarantinedDestinations ?? [])).toEqual([{ destination: 'TenantB', reason: 'throttled' }]);
    expect((await w.runtime.health.get('TenantB'))?.healthy ?? true).toBe(true);
    expect(Date.parse((await entryB(w, w.members[0] ?? ''))?.r ?? '') - w.clock.now.getTime()).toBeGreaterThanOrEqual(890_000);
    w.s365.faults.clear();
    w.clock.now = new Date(w.clock.now.getTime() + 901_000);
    await w.syncInProcess();
    expect(heldB(w)).toEqual(new Set(w.members));
  });

  it('retries a rejected object with no change pulled: at the next run, then after a backoff', async () => {
    const w = await start();
    const victim = w.members[3] ?? '';
    w.s365.faults.rejectItem(victim, 'mail is not a valid address');
    await w.syncInProcess();
    expect(await entryB(w, victim)).toMatchObject({ f: 1, w: 1, e: expect.stringContaining('mail is not a valid address') });

    // The first failure is tried again by the next run, though nothing changed in Entra ID.
    let mark = w.s365.requests.length;
    const retry = await w.syncInProcess();
    expect(retry.plans[0]?.mode).toBe('changes');
    expect(postsSince(w, mark).filter((r) => r.tenant === 'TenantB').map((r) => r.upserts)).toEqual([1]);
    expect(await entryB(w, victim)).toMatchObject({ f: 2 });

    // The second failure waits a minute: a run at 30 seconds sends nothing, one at 61 seconds does.
    w.clock.now = new Date(w.clock.now.getTime() + 30_000);
    mark = w.s365.requests.length;
    await w.syncInProcess();
    expect(postsSince(w, mark)).toEqual([]);
    w.s365.faults.clear();
    w.clock.now = new Date(w.clock.now.getTime() + 31_000);
    await w.syncInProcess();
    expect(heldB(w).has(victim)).toBe(true);
    const landed = await entryB(w, victim);
    expect(landed?.a).toEqual(expect.any(String));
    expect(landed?.f).toBeUndefined();
  });

  it('deletes a user who left scope once the grace period ends, with no change pulled in between', async () => {
    // No full reconcile within the test's two days: only the ledger can make anything happen.
    const w = await start({ DeleteAfterDays: 2, FullReconcileHours: 720 });
    await w.syncInProcess();
    const leaver = w.members[4] ?? '';
    w.tenant.removeMember(w.team, leaver);
    await w.syncInProcess();
    expect(heldB(w).has(leaver)).toBe(true);

    w.clock.now = new Date(w.clock.now.getTime() + 2 * DAY_IN_MS + 1_000);
    const mark = w.s365.requests.length;
    const due = await w.syncInProcess();
    expect(due.pulls[0]?.users).toMatchObject({ added: 0, changed: 0, removed: 0 });
    expect(due.plans[0]).toMatchObject({ mode: 'changes', evaluated: { users: 1 } });
    expect(postsSince(w, mark).filter((r) => r.tenant === 'TenantB').map((r) => r.deletes)).toEqual([1]);
    expect(heldB(w).has(leaver)).toBe(false);
  });

  it('takes a user back who returns within the grace period, sending nothing to the tenant that kept them', async () => {
    const w = await start();
    await w.syncInProcess();
    const returning = w.members[0] ?? '';
    w.tenant.removeMember(w.team, returning);
    await w.syncInProcess();
    const waiting = await entryB(w, returning);
    expect(waiting?.l).toEqual(expect.any(String));

    w.tenant.addMember(w.team, returning);
    const mark = w.s365.requests.length;
    await w.syncInProcess();
    expect(postsSince(w, mark).filter((r) => r.tenant === 'TenantB')).toEqual([]);
    expect(await entryB(w, returning)).toEqual({ a: waiting?.a, b: waiting?.b, fp: waiting?.fp, t: waiting?.t, w: 1 });
  });
});
