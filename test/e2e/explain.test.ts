/**
 * `explain` against a synced connector: the Functions app's handlers in-process (connectorHarness),
 * the answer read through GET /api/explain, the CLI (in-process) and serve's HTTP front. Each case
 * is asserted on the JSON answer.
 *
 * Tenant: All staff ⊃ EMEA ⊃ Sales. Sales holds alice (department Sales), bob (Engineering; his
 * mail differs from his UPN), a guest and carol. Mappings[0] takes All staff to TenantA with a
 * Filter on department; Mappings[1] takes Sales to TenantB. Every deletion needs approval
 * (DeleteThreshold 0) and none waits (DeleteAfterDays 0), so carol leaving Sales is held.
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { explain, explainRegistration } from '../../functions/explain';
import { startServeHttp } from '../../src/serve/httpServer';
import { explainDependencies } from '../../src/setup/explainDependencies';
import { getProcessLogger } from '../../src/setup/invocationLogger';
import { getWorkerRuntime } from '../../src/setup/workerRuntime';
import { TableDeletionStateStore } from '../../src/store/deletionStore';
import { explainUser, type ExplainAnswer, type SourceExplanation } from '../../src/sync/explain';
import { silentLogger } from '../../src/sync/logger';
import { FakeTenant } from '../fakes/graph';
import { closeAfterEachTest, expectNoSecrets, startConnectorHarness } from '../support/connectorHarness';
import type { RawMapping, RawOptions } from '../support/expectedDestinations';
import { runCliInProcess } from '../support/inProcessCli';

/** Each test's harness: checked for leaked secrets and closed after the test. */
const current = closeAfterEachTest();

function tenantWithNesting() {
  const tenant = new FakeTenant({ seed: 18, domain: 'contoso.example' });
  const all = tenant.addGroup({ displayName: 'All staff' });
  const emea = tenant.addGroup({ displayName: 'EMEA' });
  const sales = tenant.addGroup({ displayName: 'Sales' });
  tenant.addMember(all.id, emea.id);
  tenant.addMember(emea.id, sales.id);
  const manager = tenant.addUser({ userPrincipalName: 'mia@contoso.example', department: 'Sales' });
  const alice = tenant.addUser({ userPrincipalName: 'alice@contoso.example', department: 'Sales', jobTitle: 'Rep', managerId: manager.id });
  const bob = tenant.addUser({ userPrincipalName: 'bob@contoso.example', mail: 'robert.b@contoso.example', department: 'Engineering' });
  const guest = tenant.addUser({ userPrincipalName: 'gail_fabrikam.example#EXT#@contoso.example', userType: 'Guest', department: 'Sales' });
  const carol = tenant.addUser({ userPrincipalName: 'carol@contoso.example', department: 'Sales' });
  for (const member of [alice, bob, guest, carol]) tenant.addMember(sales.id, member.id);
  tenant.addMember(all.id, manager.id);
  return { tenant, all, emea, sales, manager, alice, bob, guest, carol };
}

const mappingsOf = (ids: { all: string; sales: string }): RawMapping[] => [
  { From: 'EntraId:Default', To: 'Signature365:TenantA', LimitToGroups: [ids.all], Filter: "department eq 'Sales'" },
  { From: 'EntraId:Default', To: 'Signature365:TenantB', LimitToGroups: [ids.sales] },
];
const OPTIONS: RawOptions = { DeleteAfterDays: 0, DeleteThreshold: 0 };

async function askFunctions(user: string): Promise<{ status: number; body: string; answer: ExplainAnswer }> {
  const response = await explain(
    new HttpRequest({ method: 'GET', url: `http://localhost/api/explain?user=${encodeURIComponent(user)}` }),
    new InvocationContext({ invocationId: 'explain-test', functionName: 'explain' }),
  );
  if (typeof response.body !== 'string') throw new Error('the explain endpoint answers a JSON string');
  return { status: response.status ?? 200, body: response.body, answer: JSON.parse(response.body) as ExplainAnswer };
}

function only(answer: ExplainAnswer): SourceExplanation {
  expect(answer.sources).toHaveLength(1);
  const [source] = answer.sources;
  if (source === undefined) throw new Error('no source');
  return source;
}

const withoutTime = (answer: ExplainAnswer) => ({ ...answer, at: '' });

describe('explain', () => {
  it('shows the nested group path, the filter, the guest rule, OnConflict both ways and a held deletion, by UPN, mail and id', async () => {
    const world = tenantWithNesting();
    const harness = await startConnectorHarness({ tenant: world.tenant });
    current.track(harness);
    harness.configure(mappingsOf({ all: world.all.id, sales: world.sales.id }), OPTIONS);
    await harness.syncAndUpload();

    // alice, by UPN through Graph: in scope of both mappings, Mappings[0] through three levels.
    const { status, body, answer: aliceAnswer } = await askFunctions('Alice@Contoso.example');
    expect(status).toBe(200);
    const alice = only(aliceAnswer);
    expect(alice.lookup).toEqual({ by: 'userPrincipalName', via: 'directory' });
    expect(alice.user.id).toBe(world.alice.id);
    expect(alice.mappings[0]).toMatchObject({ mapping: 'Mappings[0]', inScope: true, sends: true, filter: { matched: true } });
    expect(alice.mappings[0]?.candidateThrough).toEqual([expect.objectContaining({ text: 'Sales ⊂ EMEA ⊂ All staff (LimitToGroups)' })]);
    expect(alice.conflict).toMatchObject({ onConflict: 'All', sentTo: ['TenantA', 'TenantB'] });
    const atA = alice.destinations.find((d) => d.destination === 'TenantA');
    // The record as the destination holds it: the same one, manager and transitive groups included.
    const heldAtA = harness.s365.tenant('TenantA').user(harness.sourceId, world.alice.id);
    expect(atA).toMatchObject({ wanted: true, byMappings: [0], upToDate: true, next: 'nothing', difference: null });
    expect(atA?.wouldSend).toEqual(heldAtA);
    expect(atA?.wouldSend).toMatchObject({ manager: { id: world.manager.id }, groups: [world.all.id, world.emea.id, world.sales.id].sort() });
    expect(atA?.acknowledged?.hash).toBe(atA?.wouldSendHash);
    for (const token of Object.values(harness.tokens)) expect(body).not.toContain(token);

    // bob, by mail (not his UPN): Mappings[0]'s Filter keeps him out; Mappings[1] takes him.
    const bob = only((await askFunctions('robert.b@contoso.example')).answer);
    expect(bob.lookup).toEqual({ by: 'mail', via: 'directory' });
    expect(bob.mappings[0]).toMatchObject({ inScope: false, outcome: 'filter', filter: { text: "department eq 'Sales'", matched: false } });
    expect(bob.mappings[1]).toMatchObject({ inScope: true, sends: true });
    expect(bob.destinations.map((d) => [d.destination, d.wanted])).toEqual([['TenantB', true]]);

    // The guest, by object id: kept out of both by Options.IncludeGuests.
    const guest = only((await askFunctions(world.guest.id.toUpperCase())).answer);
    expect(guest.lookup).toEqual({ by: 'objectId', via: 'given' });
    expect(guest.mappings.map((m) => m.outcome)).toEqual(['guest', 'guest']);
    expect(guest.destinations).toEqual([]);

    // carol leaves Sales: every deletion needs approval, so hers is held at both destinations.
    world.tenant.removeMember(world.sales.id, world.carol.id);
    await harness.syncAndUpload();
    const carol = only((await askFunctions('carol@contoso.example')).answer);
    expect(carol.mappings.map((m) => m.outcome)).toEqual(['notCandidate', 'notCandidate']);
    const holds = new TableDeletionStateStore(harness.storage);
    const holdAtA = await holds.getHold('TenantA', 'Default', 'users');
    expect(holdAtA).toBeDefined();
    const carolAtA = carol.destinations.find((d) => d.destination === 'TenantA');
    expect(carolAtA).toMatchObject({ wanted: false, wouldSend: null, next: 'deleteAfterGrace', pending: { deletion: { graceOver: true, held: { holdId: holdAtA?.holdId } } } });
    expect(carolAtA?.acknowledged).not.toBeNull();

    // OnConflict FirstMapping: alice goes to TenantA only; TenantB's copy becomes a (held) deletion.
    harness.configure(mappingsOf({ all: world.all.id, sales: world.sales.id }), { ...OPTIONS, OnConflict: 'FirstMapping' });
    await harness.syncAndUpload();
    const first = only((await askFunctions(world.alice.id)).answer);
    expect(first.conflict).toMatchObject({ onConflict: 'FirstMapping', sentTo: ['TenantA'], destinations: ['TenantA', 'TenantB'] });
    expect(first.mappings[1]).toMatchObject({ inScope: true, sends: false });
    expect(first.destinations.find((d) => d.destination === 'TenantB')).toMatchObject({ wanted: false, next: 'deleteAfterGrace', pending: { deletion: { held: expect.any(Object) } } });

    // A change pulled and queued but not acknowledged: the record to send differs, with its new value.
    world.tenant.updateUser(world.alice.id, { jobTitle: 'Lead' });
    await harness.runTimer();
    const queued = only((await askFunctions(world.alice.id)).answer).destinations.find((d) => d.destination === 'TenantA');
    expect(queued).toMatchObject({ upToDate: false, wouldSend: { jobTitle: 'Lead' }, pending: { queued: { ofCurrentRecord: true } } });
    expect(queued?.difference?.willSend).toMatchObject({ jobTitle: 'Lead' });
    await harness.drainUploads();
    const settled = only((await askFunctions(world.alice.id)).answer).destinations.find((d) => d.destination === 'TenantA');
    expect(settled).toMatchObject({ upToDate: true, next: 'nothing', pending: {} });

    // The CLI says the same, and its text names the path.
    const cli = await runCliInProcess(['explain', 'alice@contoso.example', '--json']);
    expect(cli.code).toBe(0);
    expect(withoutTime(JSON.parse(cli.out) as ExplainAnswer)).toEqual(withoutTime((await askFunctions('alice@contoso.example')).answer));
    const text = await runCliInProcess(['explain', 'alice@contoso.example']);
    expect(text.out).toContain('Sales ⊂ EMEA ⊂ All staff (LimitToGroups)');
    expect(text.out).toMatch(/Mappings\[1\] -> Signature365:TenantB: in scope, NOT SENT/);
    // A paused mapping is said, with who paused it and why.
    expect((await runCliInProcess(['pause', '--mapping', '0', '--reason', 'migration week'])).code).toBe(0);
    const paused = only((await askFunctions(world.alice.id)).answer).mappings.find((m) => m.index === 0);
    expect(paused?.paused).toMatchObject({ since: expect.any(String), reason: 'migration week' });
    expect(paused?.why.join(' ')).toContain('the mapping is paused since');
    expect((await runCliInProcess(['resume', '--mapping', '0'])).code).toBe(0);
    expectNoSecrets(harness, [body, cli.out, text.out, text.err]);
  });

  it('answers an unknown user with 404 and exit code 3, finds a UPN starting with $, and scans the mirror when Graph cannot be asked', async () => {
    const world = tenantWithNesting();
    // Graph reads /users/$… as a system segment: such a UPN is asked for as /users('$…').
    const service = world.tenant.addUser({ userPrincipalName: '$svc-print@contoso.example' });
    const harness = await startConnectorHarness({ tenant: world.tenant });
    current.track(harness);
    harness.configure(mappingsOf({ all: world.all.id, sales: world.sales.id }), OPTIONS);
    await harness.syncAndUpload();

    const dollar = only((await askFunctions('$svc-print@contoso.example')).answer);
    expect(dollar).toMatchObject({ user: { id: service.id }, lookup: { by: 'userPrincipalName', via: 'directory' } });
    expect(harness.graph.requests.filter((r) => r.target === 'userLookup').map((r) => r.path)).toContain("/v1.0/users('%24svc-print%40contoso.example')");

    const unknown = await askFunctions('nobody@contoso.example');
    expect(unknown.status).toBe(404);
    expect(unknown.answer).toMatchObject({ found: false, sources: [], notFound: [{ source: 'Default', detail: expect.stringMatching(/Graph has no user/) }] });
    const cli = await runCliInProcess(['explain', 'nobody@contoso.example']);
    expect(cli.code).toBe(3);
    expect(cli.out).toMatch(/nobody@contoso.example: not in EntraId:Default: Graph has no user with userPrincipalName or mail/);
    expect(cli.err).toBe('');
    const missing = await explain(new HttpRequest({ method: 'GET', url: 'http://localhost/api/explain' }), new InvocationContext({ invocationId: 'x', functionName: 'explain' }));
    expect(missing.status).toBe(400);

    // Graph refuses the lookup (500, not retried): the mirror is scanned, and the answer says so.
    harness.graph.faults.add({ target: 'userLookup', status: 500, times: 2 });
    const scanned = only((await askFunctions('robert.b@contoso.example')).answer);
    expect(scanned.user.id).toBe(world.bob.id);
    expect(scanned.lookup).toMatchObject({ by: 'mail', via: 'mirrorScan', note: expect.stringMatching(/the mirror was scanned instead \(\d+ users\)/) });
  });

  it('serves the same answer at serve\'s /api/explain, only with the API key', async () => {
    const world = tenantWithNesting();
    const harness = await startConnectorHarness({ tenant: world.tenant });
    current.track(harness);
    harness.configure(mappingsOf({ all: world.all.id, sales: world.sales.id }), OPTIONS);
    await harness.syncAndUpload();
    // The Functions route needs the function key: the host enforces the registration's level.
    expect(explainRegistration.authLevel).toBe('function');

    const runtime = await getWorkerRuntime(getProcessLogger());
    const apiKey = 'explain-test-api-key-0123456789';
    const http = await startServeHttp({
      webhook: () => { throw new Error('no webhook in this test'); },
      status: () => Promise.resolve('{}'),
      dashboard: () => Promise.resolve({ headers: {}, body: '' }),
      audit: () => Promise.resolve({ status: 500, body: '{}' }),
      explain: async (user) => {
        const answer = await explainUser(explainDependencies(runtime), user);
        return { found: answer.found, body: JSON.stringify(answer) };
      },
      syncNow: () => Promise.resolve({ status: 202, body: {} }),
      apiKey, logger: silentLogger,
    }, 0, '127.0.0.1');
    try {
      const url = `http://127.0.0.1:${http.port}/api/explain?user=alice%40contoso.example`;
      expect((await fetch(url)).status).toBe(403);
      expect((await fetch(url, { headers: { 'x-api-key': 'wrong' } })).status).toBe(403);
      const response = await fetch(url, { headers: { 'x-api-key': apiKey } });
      expect(response.status).toBe(200);
      const served = (await response.json()) as ExplainAnswer;
      expect(withoutTime(served)).toEqual(withoutTime((await askFunctions('alice@contoso.example')).answer));
      expect(only(served).mappings[0]?.inScope).toBe(true);
    } finally {
      await http.close();
    }
  });
});
