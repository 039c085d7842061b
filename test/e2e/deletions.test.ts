/**
 * The deletion gate end to end: config changes that shrink a scope, the threshold, holds that let
 * additions and updates through, approval through the admin endpoint and the CLI (audited), dry
 * runs that touch nothing, a destination gone from the config, and an invalid config. Functions
 * run in-process against the fake Entra tenant, fake Signature 365 tenants and the test Azurite.
 */
import { HttpRequest, InvocationContext, type HttpResponseInit } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { deletionsAdmin } from '../../functions/deletionsAdmin';
import { TableAuditStore } from '../../src/store/auditStore';
import { TableDeletionStateStore } from '../../src/store/deletionStore';
import { createTableClient } from '../../src/store/storageAccount';
import { runCliInProcess, type InProcessCliResult } from '../support/inProcessCli';
import { FakeTenant } from '../fakes/graph';
import { batchesSince, closeAfterEachTest, type ConnectorHarness, expectDestinationsToMatch, heldUsers, startConnectorHarness } from '../support/connectorHarness';
import type { RawMapping } from '../support/expectedDestinations';

/** Deletions at once, so the threshold is the only thing that can stop them. */
const OPTIONS = { DeleteAfterDays: 0 };

/**
 * 30 users in Sales, 4 in Support, 6 in neither. TenantA takes the whole source (40 users); TenantB
 * takes Sales and Support (34 users): its threshold is max(10, 20% of 34) = 10.
 */
async function start() {
  const tenant = new FakeTenant({ seed: 5, domain: 'fabrikam.example' });
  const sales = tenant.addGroup({ displayName: 'Sales' }).id;
  const support = tenant.addGroup({ displayName: 'Support' }).id;
  const salesUsers = Array.from({ length: 30 }, () => tenant.addUser().id);
  const supportUsers = Array.from({ length: 4 }, () => tenant.addUser().id);
  for (let i = 0; i < 6; i += 1) tenant.addUser();
  for (const id of salesUsers) tenant.addMember(sales, id);
  for (const id of supportUsers) tenant.addMember(support, id);
  const harness = await startConnectorHarness({ tenant });
  current.track(harness);
  const mappings = (limitB: string[]): RawMapping[] => [
    { From: 'EntraId:Default', To: 'Signature365:TenantA' },
    { From: 'EntraId:Default', To: 'Signature365:TenantB', LimitToGroups: limitB },
  ];
  harness.configure(mappings([sales, support]), OPTIONS);
  await harness.syncAndUpload();
  expect(heldUsers(harness, 'TenantB').size).toBe(34);
  return { harness, tenant, sales, support, salesUsers, supportUsers, mappings };
}

/** Each test's harness: checked for leaked secrets and closed after the test. */
const current = closeAfterEachTest();

function context(): InvocationContext {
  return new InvocationContext({ invocationId: 'admin-test', functionName: 'deletionsAdmin', logHandler: () => undefined });
}

async function adminGet(): Promise<HttpResponseInit> {
  return deletionsAdmin(new HttpRequest({ method: 'GET', url: 'http://localhost:7071/api/deletions' }), context());
}

async function adminPost(body: unknown): Promise<HttpResponseInit> {
  const request = new HttpRequest({
    method: 'POST', url: 'http://localhost:7071/api/deletions', body: { string: JSON.stringify(body) }, headers: { 'content-type': 'application/json' },
  });
  return deletionsAdmin(request, context());
}

interface ListedHold {
  destination: string;
  source: string;
  kind: string;
  holdId: string;
  held: number;
  destinationSize: number;
  threshold: number | null;
  reason: string;
  staged: { id: string; name: string | null }[];
}

function holdsOf(response: HttpResponseInit): ListedHold[] {
  return (response.jsonBody as { holds: ListedHold[] }).holds;
}

/** The CLI in-process with the harness's app settings (storage, prefix, CONNECTOR_CONFIG). */
function cli(...args: string[]): Promise<InProcessCliResult> {
  return runCliInProcess(args);
}

/** ETag per row of a table: any write, even of identical content, changes it. */
async function etags(harness: ConnectorHarness, table: string): Promise<Map<string, string>> {
  const client = createTableClient(harness.storage, table);
  const out = new Map<string, string>();
  for await (const entity of client.listEntities()) out.set(`${entity.partitionKey}/${entity.rowKey}`, entity.etag);
  return out;
}

describe('the deletion gate, end to end', () => {
  it('holds the deletions of a group removed from a mapping, lists them, and lets them through once approved (audited)', async () => {
    const { harness, sales, support, salesUsers, mappings } = await start();
    harness.configure(mappings([support]), OPTIONS);
    let mark = harness.s365.requests.length;
    await harness.syncAndUpload();
    expect(batchesSince(harness, mark).filter((r) => r.tenant === 'TenantB' && r.deletes > 0 && r.path.includes('/users/'))).toEqual([]);
    expect(heldUsers(harness, 'TenantB').size).toBe(34);
    expect(harness.capture.logs.join('\n')).toContain('deletions.held');

    const listed = holdsOf(await adminGet());
    expect(listed).toHaveLength(1);
    const [hold] = listed;
    expect(hold).toMatchObject({ destination: 'TenantB', source: 'Default', kind: 'users', held: 30, destinationSize: 34, threshold: 10 });
    expect(hold?.reason).toContain('would exceed the threshold of 10');
    expect(hold?.staged.map((s) => s.id).sort()).toEqual([...salesUsers].sort());
    expect(hold?.staged.every((s) => s.name?.endsWith('@fabrikam.example'))).toBe(true);

    expect((await adminPost({ destination: 'TenantB', source: 'Default', kind: 'users', holdId: 'stale', approvedBy: 'alice' })).status).toBe(409);
    expect((await adminPost({ destination: 'TenantB', source: 'Default', kind: 'users' })).status).toBe(400);
    expect((await adminPost({ destination: 'TenantA', source: 'Default', kind: 'users', holdId: 'x', approvedBy: 'alice' })).status).toBe(404);
    const approved = await adminPost({ destination: 'TenantB', source: 'Default', kind: 'users', holdId: hold?.holdId, approvedBy: 'alice@fabrikam.example' });
    expect(approved.status).toBe(200);
    const audit = await new TableAuditStore(harness.storage).list();
    expect(audit).toEqual([expect.objectContaining({
      action: 'deletions.approve', actor: 'alice@fabrikam.example', via: 'http', destination: 'TenantB', source: 'Default', kind: 'users', holdId: hold?.holdId, count: 30,
    })]);

    mark = harness.s365.requests.length;
    await harness.syncAndUpload();
    expect(batchesSince(harness, mark).filter((r) => r.tenant === 'TenantB').reduce((sum, r) => sum + r.deletes, 0)).toBe(30);
    expectDestinationsToMatch(harness, mappings([support]), OPTIONS);
    expect(holdsOf(await adminGet())).toEqual([]);
    // Counted for the rolling 24-hour cap: the next removal this day starts from 30 already gone.
    const executed = await new TableDeletionStateStore(harness.storage).countExecutedSince('TenantB', 'Default', 'users', new Date(Date.now() - 3_600_000));
    expect(executed).toBe(30);
    expect(harness.s365.tenant('TenantB').group(harness.sourceId, sales)).toBeUndefined();
  });

  it('lets a removal below the threshold through without approval', async () => {
    const { harness, sales, mappings } = await start();
    harness.configure(mappings([sales]), OPTIONS);
    await harness.syncAndUpload();
    expect(heldUsers(harness, 'TenantB').size).toBe(30);
    expectDestinationsToMatch(harness, mappings([sales]), OPTIONS);
    expect(holdsOf(await adminGet())).toEqual([]);
  });

  it('still sends an attribute change to a destination whose deletions are held', async () => {
    const { harness, tenant, support, supportUsers, mappings } = await start();
    harness.configure(mappings([support]), OPTIONS);
    const promoted = supportUsers[0] ?? '';
    tenant.updateUser(promoted, { jobTitle: 'Head of Support' });
    await harness.syncAndUpload();
    expect(holdsOf(await adminGet()).map((h) => [h.destination, h.kind, h.held])).toEqual([['TenantB', 'users', 30]]);
    expect(heldUsers(harness, 'TenantB').get(promoted)?.jobTitle).toBe('Head of Support');
    expect(heldUsers(harness, 'TenantB').size).toBe(34);
  });

  it('clears a hold by itself when the cause goes away', async () => {
    const { harness, sales, support, mappings } = await start();
    harness.configure(mappings([support]), OPTIONS);
    await harness.syncAndUpload();
    expect(holdsOf(await adminGet())).toHaveLength(1);
    harness.configure(mappings([sales, support]), OPTIONS);
    await harness.syncAndUpload();
    expect(holdsOf(await adminGet())).toEqual([]);
    expect(heldUsers(harness, 'TenantB').size).toBe(34);
  });

  it('stages everything a destination holds when its mapping is removed, holds it, and deletes it once approved from the CLI', async () => {
    const { harness, mappings } = await start();
    harness.configure(mappings([]).slice(0, 1), OPTIONS);
    const held = await cli('sync');
    expect(held.code).toBe(0);
    expect(held.out).toContain('Default -> TenantB (no mapping from this source any more)');
    expect(held.out).toContain('users: deletions HELD: 34 of 34 (threshold 10); approve with: s365-connector deletions approve --destination TenantB');
    expect(heldUsers(harness, 'TenantB').size).toBe(34);

    const listed = await cli('deletions', 'list');
    expect(listed.out).toContain('TenantB <- Default users: 34 deletions HELD of 34');
    const approved = await cli('deletions', 'approve', '--destination', 'TenantB');
    expect(approved.code).toBe(0);
    expect(approved.out).toContain('Approved by');
    const [entry] = await new TableAuditStore(harness.storage).list();
    expect(entry).toMatchObject({ via: 'cli', destination: 'TenantB', count: 34 });
    expect(entry?.actor.length).toBeGreaterThan(0);

    await cli('sync');
    expect(heldUsers(harness, 'TenantB').size).toBe(0);
  });

  it('makes no destination call, no ledger write and no queue message under sync --dry-run, and prints the plan', async () => {
    const { harness, tenant, support, supportUsers, mappings } = await start();
    harness.configure(mappings([support]), OPTIONS);
    tenant.updateUser(supportUsers[0] ?? '', { jobTitle: 'Head of Support' });
    const ledgerBefore = await etags(harness, 'Ledger');
    const deletionsBefore = await etags(harness, 'Deletions');
    const mark = harness.s365.requests.length;

    const result = await cli('sync', '--dry-run');
    expect(result.code).toBe(0);
    expect(harness.s365.requests.length).toBe(mark);
    expect(await etags(harness, 'Ledger')).toEqual(ledgerBefore);
    expect(await etags(harness, 'Deletions')).toEqual(deletionsBefore);
    expect(await harness.peek('uploads')).toEqual([]);
    expect(result.out).toContain('Default -> TenantB [dry run]: users would send 1, would delete 0, 3 unchanged');
    expect(result.out).toMatch(/users to send: user\d+@fabrikam\.example/);
    expect(result.out).toContain('users: deletions WOULD BE HELD: 30 of 34 (threshold 10)');
    expect(result.out).toContain('Dry run: nothing was recorded, queued or sent.');
  });

  it('reports a destination removed from the config as unreachable and does not fail the run', async () => {
    const { harness, mappings } = await start();
    const config = JSON.parse(process.env.CONNECTOR_CONFIG ?? '{}') as { Signature365: Record<string, unknown>; Mappings: RawMapping[] };
    delete config.Signature365.TenantB;
    config.Mappings = mappings([]).slice(0, 1);
    process.env.CONNECTOR_CONFIG = JSON.stringify(config);
    const mark = harness.s365.requests.length;

    await harness.runTimer();
    expect(harness.capture.logs.join('\n')).toContain('destination.unreachable');
    const result = await cli('sync');
    expect(result.code).toBe(0);
    expect(result.out).toContain('Default -> TenantB: UNREACHABLE, no longer in the configuration; it still holds 34 users and 2 groups');
    expect(batchesSince(harness, mark).filter((r) => r.tenant === 'TenantB')).toEqual([]);
  });

  it('deletes nothing when the config is invalid: the run stops before planning', async () => {
    const { harness, mappings } = await start();
    harness.configure(mappings([]).slice(0, 1), { ...OPTIONS, DeleteThreshold: 'lots' });
    const mark = harness.s365.requests.length;
    await expect(harness.runTimer()).rejects.toThrow(/Options\.DeleteThreshold/);
    expect(await harness.peek('uploads')).toEqual([]);
    expect(batchesSince(harness, mark)).toEqual([]);
    expect(heldUsers(harness, 'TenantB').size).toBe(34);
  });
});
