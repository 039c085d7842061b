/**
 * GET /api/status through the real handler: what an administrator sees after a sync in which one
 * destination rejected an item and another rejected its token.
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { status } from '../../functions/status';
import type { ConnectorStatus } from '../../src/sync/status';
import { FakeTenant } from '../fakes/graph';
import { closeAfterEachTest, heldUsers, startConnectorHarness } from '../support/connectorHarness';

/** Each test's harness: checked for leaked secrets and closed after the test. */
const current = closeAfterEachTest();

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
    current.track(harness);
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

describe('the status endpoint: warnings an administrator must act on', () => {
  it("reads the client secret's end date from the app registration, warns in the run's log and in status, and names a refused token", async () => {
    const tenant = new FakeTenant({ seed: 62, domain: 'contoso.example' });
    tenant.generate({ users: 10, groups: 2, seed: 62 });
    const harness = await startConnectorHarness({ tenant, graphPermissions: ['User.Read.All', 'GroupMember.Read.All', 'Application.Read.All'] });
    current.track(harness);
    const endsAt = new Date(Date.now() + 10 * 86_400_000 + 3_600_000).toISOString();
    // Another secret of the same registration, valid for long: only the configured one counts.
    tenant.addClientSecret({ appId: harness.graph.clientId, secret: 'zzz-other-secret', endDateTime: '2099-01-01T00:00:00Z', displayName: 'old' });
    tenant.addClientSecret({ appId: harness.graph.clientId, secret: harness.clientSecret, endDateTime: endsAt, displayName: 'connector 2026' });
    harness.configure([{ From: 'EntraId:Default', To: 'Signature365:TenantA' }, { From: 'EntraId:Default', To: 'Signature365:TenantB' }]);
    harness.s365.faults.failNext(50, 401, { match: { tenant: 'TenantB' } });
    await harness.syncAndUpload();
    await harness.syncAndUpload();

    const expiring = harness.capture.logs.filter((line) => line.includes('"credential.expiring"'));
    expect(expiring.length).toBeGreaterThanOrEqual(2);
    expect(expiring[0]).toContain(`"expiresAt":"${endsAt}"`);
    // Read once, then remembered: the second run asked Graph nothing about it.
    expect(harness.graph.requests.filter((r) => r.target === 'applications')).toHaveLength(1);

    const { body, parsed } = await readStatus();
    expect(parsed.sources[0]?.credential).toMatchObject({ kind: 'clientSecret', level: 'expiring', expiresAt: endsAt, daysLeft: 10 });
    expect(parsed.sources[0]?.credential.detail).toContain('the client secret "connector 2026" expires on');
    expect(parsed.warnings).toEqual([
      expect.stringMatching(/^EntraId:Default: the client secret "connector 2026" expires on .* \(10 days left\)/),
      expect.stringMatching(/^Signature365:TenantB: the integration token was refused \(401\/403\)/),
    ]);
    expect(body).not.toContain(harness.clientSecret.slice(3));
  });
});
