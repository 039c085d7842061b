/**
 * Pausing and resuming mappings end to end: the Functions run in-process (timer, upload worker on the
 * real queues) against the fake Entra tenant, fake Signature 365 tenants and the test Azurite; the
 * CLI runs in-process for pause, resume, status and deletions. A paused pair is sent nothing and
 * loses nothing (no deletions), the other destination keeps receiving, and one run after the resume
 * brings the paused destination to what the directory says.
 */
import { HttpRequest, InvocationContext, type HttpResponseInit } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { pausesAdmin } from '../../functions/pausesAdmin';
import { TableAuditStore } from '../../src/store/auditStore';
import { bucketOfId } from '../../src/sync/bucketOf';
import type { ConnectorStatus } from '../../src/sync/status';
import { FakeTenant } from '../fakes/graph';
import { runCliInProcess, type InProcessCliResult } from '../support/inProcessCli';
import { batchesSince, closeAfterEachTest, type ConnectorHarness, expectDestinationsToMatch, heldUsers, startConnectorHarness } from '../support/connectorHarness';
import type { RawMapping } from '../support/expectedDestinations';

/** Deletions at once: a paused pair that lost users would show it in the same run. */
const OPTIONS = { DeleteAfterDays: 0 };

/** Each test's harness: checked for leaked secrets and closed after the test. */
const current = closeAfterEachTest();

function cli(...args: string[]): Promise<InProcessCliResult> {
  return runCliInProcess(args);
}

/**
 * 12 users in Sales, 4 in Support, 4 in neither. Mappings[0]: everyone to TenantA; Mappings[1] and
 * Mappings[2]: Sales and Support to TenantB (one pair, two mappings).
 */
async function start() {
  const tenant = new FakeTenant({ seed: 18, domain: 'fabrikam.example' });
  const sales = tenant.addGroup({ displayName: 'Sales' }).id;
  const support = tenant.addGroup({ displayName: 'Support' }).id;
  const salesUsers = Array.from({ length: 12 }, () => tenant.addUser().id);
  const supportUsers = Array.from({ length: 4 }, () => tenant.addUser().id);
  for (let i = 0; i < 4; i += 1) tenant.addUser();
  for (const id of salesUsers) tenant.addMember(sales, id);
  for (const id of supportUsers) tenant.addMember(support, id);
  const harness = await startConnectorHarness({ tenant });
  current.track(harness);
  const mappings: RawMapping[] = [
    { From: 'EntraId:Default', To: 'Signature365:TenantA' },
    { From: 'EntraId:Default', To: 'Signature365:TenantB', LimitToGroups: [sales] },
    { From: 'EntraId:Default', To: 'Signature365:TenantB', LimitToGroups: [support] },
  ];
  harness.configure(mappings, OPTIONS);
  await harness.syncAndUpload();
  expectDestinationsToMatch(harness, mappings, OPTIONS);
  expect(heldUsers(harness, 'TenantB').size).toBe(16);
  return { harness, tenant, sales, support, salesUsers, supportUsers, mappings };
}

async function pausesHttp(method: 'GET' | 'POST', body?: unknown): Promise<HttpResponseInit> {
  const request = new HttpRequest({
    method, url: 'http://localhost:7071/api/pauses', ...(body === undefined ? {} : { body: { string: JSON.stringify(body) }, headers: { 'content-type': 'application/json' } }),
  });
  return pausesAdmin(request, new InvocationContext({ invocationId: 'pause-test', functionName: 'pausesAdmin', logHandler: () => undefined }));
}

function postsTo(harness: ConnectorHarness, since: number, destination: string) {
  return batchesSince(harness, since).filter((request) => request.tenant === destination);
}

describe('pause and resume', () => {
  it('sends a paused pair nothing and deletes nothing there, keeps the other destination current, and converges in one run after the resume', async () => {
    const { harness, tenant, sales, salesUsers, supportUsers, mappings } = await start();

    const paused = await cli('pause', '--mapping', '1', '--reason', 'tenant migration');
    expect(paused.err).toBe('');
    expect(paused.code).toBe(0);
    expect(paused.out).toContain('Paused EntraId:Default -> Signature365:TenantB (Mappings[1], Mappings[2])');
    expect(paused.out).toContain('pausing Mappings[1] pauses all of them');
    expect((await cli('pause', '--mapping', '2')).out).toContain('Already paused: EntraId:Default -> Signature365:TenantB');

    // While paused: a rename, a newcomer, a user leaving Sales (out of scope at TenantB) and one deleted.
    const renamed = salesUsers[0] ?? '';
    const leaver = salesUsers[1] ?? '';
    const deleted = supportUsers[0] ?? '';
    tenant.updateUser(renamed, { jobTitle: 'Head of Sales' });
    const newcomer = tenant.addUser().id;
    tenant.addMember(sales, newcomer);
    tenant.removeMember(sales, leaver);
    tenant.softDeleteUser(deleted);
    const heldBefore = heldUsers(harness, 'TenantB');

    let mark = harness.s365.requests.length;
    await harness.syncAndUpload();
    expect(postsTo(harness, mark, 'TenantB')).toEqual([]);
    expect(heldUsers(harness, 'TenantB')).toEqual(heldBefore);
    expect(heldUsers(harness, 'TenantA').get(renamed)?.jobTitle).toBe('Head of Sales');
    expect(heldUsers(harness, 'TenantA').has(newcomer)).toBe(true);
    expect(heldUsers(harness, 'TenantA').has(deleted)).toBe(false);
    expect(harness.capture.logs.join('\n')).toContain('plan.destinationPaused');

    // The reconcile leaves the pair alone too, and the CLI's summary says why nothing went there.
    mark = harness.s365.requests.length;
    const reconciled = await cli('sync', '--reconcile-destinations');
    expect(reconciled.code).toBe(0);
    expect(reconciled.out).toContain('Default -> TenantB: reconcile skipped: paused since');
    expect(reconciled.out).toMatch(/Default -> TenantB: PAUSED since \S+ by \S+ \(tenant migration\): nothing planned, sent or deleted; resume with: s365-connector resume --mapping 1/);
    expect(harness.s365.requests.slice(mark).filter((request) => request.tenant === 'TenantB')).toEqual([]);

    const statusJson = JSON.parse((await cli('status', '--json')).out) as ConnectorStatus;
    const pausedB = statusJson.destinations.find((d) => d.destination === 'TenantB');
    expect(pausedB?.paused).toMatchObject({ scope: 'pair', reason: 'tenant migration', via: 'cli', mappings: [1, 2] });
    expect(pausedB?.paused?.by.length).toBeGreaterThan(0);
    expect(Date.parse(pausedB?.paused?.since ?? '')).toBeGreaterThan(0);
    expect(statusJson.destinations.find((d) => d.destination === 'TenantA')?.paused).toBeNull();
    expect(statusJson.pauses).toEqual([expect.objectContaining({ scope: 'pair', source: 'Default', destination: 'TenantB', reason: 'tenant migration', configured: true })]);
    const statusText = (await cli('status')).out;
    expect(statusText).toMatch(/PAUSED \(Mappings\[1\], Mappings\[2\]\) since \S+ by \S+: tenant migration; nothing is planned, sent or deleted \(s365-connector resume --mapping 1\)/);

    const resumed = await cli('resume', '--mapping', '2');
    expect(resumed.code).toBe(0);
    expect(resumed.out).toContain('Resumed EntraId:Default -> Signature365:TenantB, paused since');
    expect((await cli('resume', '--mapping', '1')).out).toContain('Not paused: EntraId:Default -> Signature365:TenantB');

    await harness.syncAndUpload();
    expectDestinationsToMatch(harness, mappings, OPTIONS);
    expect(heldUsers(harness, 'TenantB').get(renamed)?.jobTitle).toBe('Head of Sales');
    expect(heldUsers(harness, 'TenantB').has(leaver)).toBe(false);
    expect(heldUsers(harness, 'TenantB').has(newcomer)).toBe(true);

    // Audited with who, how, when, which mappings and why; the deletions commands still read the table.
    const audit = await new TableAuditStore(harness.storage).list();
    expect(audit.map((entry) => entry.action)).toEqual(['mappings.resume', 'mappings.pause']);
    expect(audit[1]).toMatchObject({ action: 'mappings.pause', via: 'cli', pairs: [{ source: 'Default', destination: 'TenantB' }], mappings: [1, 2], reason: 'tenant migration' });
    expect(audit[0]).toMatchObject({ action: 'mappings.resume', via: 'cli', pairs: [{ source: 'Default', destination: 'TenantB' }], mappings: [1, 2] });
    expect(audit.every((entry) => entry.actor.length > 0 && Date.parse(entry.at) > 0)).toBe(true);
    expect((await cli('deletions', 'list')).out).toBe('No deletions are held.\n');
  });

  it('lets an upload message queued before the pause send nothing, and sends its work in the first run after the resume', async () => {
    const { harness, tenant, salesUsers, mappings } = await start();
    const renamed = salesUsers[2] ?? '';
    tenant.updateUser(renamed, { jobTitle: 'Queued before the pause' });
    await harness.runTimer();
    const queued = (await harness.peek('uploads')) as { destination: string; ids: string[] }[];
    expect(queued.some((message) => message.destination === 'TenantB' && message.ids.includes(renamed))).toBe(true);

    expect((await cli('pause', '--destination', 'TenantB')).code).toBe(0);
    const mark = harness.s365.requests.length;
    const drained = await harness.drainUploads();
    expect(drained.failed).toBe(0);
    expect(postsTo(harness, mark, 'TenantB')).toEqual([]);
    expect(heldUsers(harness, 'TenantA').get(renamed)?.jobTitle).toBe('Queued before the pause');
    expect(await harness.peek('uploads-poison')).toEqual([]);
    expect(harness.capture.logs.join('\n')).toContain('upload.paused');
    // Still owed, and due at once rather than after the 30-minute re-queue wait.
    const scope = { destination: 'TenantB', source: 'Default', kind: 'users' as const };
    const entry = (await harness.ledger.read(scope, [bucketOfId(renamed)])).buckets.get(bucketOfId(renamed))?.get(renamed);
    expect(entry?.q).toBeUndefined();
    expect(Date.parse(entry?.r ?? '')).toBeLessThanOrEqual(Date.now());
    expect(entry?.qh).toBeDefined();
    expect(entry?.a).not.toBe(entry?.qh);

    // Nothing goes while still paused, then the resume's first run sends it.
    await harness.syncAndUpload();
    expect(heldUsers(harness, 'TenantB').get(renamed)?.jobTitle).not.toBe('Queued before the pause');
    expect((await cli('resume', '--destination', 'TenantB')).code).toBe(0);
    await harness.syncAndUpload();
    expect(heldUsers(harness, 'TenantB').get(renamed)?.jobTitle).toBe('Queued before the pause');
    expectDestinationsToMatch(harness, mappings, OPTIONS);
  });

  it('pauses every mapping with --all, which only resume --all lifts', async () => {
    const { harness, tenant, sales, mappings } = await start();
    const paused = await cli('pause', '--all', '--reason', 'freeze');
    expect(paused.out).toContain('Paused every mapping (Mappings[0], Mappings[1], Mappings[2])');
    const newcomer = tenant.addUser().id;
    tenant.addMember(sales, newcomer);

    const mark = harness.s365.requests.length;
    await harness.syncAndUpload();
    const run = await cli('sync');
    expect(run.code).toBe(0);
    expect(run.out).toContain('Default -> TenantA: PAUSED since');
    expect(batchesSince(harness, mark)).toEqual([]);
    expect((await cli('status')).out).toMatch(/^EVERY MAPPING PAUSED since \S+ by \S+ \(cli\): freeze; nothing is planned, sent or deleted\. Resume with: s365-connector resume --all$/m);

    const refused = await cli('resume', '--mapping', '0');
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('a single mapping cannot be resumed under it. Lift it with: s365-connector resume --all');
    expect((await cli('resume', '--all')).code).toBe(0);
    await harness.syncAndUpload();
    expect(heldUsers(harness, 'TenantA').has(newcomer)).toBe(true);
    expectDestinationsToMatch(harness, mappings, OPTIONS);
    expect((await new TableAuditStore(harness.storage).list({ actions: ['mappings.pause', 'mappings.resume'] })).map((entry) => [entry.action, 'pairs' in entry ? entry.pairs : undefined]))
      .toEqual([['mappings.resume', 'all'], ['mappings.pause', 'all']]);
  });

  it('refuses a --mapping that is not a Mappings index, naming the flag and the range, and pauses nothing', async () => {
    const harness = await startConnectorHarness();
    current.track(harness);
    harness.configure([
      { From: 'EntraId:Default', To: 'Signature365:TenantA' }, { From: 'EntraId:Default', To: 'Signature365:TenantB' }, { From: 'EntraId:Default', To: 'Signature365:TenantB' },
    ]);
    for (const value of ['3', 'TenantB']) {
      const refused = await cli('pause', '--mapping', value);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain(`--mapping: "${value}" is not a mapping; give a Mappings index from 0 to 2`);
    }
    expect((await cli('pause')).err).toContain('give exactly one of --mapping <index>, --destination <name> or --all');
    expect((JSON.parse((await cli('status', '--json')).out) as ConnectorStatus).pauses).toEqual([]);
    expect(await new TableAuditStore(harness.storage).list()).toEqual([]);
  });

  it('pauses and resumes through POST /api/pauses (admin key) as the CLI does, audited under the stated actor', async () => {
    const harness = await startConnectorHarness();
    current.track(harness);
    harness.configure([{ From: 'EntraId:Default', To: 'Signature365:TenantA' }, { From: 'EntraId:Default', To: 'Signature365:TenantB' }]);
    const bad = await pausesHttp('POST', { action: 'pause', mapping: 2, actor: 'dana' });
    expect(bad.status).toBe(400);
    expect((bad.jsonBody as { error: string }).error).toContain('mapping: "2" is not a mapping; give a Mappings index from 0 to 1');
    expect((await pausesHttp('POST', { action: 'pause', mapping: 1 })).status).toBe(400);

    const paused = await pausesHttp('POST', { action: 'pause', mapping: 1, reason: 'contract ends', actor: 'dana' });
    expect(paused.status).toBe(200);
    expect((await pausesHttp('GET')).jsonBody).toEqual({ pauses: [expect.objectContaining({ pair: { source: 'Default', destination: 'TenantB' }, pausedBy: 'dana', via: 'http', reason: 'contract ends' })] });
    expect((await pausesHttp('POST', { action: 'pause', all: true, actor: 'dana' })).status).toBe(200);
    expect((await pausesHttp('POST', { action: 'resume', mapping: 1, actor: 'dana' })).status).toBe(409);
    expect((await pausesHttp('POST', { action: 'resume', all: true, actor: 'erin' })).status).toBe(200);
    expect((await pausesHttp('GET')).jsonBody).toEqual({ pauses: [] });
    expect((await new TableAuditStore(harness.storage).list()).map((entry) => [entry.action, entry.actor, entry.via])).toEqual([
      ['mappings.resume', 'erin', 'http'], ['mappings.pause', 'dana', 'http'], ['mappings.pause', 'dana', 'http'],
    ]);
  });
});
