/**
 * GET /api/status through the real handler: what an administrator sees after a sync in which one
 * destination rejected an item and another rejected its token.
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import { afterEach, describe, expect, it } from 'vitest';
import { status } from '../../functions/status';
import type { ConnectorStatus } from '../../src/sync/status';
import { FakeTenant } from '../fakes/graph';
import { everythingCaptured, expectNoSecrets, heldUsers, startConnectorHarness, type ConnectorHarness } from '../support/connectorHarness';

let current: ConnectorHarness | undefined;
afterEach(async () => {
  if (current !== undefined) expectNoSecrets(current, everythingCaptured(current));
  await current?.close();
  current = undefined;
});

async function readStatus(): Promise<{ body: string; parsed: ConnectorStatus }> {
  const response = await status(
    new HttpRequest({ method: 'GET', url: 'http://localhost/api/status' }),
    new InvocationContext({ invocationId: 'status-test', functionName: 'status' }),
  );
  expect(response.status).toBe(200);
  if (typeof response.body !== 'string') throw new Error('the status endpoint answers a JSON string');
  const body = response.body;
  return { body, parsed: JSON.parse(body) as ConnectorStatus };
}

describe('the status endpoint', () => {
  it('shows the rounds, what each destination holds, the object it rejected and the destination in quarantine, and no secret', async () => {
    const tenant = new FakeTenant({ seed: 61, domain: 'contoso.example' });
    tenant.generate({ users: 60, groups: 5, seed: 61 });
    const harness = await startConnectorHarness({ tenant });
    current = harness;
    harness.configure([
      { From: 'EntraId:Default', To: 'Signature365:TenantA' },
      { From: 'EntraId:Default', To: 'Signature365:TenantB' },
    ]);
    const rejected = tenant.activeUsers().find((u) => u.accountEnabled && u.userType === 'Member')?.id ?? '';
    harness.s365.faults.rejectItem(rejected, 'mail domain not verified');
    harness.s365.faults.failNext(50, 401, { match: { tenant: 'TenantB' } });
    await harness.syncAndUpload();

    const { body, parsed } = await readStatus();
    expect(parsed.sources).toEqual([
      expect.objectContaining({ source: 'Default', users: expect.objectContaining({ unfinished: null, lastFullRoundCompletedAt: expect.any(String) }) }),
    ]);
    const a = parsed.destinations.find((d) => d.destination === 'TenantA');
    const b = parsed.destinations.find((d) => d.destination === 'TenantB');
    expect(a).toMatchObject({ healthy: true, users: { held: heldUsers(harness, 'TenantA').size, owed: 1, failed: 1 } });
    expect(a?.failedObjects).toEqual([{ kind: 'users', id: rejected, failures: 1, lastError: expect.stringContaining('mail domain not verified'), nextAttemptAt: expect.any(String) }]);
    expect(b).toMatchObject({ healthy: false, quarantineReason: 'unauthorized', state: expect.stringMatching(/^unauthorized: /), quarantinedUntil: expect.any(String), users: { held: 0 } });
    // The queues and their poison queues: drained, nothing poisoned (refusals quarantine, they do not throw).
    expect(parsed.queues).toContainEqual({ queue: 'uploads', messages: 0, poisonMessages: 0 });
    expect(b?.users.owed).toBeGreaterThan(0);
    for (const token of Object.values(harness.tokens)) expect(body).not.toContain(token);
  });
});
