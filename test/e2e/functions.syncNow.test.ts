/**
 * POST /api/sync-now → pull-requests queue → pullWorker → uploads queue → uploadWorker, through
 * the real handlers; and a run full of failures whose every output is searched for secrets.
 */
import { describe, expect, it } from 'vitest';
import { pullRequestedMessage, uploadRequestedMessage } from '../../src/sync/messages';
import { FakeTenant } from '../fakes/graph';
import { closeAfterEachTest, everythingCaptured, expectDestinationsToMatch, expectNoSecrets, startConnectorHarness } from '../support/connectorHarness';
import type { RawMapping } from '../support/expectedDestinations';
import { ledgerEntries } from '../support/ledgerView';

/** Each test's harness: checked for leaked secrets and closed after the test. */
const current = closeAfterEachTest();

async function start() {
  const tenant = new FakeTenant({ seed: 31, domain: 'contoso.example' });
  const { groupIds } = tenant.generate({ users: 40, groups: 6, nestingDepth: 3, seed: 31 });
  const harness = await startConnectorHarness({ tenant });
  const mappings: RawMapping[] = [
    { From: 'EntraId:Default', To: 'Signature365:TenantA', LimitToGroups: [groupIds[0] ?? ''] },
    { From: 'EntraId:Default', To: 'Signature365:TenantB' },
  ];
  harness.configure(mappings);
  current.track(harness);
  return { harness, tenant, mappings };
}

describe('syncNow', () => {
  it.each([
    ['{"full": "yes"}', 'full'],
    ['{"source": "Default", "fulll": true}', 'fulll'],
    ['{"source": "Nowhere"}', 'source'],
    ['{"source": 42}', 'source'],
    ['{not json', 'body'],
  ])('answers 400 naming the field for %s and queues nothing', async (body, field) => {
    const { harness } = await start();
    const response = await harness.syncNow(body);
    expect(response.status).toBe(400);
    expect((response.jsonBody as { error: string }).error).toContain(field);
    expect(await harness.peek('pull-requests')).toEqual([]);
  });

  it('answers 202 with a run id, queues a pull, and the pull and its uploads bring the destinations in line', async () => {
    const { harness, mappings } = await start();
    const response = await harness.syncNow('{"full": true, "source": "Default"}');
    expect(response.status).toBe(202);
    const { runId } = response.jsonBody as { runId: string };

    const queued = await harness.peek('pull-requests');
    expect(queued).toHaveLength(1);
    expect(pullRequestedMessage.parse(queued[0])).toMatchObject({ runId, full: true, source: 'Default', reason: 'syncNow' });
    expect(await harness.peek('uploads')).toEqual([]);

    expect(await harness.drainPulls()).toEqual({ completed: 1, failed: 0, poisoned: 0 });
    const uploads = await harness.peek('uploads');
    expect(uploads.length).toBeGreaterThan(0);
    for (const message of uploads) expect(uploadRequestedMessage.parse(message).runId).toBe(runId);

    expect((await harness.drainUploads()).failed).toBe(0);
    expectDestinationsToMatch(harness, mappings);
  });

  it('carries a source and destinations named as the vendor writes them ("Head Office", "Contoso Ltd") through the queues by their storage keys', async () => {
    const tenant = new FakeTenant({ seed: 32, domain: 'contoso.example' });
    const { groupIds } = tenant.generate({ users: 20, groups: 4, seed: 32 });
    const harness = await startConnectorHarness({ tenant, destinations: ['Contoso Ltd', 'fabrikam.com'], source: 'Head Office' });
    current.track(harness);
    const mappings: RawMapping[] = [
      { From: 'EntraId:Head Office', To: 'Signature365:Contoso Ltd' },
      { From: 'EntraId:Head Office', To: 'Signature365:fabrikam.com', LimitToGroups: [groupIds[0] ?? ''] },
    ];
    harness.configure(mappings);

    // Asked for by the name as written; queued by its key.
    expect((await harness.syncNow('{"full": true, "source": "Head Office"}')).status).toBe(202);
    expect(await harness.peek('pull-requests')).toEqual([expect.objectContaining({ type: 'pull', source: 'Head_Office.84efe5d2e45a' })]);
    expect(await harness.drainPulls()).toEqual({ completed: 1, failed: 0, poisoned: 0 });
    const destinations = new Set((await harness.peek('uploads')).map((message) => uploadRequestedMessage.parse(message).destination));
    expect(destinations).toContain('Contoso_Ltd.ecd4de449791');

    expect((await harness.drainUploads()).failed).toBe(0);
    expectDestinationsToMatch(harness, mappings);
    // Log lines carry the key as `destination` and, for the upload worker and the planner, the name as written.
    const namedLines = harness.capture.logs.filter((line) => line.includes('"destinationName":"Contoso Ltd"'));
    expect(namedLines.length).toBeGreaterThan(0);
    expect(namedLines.every((line) => line.includes('"destination":"Contoso_Ltd.ecd4de449791"'))).toBe(true);
  });

  it('answers 202 to an empty body (an incremental pull of every source)', async () => {
    const { harness } = await start();
    const response = await harness.syncNow('');
    expect(response).toMatchObject({ status: 202, jsonBody: { full: false, source: null } });
    expect(await harness.peek('pull-requests')).toEqual([expect.objectContaining({ type: 'pull', full: false })]);
  });
});

describe('secrets', () => {
  it('never lets a token or the client secret out: not in logs, queue messages, thrown errors, the ledger or the health table', async () => {
    const { harness, tenant } = await start();
    const victim = tenant.activeUsers().find((u) => u.accountEnabled && u.userType === 'Member')?.id ?? '';
    harness.s365.faults.failNext(20, 401, { match: { tenant: 'TenantA' } });
    harness.s365.faults.rejectItem(victim, `rejected; token was ${harness.tokens.TenantB ?? ''}`);
    await harness.syncAndUpload();
    // A 422 now makes the destination "rejected" (issue 16): injected after the first uploads, so
    // TenantB still received (and refused) the victim's record above, with the token in its reason.
    harness.s365.faults.failNext(1, 422, { match: { tenant: 'TenantB' } });
    tenant.updateUser(victim, { jobTitle: 'Changed after the rejection' });
    await harness.syncAndUpload();

    // A pull that fails at the token endpoint: syncTimer throws, and its message is searched too.
    harness.graph.revokeAccessTokens();
    harness.graph.faults.add({ target: 'token', status: 401, times: 10 });
    await expect(harness.runTimer()).rejects.toThrow(/Run .* failed for: Default/);

    const ledgerErrors: string[] = [];
    for (const destination of ['TenantA', 'TenantB']) {
      for (const kind of ['users', 'groups'] as const) {
        for (const entry of (await ledgerEntries(harness.ledger, destination, 'Default', kind)).values()) if (entry.e !== undefined) ledgerErrors.push(entry.e);
      }
    }
    const healthErrors = [(await harness.health.get('TenantA'))?.lastError ?? ''];
    // The failures happened and were recorded, so the search below had something to search.
    expect(healthErrors[0]).not.toBe('');
    expect(ledgerErrors.some((e) => e.includes('rejected'))).toBe(true);
    // Destination refusals are states now, not throws (issue 16): the failed timer run is what throws.
    expect(harness.capture.errors.length).toBeGreaterThanOrEqual(1);
    expect(harness.capture.logs.length).toBeGreaterThan(10);
    expectNoSecrets(harness, [...everythingCaptured(harness), ...ledgerErrors, ...healthErrors]);
  });
});
