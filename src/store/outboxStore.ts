/**
 * Table `Outbox` (the queue path only): records planned for a destination and queued, until the
 * upload worker has sent them. PartitionKey `<destination>|<source>|<kind>`, RowKey
 * `<object id>|<hash or "delete">`, columns `op`, `bh` (base hash), `rec` (the record, chunked).
 * An upload message names consecutive object ids, so the worker reads its items with one range
 * query; a newer record for the same object is a different row and survives the older one's removal.
 */
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { LedgerScope, OutboxItem, OutboxStore } from '../sync/ports';
import { SCHEMA_VERSION, TABLE_NAMES, assertKeyPart, physicalColumns, readColumn } from './entityCodec';
import { withStorageErrors } from './errors';
import { ledgerPartitionKey } from './ledgerStore';
import type { StorageTarget } from './storageAccount';
import { ensureTable, openTable, queryPages, submitBatched, type TableAccessOptions } from './tableBatch';

export class TableOutboxStore implements OutboxStore {
  private readonly table: TableClient;

  constructor(target: StorageTarget, options: TableAccessOptions = {}) {
    this.table = openTable(target, TABLE_NAMES.outbox, options);
  }

  async initialize(): Promise<void> {
    await ensureTable(this.table);
  }

  async put(scope: LedgerScope, items: readonly OutboxItem[]): Promise<void> {
    const partitionKey = ledgerPartitionKey(scope);
    const actions = items.map((item): TransactionAction => {
      assertKeyPart(item.id, 'object id');
      return ['upsert', {
        partitionKey, rowKey: `${item.id}|${item.hash}`, v: SCHEMA_VERSION, op: item.op,
        ...(item.baseHash !== undefined ? { bh: item.baseHash } : {}),
        ...(item.record !== undefined ? physicalColumns(new Map([['rec', item.record]])) : {}),
      }, 'Replace'];
    });
    await withStorageErrors('write outbox', () => submitBatched(this.table, actions));
  }

  async read(scope: LedgerScope, ids: readonly string[]): Promise<OutboxItem[]> {
    if (ids.length === 0) return [];
    const sorted = [...ids].sort();
    const wanted = new Set(ids);
    const partitionKey = ledgerPartitionKey(scope);
    const filter = odata`PartitionKey eq ${partitionKey} and RowKey ge ${`${sorted[0] ?? ''}|`} and RowKey lt ${`${sorted[sorted.length - 1] ?? ''}|~`}`;
    return withStorageErrors('read outbox', async () => {
      const items: OutboxItem[] = [];
      for await (const page of queryPages(this.table, filter)) {
        for (const row of page) {
          const rowKey = row.rowKey ?? '';
          const bar = rowKey.indexOf('|');
          const id = rowKey.slice(0, bar);
          if (!wanted.has(id)) continue;
          const record = readColumn(row, 'rec');
          items.push({
            id, hash: rowKey.slice(bar + 1), op: row.op === 'delete' ? 'delete' : 'upsert',
            ...(typeof row.bh === 'string' ? { baseHash: row.bh } : {}),
            ...(record !== undefined ? { record } : {}),
          });
        }
      }
      return items;
    });
  }

  async remove(scope: LedgerScope, items: readonly { id: string; hash: string }[]): Promise<void> {
    const partitionKey = ledgerPartitionKey(scope);
    const keys = [...new Set(items.map((item) => `${item.id}|${item.hash}`))];
    await withStorageErrors('remove from outbox', () => submitBatched(this.table, keys.map((rowKey): TransactionAction => ['delete', { partitionKey, rowKey }])));
  }
}
