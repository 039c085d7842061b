/**
 * Table `RunHistory` on Azurite: the newest runs of a source come back newest first from one
 * query, and every write trims the source's partition to the runs kept, in the same request as
 * the new row: the table never grows with the number of runs.
 */
import { describe, expect, it } from 'vitest';
import { TableRunHistoryStore } from '../../../src/store/runHistoryStore';
import type { RunHistoryEntry } from '../../../src/sync/ports';
import { isolatedStorage } from '../../support/storage';
import { rawRows, requestCounter } from './storeFixtures';

function run(source: string, minute: number, overrides: Partial<RunHistoryEntry> = {}): RunHistoryEntry {
  return {
    runId: `run-${minute}`, source, endedAt: new Date(Date.UTC(2026, 11, 3, 8, minute)).toISOString(), durationSeconds: 1.5 + minute,
    round: minute === 0 ? 'full' : 'incremental', outcome: 'ok', lagSeconds: minute * 10, objects: minute, succeeded: minute, failed: 0, delivery: 'inProcess',
    ...overrides,
  };
}

describe('the run history store', () => {
  it('keeps the newest runs of each source, newest first, trimming as it writes', async () => {
    const target = isolatedStorage();
    const requests = requestCounter();
    const store = new TableRunHistoryStore(target, { additionalPolicies: [requests.policy] });
    await store.initialize();
    for (let minute = 0; minute < 8; minute += 1) await store.record(run('Contoso', minute), { keep: 5 });
    await store.record(run('Fabrikam', 3, { lagSeconds: null, outcome: 'failed', round: 'none', delivery: 'queued' }), { keep: 5 });

    const contoso = await store.latest('Contoso');
    expect(contoso.map((entry) => entry.runId)).toEqual(['run-7', 'run-6', 'run-5', 'run-4', 'run-3']);
    expect(contoso[0]).toEqual(run('Contoso', 7));
    expect(await store.latest('Fabrikam')).toEqual([run('Fabrikam', 3, { lagSeconds: null, outcome: 'failed', round: 'none', delivery: 'queued' })]);
    expect(await store.latest('Contoso', { limit: 2 })).toHaveLength(2);
    // Trimmed in storage, not only in what is read back.
    const rows = await rawRows(target, 'RunHistory');
    expect(rows.filter((row) => row.partitionKey === 'Contoso')).toHaveLength(5);

    // One write: a keys-only query of the newest rows and one transaction (new row + the one beyond).
    requests.reset();
    await store.record(run('Contoso', 9), { keep: 5 });
    expect({ reads: requests.reads(), writes: requests.writes() }).toEqual({ reads: 1, writes: 1 });
    expect((await store.latest('Contoso')).map((entry) => entry.runId)).toEqual(['run-9', 'run-7', 'run-6', 'run-5', 'run-4']);
  });

  it('cuts back rows beyond the runs kept that an earlier write left (a lower keep, a failed trim)', async () => {
    const store = new TableRunHistoryStore(isolatedStorage());
    await store.initialize();
    for (let minute = 0; minute < 12; minute += 1) await store.record(run('Contoso', minute), { keep: 50 });
    // As if earlier writes had kept more than they should: the next write with keep 3 cuts back.
    await store.record(run('Contoso', 30), { keep: 3 });
    expect((await store.latest('Contoso')).map((entry) => entry.runId)).toEqual(['run-30', 'run-11', 'run-10']);
  });
});
