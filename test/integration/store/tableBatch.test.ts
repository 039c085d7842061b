import { describe, expect, it } from 'vitest';
import type { TransactionAction } from '@azure/data-tables';
import { createTableClient } from '../../../src/store/storageAccount';
import { ensureTable, openTable, planTransactions, readRowsByKeys, runWithConcurrency, submitBatched } from '../../../src/store/tableBatch';
import { isolatedStorage } from '../../support/storage';

const upsert = (partitionKey: string, rowKey: string, extra: Record<string, string> = {}): TransactionAction =>
  ['upsert', { partitionKey, rowKey, ...extra }, 'Merge'];

describe('tableBatch', () => {
  it('groups by partition and cuts transactions at 100 actions', () => {
    const actions = [
      ...Array.from({ length: 230 }, (_, i) => upsert('p1', `r${i}`)),
      ...Array.from({ length: 3 }, (_, i) => upsert('p2', `r${i}`)),
    ];
    const plan = planTransactions(actions);
    expect(plan.map((t) => [t[0]?.[1].partitionKey, t.length])).toEqual([['p1', 100], ['p1', 100], ['p1', 30], ['p2', 3]]);
  });

  it('cuts transactions before the 4 MiB payload limit', () => {
    const big = 'x'.repeat(25_000);
    const actions = Array.from({ length: 100 }, (_, i) => upsert('p', `r${i}`, { a: big, b: big }));
    const plan = planTransactions(actions);
    expect(plan.length).toBeGreaterThan(1);
    for (const transaction of plan) {
      const bytes = transaction.reduce((sum, action) => sum + JSON.stringify(action[1]).length, 0);
      expect(bytes).toBeLessThan(4 * 1024 * 1024);
    }
  });

  it('refuses two actions on one row, which could race', () => {
    expect(() => planTransactions([upsert('p', 'r'), upsert('p', 'r')])).toThrow(/twice/);
  });

  it('treats a delete of a missing row inside a batch as done', async () => {
    const table = createTableClient(isolatedStorage(), 'Batch');
    await ensureTable(table);
    await ensureTable(table);
    await submitBatched(table, [upsert('p', 'a', { x: '1' }), upsert('p', 'b', { x: '2' })]);

    const result = await submitBatched(table, [['delete', { partitionKey: 'p', rowKey: 'a' }], ['delete', { partitionKey: 'p', rowKey: 'missing' }], upsert('p', 'c')]);

    expect(result.entities).toBe(3);
    const rows: string[] = [];
    for await (const row of table.listEntities()) rows.push(row.rowKey ?? '');
    expect(rows.sort()).toEqual(['b', 'c']);
  });

  it('reads rows by key with at most 15 comparisons per query', async () => {
    const filters: string[] = [];
    const table = openTable(isolatedStorage(), 'Batch', {
      additionalPolicies: [{
        name: 'recordFilters',
        sendRequest: async (request, next) => {
          const filter = new URL(request.url).searchParams.get('$filter');
          if (filter !== null) filters.push(filter);
          return next(request);
        },
      }],
    });
    await ensureTable(table);
    const keys = Array.from({ length: 30 }, (_, i) => ({ partitionKey: 'p', rowKey: `r${i}` }));
    await submitBatched(table, keys.map((key) => upsert(key.partitionKey, key.rowKey)));

    const found = await readRowsByKeys(table, [...keys, { partitionKey: 'q', rowKey: 'r0' }]);

    expect(found.size).toBe(30);
    expect(filters).toHaveLength(4); // 14 + 14 + 2 in partition p, 1 in q
    for (const filter of filters) expect(filter.match(/ eq /g)?.length ?? 0).toBeLessThanOrEqual(15);
  });

  it('runs at most the given number of tasks at once and waits for all before failing', async () => {
    let running = 0;
    let peak = 0;
    let finished = 0;
    const work = async (n: number): Promise<number> => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
      finished += 1;
      if (n === 3) throw new Error('boom');
      return n;
    };
    await expect(runWithConcurrency([1, 2, 3, 4, 5, 6, 7, 8, 9], 3, work)).rejects.toThrow('boom');
    expect(peak).toBe(3);
    expect(running).toBe(0);
    expect(finished).toBeLessThan(9);
    expect(await runWithConcurrency([1, 2, 3], 2, async (n) => n * 2)).toEqual([2, 4, 6]);
  });
});
