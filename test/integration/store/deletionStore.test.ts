import { beforeAll, describe, expect, it } from 'vitest';
import { TableAuditStore } from '../../../src/store/auditStore';
import { TableDeletionStateStore } from '../../../src/store/deletionStore';
import type { AuditEntry, DeletionHold } from '../../../src/sync/ports';
import { isolatedStorage } from '../../support/storage';

const HOUR_IN_MS = 3_600_000;
const NOW = new Date('2025-03-10T12:00:00.000Z');
const hoursAgo = (hours: number) => new Date(NOW.getTime() - hours * HOUR_IN_MS);

function hold(fields: Partial<DeletionHold> = {}): DeletionHold {
  return {
    destination: 'TenantA', source: 'Default', kind: 'users', holdId: 'h1', held: 230, destinationSize: 1000, deletedLast24h: 0,
    threshold: 200, reason: 'too many', leftScopeCutoff: hoursAgo(1).toISOString(), heldSince: hoursAgo(1).toISOString(),
    plannedAt: NOW.toISOString(), runId: 'run-1', ...fields,
  };
}

describe('TableDeletionStateStore', () => {
  const storage = isolatedStorage();
  const store = new TableDeletionStateStore(storage);
  beforeAll(async () => { await store.initialize(); });

  it('adds up the deletions of the last 24 hours per destination, source and kind, and prunes rows older than a week', async () => {
    await store.recordExecuted('TenantA', 'Default', 'users', 7, hoursAgo(200));
    await store.recordExecuted('TenantA', 'Default', 'users', 5, hoursAgo(30));
    await store.recordExecuted('TenantA', 'Default', 'users', 15, hoursAgo(20));
    await store.recordExecuted('TenantA', 'Default', 'users', 15, hoursAgo(1));
    await store.recordExecuted('TenantA', 'Default', 'groups', 3, hoursAgo(1));
    await store.recordExecuted('TenantB', 'Default', 'users', 9, hoursAgo(1));
    await store.recordExecuted('TenantA', 'Default', 'users', 0, hoursAgo(1));
    expect(await store.countExecutedSince('TenantA', 'Default', 'users', hoursAgo(24))).toBe(30);
    expect(await store.countExecutedSince('TenantA', 'Default', 'users', hoursAgo(1000))).toBe(35);
    expect(await store.countExecutedSince('TenantA', 'Default', 'groups', hoursAgo(24))).toBe(3);
  });

  it('keeps one hold and one approval per destination, source and kind, and clears them idempotently', async () => {
    await store.putHold(hold());
    await store.putHold(hold({ holdId: 'h2', held: 240 }));
    await store.putHold(hold({ kind: 'groups', threshold: null }));
    expect(await store.getHold('TenantA', 'Default', 'users')).toEqual(hold({ holdId: 'h2', held: 240 }));
    expect((await store.listHolds()).map((h) => [h.kind, h.holdId, h.threshold])).toEqual([['groups', 'h1', null], ['users', 'h2', 200]]);
    await store.clearHold('TenantA', 'Default', 'users');
    await store.clearHold('TenantA', 'Default', 'users');
    expect(await store.getHold('TenantA', 'Default', 'users')).toBeUndefined();

    const approval = { destination: 'TenantA', source: 'Default', kind: 'users' as const, holdId: 'h2', leftScopeCutoff: NOW.toISOString(), count: 240, approvedBy: 'alice', approvedAt: NOW.toISOString() };
    await store.putApproval(approval);
    expect(await store.getApproval('TenantA', 'Default', 'users')).toEqual(approval);
    await store.clearApproval('TenantA', 'Default', 'users');
    expect(await store.getApproval('TenantA', 'Default', 'users')).toBeUndefined();
  });

  it('remembers the destinations a source was planned for', async () => {
    await store.rememberDestination('Default', 'TenantA', NOW);
    await store.rememberDestination('Default', 'TenantB', NOW);
    await store.rememberDestination('Other', 'TenantC', NOW);
    expect((await store.knownDestinations('Default')).sort()).toEqual(['TenantA', 'TenantB']);
  });
});

describe('TableAuditStore', () => {
  it('lists approvals newest first', async () => {
    const audit = new TableAuditStore(isolatedStorage());
    await audit.initialize();
    const entry = (at: Date, actor: string): AuditEntry => ({
      action: 'deletions.approve', actor, via: 'cli', at: at.toISOString(), destination: 'TenantA', source: 'Default', kind: 'users',
      holdId: 'h', count: 230, destinationSize: 1000, threshold: 200, reason: 'too many',
    });
    await audit.record(entry(hoursAgo(2), 'first'));
    await audit.record(entry(hoursAgo(1), 'second'));
    expect((await audit.list()).map((e) => e.actor)).toEqual(['second', 'first']);
    expect(await audit.list({ limit: 1 })).toEqual([entry(hoursAgo(1), 'second')]);
  });
});
