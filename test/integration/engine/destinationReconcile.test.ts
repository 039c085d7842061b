/**
 * The reconcile against the destination (src/sync/destinationReconcile.ts), run as the CLI runs it
 * (pull, reconcile, plan, in-process uploads) on Azurite with the fake Graph and Signature 365.
 * After a clean first sync the fake destination is tampered with: an orphan (a user the ledger does
 * not know) is added, a user the ledger says is acknowledged is removed, and one is changed. The
 * reconcile must put the orphan through the deletion gate (deleted, held over the threshold, or
 * waiting out the grace period), send the missing and the changed user again, and a second
 * reconcile must find nothing and send nothing. A destination in quarantine is not asked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TableDestinationHealthStore } from '../../../src/store/destinationHealthStore';
import type { KindReconcileCounts } from '../../../src/sync/destinationReconcile';
import { FakeTenant, startFakeGraph, type FakeGraph } from '../../fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../../fakes/signature365';
import { SECRET_SETTING, TOKEN_SETTING, configForFakes, newSecrets } from '../../support/cliConfig';
import type { RawMapping } from '../../support/expectedDestinations';
import { destinationDifferences } from '../../support/faultRuns';
import { inProcessConnector, type InProcessConnector } from '../../support/inProcessSync';
import { ledgerEntry } from '../../support/ledgerView';
import { isolatedStorage } from '../../support/storage';

const USERS = 40;
const DESTINATION = 'Tenant1';
const MAPPINGS: RawMapping[] = [{ From: 'EntraId:Default', To: `Signature365:${DESTINATION}`, LimitToGroups: [] }];
const ORPHAN_ID = 'fe000000-0000-4000-8000-00000000dead';
const { clientSecret, token } = newSecrets();
const LIST_PATHS = ['/api/directory/v1/users', '/api/directory/v1/groups'];

let graph: FakeGraph;
let s365: FakeSignature365;

beforeAll(async () => {
  const tenant = new FakeTenant({ seed: 16 });
  // No guests or disabled accounts: every user is in scope, so each one the fake lacks is owed.
  tenant.generate({ users: USERS, groups: 6, seed: 16, guestShare: 0, disabledShare: 0 });
  graph = await startFakeGraph({ tenant, clientSecret });
  s365 = await startFakeSignature365({ tenants: [{ name: DESTINATION, token, tenantId: '5a1e5000-0000-4000-8000-0000000016d0' }] });
});
afterAll(async () => {
  await Promise.all([graph?.close(), s365?.close()]);
});

interface Tampered {
  connector: InProcessConnector;
  missingId: string;
  driftedId: string;
}

/** A clean first sync, then the destination loses one user, holds one changed, and holds an orphan. */
async function syncedThenTampered(options: Record<string, unknown>): Promise<Tampered> {
  const fake = s365.tenant(DESTINATION);
  fake.clear();
  const connector = await inProcessConnector(
    { ...configForFakes(graph, s365.endpoint, DESTINATION), Options: options },
    { [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token },
    isolatedStorage(),
  );
  const first = await connector.sync();
  expect(first.summary.failures).toEqual([]);
  expect(destinationDifferences(graph.tenant, s365, graph.tenantId, MAPPINGS)).toEqual([]);

  const users = fake.users(graph.tenantId);
  const groups = fake.groups(graph.tenantId);
  const [missing, drifted, template] = users;
  if (missing === undefined || drifted === undefined || template === undefined) throw new Error('the first sync sent fewer than 3 users');
  fake.clear();
  fake.seed(graph.tenantId, {
    groups,
    users: [
      ...users.filter((user) => user.id !== missing.id).map((user) => (user.id === drifted.id ? { ...user, jobTitle: 'Changed at the destination' } : user)),
      { ...template, id: ORPHAN_ID, userPrincipalName: 'orphan@example.test', displayName: 'Orphan', groups: [] },
    ],
  });
  return { connector, missingId: missing.id, driftedId: drifted.id };
}

function usersFound(counts: Partial<KindReconcileCounts>): KindReconcileCounts {
  return { held: USERS, unknownHeld: 0, toGate: 0, missing: 0, drifted: 0, gone: 0, inFlight: 0, ...counts };
}

function requestsSince(mark: number) {
  return s365.requests.slice(mark).map((request) => `${request.method} ${request.path}`);
}

describe('sync --reconcile-destinations', () => {
  it('deletes an orphan through the gate, sends the missing and the changed user again, and then finds nothing', async () => {
    const { connector, missingId, driftedId } = await syncedThenTampered({ DeleteAfterDays: 0 });
    const mark = s365.requests.length;

    const run = await connector.sync({ reconcileDestinations: true });
    expect(run.summary.failures).toEqual([]);
    expect(s365.tenant(DESTINATION).user(graph.tenantId, ORPHAN_ID)).toBeUndefined();
    const [reconcile] = run.summary.reconciles;
    expect(reconcile?.wholePlanRequested).toBe(true);
    expect(reconcile?.destinations.map((d) => ({ destination: d.destination, users: d.users, skipped: d.skippedBecause }))).toEqual([
      { destination: DESTINATION, users: usersFound({ unknownHeld: 1, toGate: 1, missing: 1, drifted: 1 }), skipped: undefined },
    ]);
    const users = run.summary.plans[0]?.destinations[0]?.users;
    expect({ gate: users?.gate, deletes: users?.deletes, upserts: users?.upserts }).toEqual({ gate: 'ok', deletes: 1, upserts: 2 });
    expect(s365.tenant(DESTINATION).user(graph.tenantId, missingId)).toBeDefined();
    expect(s365.tenant(DESTINATION).user(graph.tenantId, driftedId)?.jobTitle).not.toBe('Changed at the destination');
    expect(destinationDifferences(graph.tenant, s365, graph.tenantId, MAPPINGS)).toEqual([]);
    // One list call per destination, source and kind.
    expect(requestsSince(mark).filter((request) => request.startsWith('GET ')).sort()).toEqual(LIST_PATHS.map((path) => `GET ${path}`).sort());
    // The orphan's deletion counts against the rolling 24-hour cap like any other.
    expect(await ledgerEntry(connector.ledger, DESTINATION, 'Default', 'users', ORPHAN_ID)).toBeUndefined();

    const again = s365.requests.length;
    const second = await connector.sync({ reconcileDestinations: true });
    expect(second.summary.failures).toEqual([]);
    expect(second.summary.reconciles[0]?.destinations[0]?.users).toEqual(usersFound({}));
    expect(second.summary.reconciles[0]?.wholePlanRequested).toBe(false);
    expect(second.summary.plans[0]?.mode).toBe('idle');
    expect(requestsSince(again).sort()).toEqual(LIST_PATHS.map((path) => `GET ${path}`).sort());
  });

  it('holds the orphan when its deletion is over the threshold, and still sends the missing and the changed user', async () => {
    const { connector, missingId } = await syncedThenTampered({ DeleteAfterDays: 0, DeleteThreshold: 0 });

    const run = await connector.sync({ reconcileDestinations: true });
    expect(run.summary.failures).toEqual([]);
    expect(run.summary.reconciles[0]?.destinations[0]?.users).toEqual(usersFound({ unknownHeld: 1, toGate: 1, missing: 1, drifted: 1 }));
    const users = run.summary.plans[0]?.destinations[0]?.users;
    expect({ gate: users?.gate, deletes: users?.deletes, held: users?.heldDeletes, upserts: users?.upserts }).toEqual({ gate: 'held', deletes: 0, held: 1, upserts: 2 });
    expect(s365.tenant(DESTINATION).user(graph.tenantId, ORPHAN_ID)).toBeDefined();
    expect(s365.tenant(DESTINATION).user(graph.tenantId, missingId)).toBeDefined();
    expect(destinationDifferences(graph.tenant, s365, graph.tenantId, MAPPINGS)).toEqual([`${DESTINATION}: user ${ORPHAN_ID} should not be there`]);

    // Recorded as held and pending deletion: the next reconcile agrees with the ledger and the hold stands.
    const second = await connector.sync({ reconcileDestinations: true });
    expect(second.summary.reconciles[0]?.destinations[0]?.users).toEqual(usersFound({ held: USERS + 1 }));
    expect(s365.tenant(DESTINATION).user(graph.tenantId, ORPHAN_ID)).toBeDefined();
  });

  it('lets an orphan wait out the grace period (DeleteAfterDays) like any object that left scope', async () => {
    const { connector } = await syncedThenTampered({ DeleteAfterDays: 7 });
    const run = await connector.sync({ reconcileDestinations: true });
    expect(run.summary.failures).toEqual([]);
    const users = run.summary.plans[0]?.destinations[0]?.users;
    expect({ deletes: users?.deletes, waiting: users?.waitingDeletes, upserts: users?.upserts }).toEqual({ deletes: 0, waiting: 1, upserts: 2 });
    expect(s365.tenant(DESTINATION).user(graph.tenantId, ORPHAN_ID)).toBeDefined();
    expect((await ledgerEntry(connector.ledger, DESTINATION, 'Default', 'users', ORPHAN_ID))?.l).toEqual(expect.any(String));
  });

  it('runs with a full round (--full) too', async () => {
    const { connector } = await syncedThenTampered({ DeleteAfterDays: 0 });
    const run = await connector.sync({ forceFull: true });
    expect(run.summary.failures).toEqual([]);
    expect(run.summary.reconciles[0]?.destinations[0]?.users).toEqual(usersFound({ unknownHeld: 1, toGate: 1, missing: 1, drifted: 1 }));
    expect(destinationDifferences(graph.tenant, s365, graph.tenantId, MAPPINGS)).toEqual([]);
  });

  it('changes nothing under --dry-run', async () => {
    const { connector } = await syncedThenTampered({ DeleteAfterDays: 0 });
    const mark = s365.requests.length;
    const run = await connector.sync({ reconcileDestinations: true, dryRun: true });
    expect(run.summary.failures).toEqual([]);
    expect(run.summary.reconciles[0]?.destinations[0]?.users).toEqual(usersFound({ unknownHeld: 1, toGate: 1, missing: 1, drifted: 1 }));
    expect(run.summary.reconciles[0]?.wholePlanRequested).toBe(false);
    expect(requestsSince(mark).every((request) => request.startsWith('GET '))).toBe(true);
    expect(await ledgerEntry(connector.ledger, DESTINATION, 'Default', 'users', ORPHAN_ID)).toBeUndefined();
  });

  it('changes nothing when the listing breaks the contract part-way, and fails the run saying so', async () => {
    const { connector } = await syncedThenTampered({ DeleteAfterDays: 0 });
    const fake = s365.tenant(DESTINATION);
    const [template] = fake.users(graph.tenantId);
    const { mail: _dropped, ...broken } = template ?? { id: 'none' };
    fake.seed(graph.tenantId, { users: [{ ...broken, id: 'ff000000-0000-4000-8000-0000000000bb' }] });

    const run = await connector.sync({ reconcileDestinations: true });
    expect(run.summary.failures.map((failure) => [failure.stage, failure.error.message])).toEqual([
      ['reconcile', expect.stringMatching(/^Tenant1: .*breaks the directory API contract \(value\.\d+\.mail: /) as unknown],
    ]);
    expect(run.summary.reconciles[0]?.wholePlanRequested).toBe(false);
    expect(fake.user(graph.tenantId, ORPHAN_ID)).toBeDefined();
    expect(await ledgerEntry(connector.ledger, DESTINATION, 'Default', 'users', ORPHAN_ID)).toBeUndefined();
  });

  it('quarantines a destination that refuses the listing (401), as an upload would, and sends it nothing', async () => {
    const { connector } = await syncedThenTampered({ DeleteAfterDays: 0 });
    s365.faults.failNext(1, 401, { match: { method: 'GET' } });
    const mark = s365.requests.length;

    const run = await connector.sync({ reconcileDestinations: true });
    expect(run.summary.failures).toEqual([]);
    expect(run.summary.reconciles[0]?.destinations[0]?.skippedBecause).toMatch(/^quarantined until .*401/);
    const health = new TableDestinationHealthStore(connector.storage);
    expect(await health.get(DESTINATION)).toMatchObject({ healthy: false, consecutiveFailures: 1 });
    // Groups are listed first; after the 401 nothing else goes to the destination in this run.
    expect(requestsSince(mark)).toEqual([`GET ${LIST_PATHS[1] ?? ''}`]);
  });

  it('asks no destination anything on a --full --dry-run (the reconcile only runs there when asked for)', async () => {
    const { connector } = await syncedThenTampered({ DeleteAfterDays: 0 });
    const mark = s365.requests.length;
    const run = await connector.sync({ forceFull: true, dryRun: true });
    expect(run.summary.failures).toEqual([]);
    expect(run.summary.reconciles).toEqual([]);
    expect(requestsSince(mark)).toEqual([]);
  });

  it('skips a source whose TenantId another source shares: each would take the other\'s objects for orphans', async () => {
    s365.tenant(DESTINATION).clear();
    const raw = configForFakes(graph, s365.endpoint, DESTINATION) as { EntraId: Record<string, unknown> };
    const connector = await inProcessConnector(
      { ...raw, EntraId: { ...raw.EntraId, Second: raw.EntraId.Default }, Options: { DeleteAfterDays: 0 } },
      { [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token },
      isolatedStorage(),
    );
    s365.tenant(DESTINATION).seed(graph.tenantId, { users: [{ id: ORPHAN_ID, displayName: 'Orphan' }] });
    const mark = s365.requests.length;

    const run = await connector.sync({ reconcileDestinations: true });
    expect(run.summary.reconciles.map((r) => [r.source, r.skippedBecause])).toEqual([
      ['Default', expect.stringContaining('EntraId.Second has the same TenantId') as unknown],
      ['Second', expect.stringContaining('EntraId.Default has the same TenantId') as unknown],
    ]);
    expect(requestsSince(mark).filter((request) => request.startsWith('GET '))).toEqual([]);
    expect(s365.tenant(DESTINATION).user(graph.tenantId, ORPHAN_ID)).toBeDefined();
  });

  it('skips a destination in quarantine without asking it', async () => {
    const { connector } = await syncedThenTampered({ DeleteAfterDays: 0 });
    const health = new TableDestinationHealthStore(connector.storage);
    await health.initialize();
    const retryAfter = new Date(Date.now() + 3_600_000).toISOString();
    await health.put({ destination: DESTINATION, healthy: false, retryAfter, consecutiveFailures: 1, lastError: 'HTTP 401 (test)', changedAt: new Date().toISOString() });
    const mark = s365.requests.length;

    const run = await connector.sync({ reconcileDestinations: true });
    expect(run.summary.failures).toEqual([]);
    const [destination] = run.summary.reconciles[0]?.destinations ?? [];
    expect(destination?.skippedBecause).toContain(retryAfter);
    expect(destination?.users).toBeUndefined();
    expect(requestsSince(mark)).toEqual([]);
    expect(s365.tenant(DESTINATION).user(graph.tenantId, ORPHAN_ID)).toBeDefined();
  });
});
