import { randomUUID } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { describe, expect, it } from 'vitest';
import { TableLedgerStore } from '../../../src/store/ledgerStore';
import { StorageRequestCounter, difference, emptyCounts, type StorageRequestCounts } from '../../../src/store/requestCounter';
import { createTableClient } from '../../../src/store/storageAccount';
import { submitBatched } from '../../../src/store/tableBatch';
import { summarizeEntries } from '../../../src/sync/ledgerPolicy';
import { isolatedStorage } from '../../support/storage';

/** A table client on fresh storage whose every request goes through the counter. */
function countedTable(counter: StorageRequestCounter): TableClient {
  const table = createTableClient(isolatedStorage(), 'Counted');
  table.pipeline.addPolicy(counter.tablePolicy);
  return table;
}

/** What happened while `work` ran. */
async function countsOf(counter: StorageRequestCounter, work: () => Promise<unknown>): Promise<StorageRequestCounts> {
  const before = counter.snapshot();
  await work();
  return difference(counter.snapshot(), before);
}

const counts = (partial: Partial<StorageRequestCounts>): StorageRequestCounts => ({ ...emptyCounts(), ...partial });

describe('StorageRequestCounter', () => {
  it('counts creating a table as a write that carries no entity', async () => {
    const counter = new StorageRequestCounter();
    const table = countedTable(counter);

    expect(await countsOf(counter, () => table.createTable())).toEqual(counts({ total: 1, tableWrites: 1 }));
  });

  it('counts each single-entity write as one write of one entity', async () => {
    const counter = new StorageRequestCounter();
    const table = countedTable(counter);
    await table.createTable();
    const entity = { partitionKey: 'p', rowKey: 'r', value: 'one' };

    expect(await countsOf(counter, () => table.createEntity(entity))).toEqual(counts({ total: 1, tableWrites: 1, entitiesWritten: 1 }));
    expect(await countsOf(counter, () => table.upsertEntity({ ...entity, value: 'two' }, 'Replace'))).toEqual(counts({ total: 1, tableWrites: 1, entitiesWritten: 1 }));
    expect(await countsOf(counter, () => table.upsertEntity({ ...entity, more: 'x' }, 'Merge'))).toEqual(counts({ total: 1, tableWrites: 1, entitiesWritten: 1 }));
    expect(await countsOf(counter, () => table.updateEntity({ ...entity, value: 'three' }, 'Merge'))).toEqual(counts({ total: 1, tableWrites: 1, entitiesWritten: 1 }));
    expect(await countsOf(counter, () => table.updateEntity({ ...entity, value: 'four' }, 'Replace'))).toEqual(counts({ total: 1, tableWrites: 1, entitiesWritten: 1 }));
    expect(await countsOf(counter, () => table.deleteEntity('p', 'r'))).toEqual(counts({ total: 1, tableWrites: 1, entitiesWritten: 1 }));
  });

  it('counts a point read and each page of a query as reads', async () => {
    const counter = new StorageRequestCounter();
    const table = countedTable(counter);
    await table.createTable();
    for (const rowKey of ['a', 'b', 'c', 'd', 'e']) await table.createEntity({ partitionKey: 'p', rowKey });

    expect(await countsOf(counter, () => table.getEntity('p', 'c'))).toEqual(counts({ total: 1, tableReads: 1 }));
    expect(await countsOf(counter, async () => {
      const pages: unknown[] = [];
      for await (const page of table.listEntities().byPage({ maxPageSize: 2 })) pages.push(page);
      expect(pages).toHaveLength(3);
    })).toEqual(counts({ total: 3, tableReads: 3 }));
  });

  it('counts a transaction as one batch and every entity it carries, whatever the operation', async () => {
    const counter = new StorageRequestCounter();
    const table = countedTable(counter);
    await table.createTable();
    for (const rowKey of ['updated', 'merged', 'deleted']) await table.createEntity({ partitionKey: 'p', rowKey, value: 'before' });

    const transaction = await countsOf(counter, () => table.submitTransaction([
      ['create', { partitionKey: 'p', rowKey: 'created', value: 'new' }],
      ['upsert', { partitionKey: 'p', rowKey: 'replaced', value: 'new' }, 'Replace'],
      ['upsert', { partitionKey: 'p', rowKey: 'upserted', value: 'new' }, 'Merge'],
      ['update', { partitionKey: 'p', rowKey: 'updated', value: 'after' }, 'Replace'],
      ['update', { partitionKey: 'p', rowKey: 'merged', value: 'after' }, 'Merge'],
      ['delete', { partitionKey: 'p', rowKey: 'deleted' }],
    ]));

    expect(transaction).toEqual(counts({ total: 1, tableBatches: 1, entitiesWritten: 6 }));
    expect((await table.getEntity('p', 'merged')).value).toBe('after');
  });

  it('counts a transaction replayed one operation at a time as the batch plus each single write', async () => {
    const counter = new StorageRequestCounter();
    const table = countedTable(counter);
    await table.createTable();
    await table.createEntity({ partitionKey: 'p', rowKey: 'present' });

    // A delete of a missing row fails the transaction (404); submitBatched replays it operation by operation.
    const replayed = await countsOf(counter, () => submitBatched(table, [
      ['delete', { partitionKey: 'p', rowKey: 'present' }],
      ['delete', { partitionKey: 'p', rowKey: 'missing' }],
      ['upsert', { partitionKey: 'p', rowKey: 'written' }, 'Merge'],
    ]));

    expect(replayed).toEqual(counts({ total: 4, tableBatches: 1, entitiesWritten: 6, tableWrites: 3 }));
  });

  it('counts what a store sends through its additionalPolicies', async () => {
    const counter = new StorageRequestCounter();
    const ledger = new TableLedgerStore(isolatedStorage(), { additionalPolicies: [counter.tablePolicy] });
    await ledger.initialize();
    const scope = { destination: 'west', source: 'contoso', kind: 'users' } as const;
    const ids = ['0a', '0b', '0c'].map((bucket) => `${bucket}${randomUUID().slice(2)}`);

    const update = await countsOf(counter, () => ledger.update(scope, ['0a', '0b', '0c'], (bucket, entries) => {
      for (const id of ids) if (id.startsWith(bucket)) entries.set(id, { w: 1 });
    }, (entries) => summarizeEntries(entries, 30)));

    // One query reads the three buckets; one transaction writes them.
    expect(update).toEqual(counts({ total: 2, tableReads: 1, tableBatches: 1, entitiesWritten: 3 }));
    expect(await countsOf(counter, () => ledger.summaries(scope))).toEqual(counts({ total: 1, tableReads: 1 }));
  });

  it('counts queue sends apart from table requests', () => {
    const counter = new StorageRequestCounter();

    counter.countQueueRequest();
    counter.countQueueRequest();

    expect(counter.snapshot()).toEqual(counts({ total: 2, queueRequests: 2 }));
  });

  it('hands out snapshots that later requests do not change', async () => {
    const counter = new StorageRequestCounter();
    const table = countedTable(counter);
    const before = counter.snapshot();

    await table.createTable();

    expect(before).toEqual(emptyCounts());
    expect(counter.snapshot()).toEqual(counts({ total: 1, tableWrites: 1 }));
  });
});
