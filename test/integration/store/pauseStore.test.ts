/** The pause store and the audit rows of pauses beside the approvals, on the test Azurite. */
import { describe, expect, it } from 'vitest';
import { TableAuditStore } from '../../../src/store/auditStore';
import { TablePauseStore } from '../../../src/store/pauseStore';
import type { AuditEntry, MappingPause } from '../../../src/sync/ports';
import { isolatedStorage } from '../../support/storage';

const NOW = new Date('2025-03-10T12:00:00.000Z');
const hoursAgo = (hours: number) => new Date(NOW.getTime() - hours * 3_600_000);

describe('TableAuditStore with pauses', () => {
  it('keeps pause and resume rows beside approvals and merges every action newest first', async () => {
    const audit = new TableAuditStore(isolatedStorage());
    await audit.initialize();
    const approval: AuditEntry = {
      action: 'deletions.approve', actor: 'alice', via: 'http', at: hoursAgo(2).toISOString(), destination: 'TenantA', source: 'Default', kind: 'groups',
      holdId: 'h', count: 3, destinationSize: 10, threshold: null, reason: 'empty scope',
    };
    const pause: AuditEntry = {
      action: 'mappings.pause', actor: 'bob', via: 'cli', at: hoursAgo(3).toISOString(), pairs: [{ source: 'Default', destination: 'TenantB' }], mappings: [1, 2], reason: 'migration',
    };
    const resume: AuditEntry = { action: 'mappings.resume', actor: 'bob', via: 'cli', at: hoursAgo(1).toISOString(), pairs: 'all', mappings: [0, 1, 2], reason: '' };
    for (const entry of [approval, pause, resume]) await audit.record(entry);
    expect(await audit.list()).toEqual([resume, approval, pause]);
    expect(await audit.list({ limit: 2 })).toEqual([resume, approval]);
    expect(await audit.list({ actions: ['deletions.approve'] })).toEqual([approval]);
    expect(await audit.list({ actions: ['mappings.pause', 'mappings.resume'], limit: 1 })).toEqual([resume]);
  });
});

describe('TablePauseStore', () => {
  it('keeps one row per pair and one global row, lists the global one first, and removes idempotently', async () => {
    const pauses = new TablePauseStore(isolatedStorage());
    await pauses.initialize();
    const pause = (pair: MappingPause['pair'], reason: string): MappingPause => ({ pair, mappings: [1], pausedAt: NOW.toISOString(), pausedBy: 'carol', via: 'cli', reason });
    await pauses.put(pause({ source: 'Default', destination: 'Contoso_Ltd.0123456789ab' }, 'first'));
    await pauses.put(pause({ source: 'Default', destination: 'Contoso_Ltd.0123456789ab' }, 'again'));
    await pauses.put(pause({ source: 'Default', destination: 'TenantA' }, ''));
    await pauses.put({ ...pause('all', 'freeze'), mappings: [0, 1] });
    expect(await pauses.list()).toEqual([
      { ...pause('all', 'freeze'), mappings: [0, 1] },
      pause({ source: 'Default', destination: 'Contoso_Ltd.0123456789ab' }, 'again'),
      pause({ source: 'Default', destination: 'TenantA' }, ''),
    ]);
    await pauses.remove('all');
    await pauses.remove('all');
    await pauses.remove({ source: 'Default', destination: 'TenantA' });
    expect((await pauses.list()).map((p) => p.pair)).toEqual([{ source: 'Default', destination: 'Contoso_Ltd.0123456789ab' }]);
  });
});
