/**
 * planSourceUploads and processUpload over the real upload ledger (Azurite) and the fake servers,
 * with the clock in the test's hand: grace periods and quarantines that take days or minutes in
 * production are crossed by moving `now`.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/config/resolve';
import { createRuntime, type ConnectorRuntime } from '../../../src/setup/runtime';
import { silentLogger } from '../../../src/sync/logger';
import type { UploadRequestedMessage } from '../../../src/sync/messages';
import type { UploadDispatcher, UploadKind, UploadRow, UploadStateStore } from '../../../src/sync/ports';
import { processUpload } from '../../../src/sync/processUpload';
import { runSync } from '../../../src/sync/runSync';
import { FakeTenant, startFakeGraph, type FakeGraph } from '../../fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../../fakes/signature365';
import { isolatedStorage } from '../../support/storage';

const DAY_IN_MS = 86_400_000;

/** Stands in for the Storage queue: durable, so the planner marks what it dispatches. */
class RecordingDispatcher implements UploadDispatcher {
  readonly durable = true;
  messages: UploadRequestedMessage[] = [];
  dispatch(message: Omit<UploadRequestedMessage, 'v' | 'type'>): Promise<void> {
    this.messages.push({ v: 1, type: 'upload', ...message });
    return Promise.resolve();
  }
  take(): UploadRequestedMessage[] {
    const taken = this.messages;
    this.messages = [];
    return taken;
  }
}

/** The runtime's ledger, counting the rows each put writes; `afterNextGet` runs once, between a read and its answer. */
class CountingLedger implements UploadStateStore {
  rowsWritten = 0;
  afterNextGet: (() => Promise<void>) | undefined;
  constructor(private readonly inner: UploadStateStore) {}
  initialize(): Promise<void> { return this.inner.initialize(); }
  list(destination: string, source: string, kind: UploadKind): AsyncIterable<UploadRow[]> { return this.inner.list(destination, source, kind); }
  async get(destination: string, source: string, kind: UploadKind, ids: readonly string[]): Promise<Map<string, UploadRow>> {
    const rows = await this.inner.get(destination, source, kind, ids);
    const hook = this.afterNextGet;
    this.afterNextGet = undefined;
    await hook?.();
    return rows;
  }
  put(destination: string, source: string, kind: UploadKind, rows: readonly UploadRow[]): Promise<void> {
    this.rowsWritten += rows.length;
    return this.inner.put(destination, source, kind, rows);
  }
}

interface World {
  graph: FakeGraph;
  s365: FakeSignature365;
  tenant: FakeTenant;
  runtime: ConnectorRuntime;
  ledger: CountingLedger;
  dispatcher: RecordingDispatcher;
  clock: { now: Date };
  team: string;
  members: string[];
  sync(): Promise<UploadRequestedMessage[]>;
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
async function start(options: { DeleteAfterDays?: number } = {}): Promise<World> {
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
  const runtime = await createRuntime({ config, logger: silentLogger, storage: isolatedStorage(), destinations: { retryDelayInMs: 50 } });
  const ledger = new CountingLedger(runtime.ledger);
  const dispatcher = new RecordingDispatcher();
  const clock = { now: new Date() };
  const now = () => clock.now;
  world = {
    graph, s365, tenant, runtime, ledger, dispatcher, clock, team, members,
    async sync() {
      const summary = await runSync({ ...runtime.syncDependencies(dispatcher), ledger, now }, { runId: `run-${randomBytes(3).toString('hex')}`, holder: 'test' });
      expect(summary.failures).toEqual([]);
      return dispatcher.take();
    },
    async upload(messages) {
      for (const message of messages) await processUpload(message, { ...runtime.uploadDependencies(), ledger, now });
    },
  };
  return world;
}

const heldB = (w: World) => new Set(w.s365.tenant('TenantB').users(w.graph.tenantId).map((u) => u.id));
const row = async (w: World, destination: string, id: string) => (await w.runtime.ledger.get(destination, 'Default', 'users', [id])).get(id);

describe('upload ledger', () => {
  it('writes no ledger row and dispatches nothing when a plan finds nothing changed', async () => {
    const w = await start();
    await w.upload(await w.sync());
    w.ledger.rowsWritten = 0;
    expect(await w.sync()).toEqual([]);
    expect(w.ledger.rowsWritten).toBe(0);
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
    // The plan of "Second" runs after the upload of "First" read its rows, before it records the answer.
    w.ledger.afterNextGet = async () => { second = (await w.sync()).filter((m) => m.destination === 'TenantB'); };
    await w.upload(first);
    expect(second).toHaveLength(1);
    await w.upload(second);
    expect(w.s365.tenant('TenantB').user(w.graph.tenantId, id)?.jobTitle).toBe('Second');
  });

  it('deletes a user who left scope only once DeleteAfterDays 7 have passed', async () => {
    const w = await start();
    await w.upload(await w.sync());
    const leaver = w.members[1] ?? '';
    w.tenant.removeMember(w.team, leaver);
    const leftAt = w.clock.now;
    await w.upload(await w.sync());
    expect(heldB(w).has(leaver)).toBe(true);
    expect((await row(w, 'TenantB', leaver))?.leftScopeAt).toBe(leftAt.toISOString());

    w.clock.now = new Date(leftAt.getTime() + 6 * DAY_IN_MS);
    expect((await w.sync()).filter((m) => m.destination === 'TenantB')).toEqual([]);

    w.clock.now = new Date(leftAt.getTime() + 7 * DAY_IN_MS);
    const due = await w.sync();
    expect(due).toEqual([expect.objectContaining({ destination: 'TenantB', kind: 'users', ids: [leaver] })]);
    await w.upload(due);
    expect(heldB(w).has(leaver)).toBe(false);
    expect(await row(w, 'TenantB', leaver)).toMatchObject({ ackHash: null, desiredHash: null, deleteApproved: false, leftScopeAt: null });
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

    // Lost or poisoned: half an hour later the ledger still owes them, so they are queued again.
    w.clock.now = new Date(w.clock.now.getTime() + 30 * 60_000);
    const again = (await w.sync()).filter((m) => m.destination === 'TenantB');
    expect(again.filter((m) => m.kind === 'users').flatMap((m) => m.ids).sort()).toEqual([...w.members].sort());
    await w.upload(again);
    expect(heldB(w)).toEqual(new Set(w.members));
  });

  it('drops a message for a destination no longer in the config, without throwing', async () => {
    const w = await start();
    const [message] = await w.sync();
    if (message === undefined) throw new Error('the first sync dispatched nothing');
    const mark = w.s365.requests.length;
    await w.upload([{ ...message, destination: 'Retired' }]);
    expect(w.s365.requests.length).toBe(mark);
  });
});
