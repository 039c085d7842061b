/**
 * The reconcile against the destination on the queue path (`sync --queues --reconcile-destinations`,
 * the upload worker as the Functions host runs it): an orphan at the destination is deleted through
 * the gate, a missing and a changed user are queued and sent again, and a second reconcile queues
 * nothing. Functions run in-process against the fake tenants and the test Azurite.
 */
import { describe, expect, it } from 'vitest';
import { runCliInProcess, type InProcessCliResult } from '../support/inProcessCli';
import { FakeTenant } from '../fakes/graph';
import { batchesSince, closeAfterEachTest, expectDestinationsToMatch, heldUsers, startConnectorHarness } from '../support/connectorHarness';
import type { RawMapping } from '../support/expectedDestinations';

const ORPHAN_ID = 'fe000000-0000-4000-8000-0000000000a1';
const MAPPINGS: RawMapping[] = [{ From: 'EntraId:Default', To: 'Signature365:TenantA' }];

/** Each test's harness: checked for leaked secrets and closed after the test. */
const current = closeAfterEachTest();

function cli(...args: string[]): Promise<InProcessCliResult> {
  return runCliInProcess(args);
}

describe('sync --queues --reconcile-destinations', () => {
  it('queues the deletion of an orphan through the gate and the re-sends of a missing and a changed user; a second reconcile queues nothing', async () => {
    const tenant = new FakeTenant({ seed: 9, domain: 'contoso.example' });
    for (let i = 0; i < 20; i += 1) tenant.addUser();
    const harness = await startConnectorHarness({ tenant, destinations: ['TenantA'] });
    current.track(harness);
    harness.configure(MAPPINGS, { DeleteAfterDays: 0 });
    await harness.syncAndUpload();
    expectDestinationsToMatch(harness, MAPPINGS);

    const fake = harness.s365.tenant('TenantA');
    const users = fake.users(harness.sourceId);
    const [missing, drifted, template] = users;
    if (missing === undefined || drifted === undefined || template === undefined) throw new Error('the first sync sent fewer than 3 users');
    fake.clear();
    fake.seed(harness.sourceId, {
      users: [
        ...users.filter((user) => user.id !== missing.id).map((user) => (user.id === drifted.id ? { ...user, jobTitle: 'Changed at the destination' } : user)),
        { ...template, id: ORPHAN_ID, displayName: 'Orphan' },
      ],
    });

    const reconciled = await cli('sync', '--queues', '--reconcile-destinations');
    expect({ code: reconciled.code, err: reconciled.err }).toEqual({ code: 0, err: '' });
    expect(reconciled.out).toContain('Default -> TenantA: reconcile: users 20 held: 1 unknown (1 to the deletion gate), 1 missing and 1 changed (sent again), 0 already gone');
    const mark = harness.s365.requests.length;
    const drained = await harness.drainUploads();
    expect(drained.failed).toBe(0);
    expect(heldUsers(harness, 'TenantA').has(ORPHAN_ID)).toBe(false);
    expect(heldUsers(harness, 'TenantA').get(drifted.id)?.jobTitle).not.toBe('Changed at the destination');
    expectDestinationsToMatch(harness, MAPPINGS);
    expect(batchesSince(harness, mark).reduce((sum, r) => sum + r.deletes, 0)).toBe(1);

    const again = await cli('sync', '--queues', '--reconcile-destinations');
    expect(again.code).toBe(0);
    expect(again.out).toContain('Default -> TenantA: reconcile: users 20 held, all as recorded');
    expect(await harness.peek('uploads')).toEqual([]);
  });
});
