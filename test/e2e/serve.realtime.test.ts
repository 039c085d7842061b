import { afterEach, describe, expect, it } from 'vitest';
import { eventually, startRealtimeHarness, type RealtimeHarness } from '../support/realtimeHarness';

let harness: RealtimeHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('serve with change notifications', () => {
  it('subscribes through the real handshake and carries a change to Signature 365 within seconds', async () => {
    harness = await startRealtimeHarness();
    const h = harness;
    const serve = await h.startServe({ publicUrl: 'self', runtime: { storage: h.storage, minMsBetweenNotifiedPulls: 1000 } });
    const source = h.graph.tenantId;
    // First tick: subscriptions, then the full sync.
    await eventually(() => h.s365.tenant('TenantA').users(source).length === h.tenant.activeUsers().length, 30_000, 'first sync');
    expect(h.graph.subscriptions.list().map((s) => s.resource).sort()).toEqual(['groups', 'users']);
    expect(h.graph.subscriptions.handshakes.every((hs) => hs.ok)).toBe(true);
    expect(serve.lastMaintenance()?.created).toBe(2);

    const user = h.tenant.activeUsers()[3];
    if (user === undefined) throw new Error('no user');
    h.tenant.updateUser(user.id, { jobTitle: 'Head of Real Time' });
    const ms = await eventually(() => h.s365.tenant('TenantA').user(source, user.id)?.jobTitle === 'Head of Real Time', 10_000, 'notified change');
    expect(ms).toBeGreaterThan(0);
    expect(h.graph.subscriptions.deliveries.some((d) => d.delivered)).toBe(true);
  });
});
