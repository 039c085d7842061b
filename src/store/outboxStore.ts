/**
 * Table `Outbox` (the queue path only): records planned for a destination and queued, until the
 * upload worker has sent them. PartitionKey `<destination>|<source>|<kind>|<00…3f>` (the top six
 * bits of the id, as the user mirror: 64 partitions, because Azurite scans a partition for every
 * point operation and one partition of a whole first sync made each message cost the whole
 * outbox), RowKey `<object id>|<hash or "delete">`, columns `op`, `bh` (base hash), `rec` (the
 * record, chunked). An upload message names consecutive object ids, so the worker reads its items
 * with one range query per partition they fall in (one or two); a newer record for the same object
 * is a different row and survives the older one's removal.
 */
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { LedgerScope, OutboxItem, OutboxStore } from '../sync/ports';
import { SCHEMA_VERSION, TABLE_NAMES, assertKeyPart, bucket256, physicalColumns, readColumn } from './entityCodec';
import { withStorageErrors } from './errors';
import { ledgerPartitionKey } from './ledgerStore';
import type { StorageTarget } from './storageAccount';
import { ensureTable, openTable, queryPages, submitBatched, type TableAccessOptions } from './tableBatch';

function outboxPartitionKey(scope: LedgerScope, id: string): string {
  return `${ledgerPartitionKey(scope)}|${(Number.parseInt(bucket256(id), 16) >> 2).toString(16).padStart(2, '0')}`;
}

export class TableOutboxStore implements OutboxStore {
  private readonly table: TableClient;

  constructor(target: StorageTarget, options: TableAccessOptions = {}) {
    this.table = openTable(target, TABLE_NAMES.outbox, options);
  }

  async initialize(): Promise<void> {
    await ensureTable(this.table);
  }

  async put(scope: LedgerScope, items: readonly OutboxItem[]): Promise<void> {
    const actions = items.map((item): TransactionAction => {
      assertKeyPart(item.id, 'object id');
      return ['upsert', {
        partitionKey: outboxPartitionKey(scope, item.id), rowKey: `${item.id}|${item.hash}`, v: SCHEMA_VERSION, op: item.op,
        ...(item.baseHash !== undefined ? { bh: item.baseHash } : {}),
        ...(item.record !== undefined ? physicalColumns(new Map([['rec', item.record]])) : {}),
      }, 'Replace'];
    });
    await withStorageErrors('write outbox', () => submitBatched(this.table, actions));
  }

  async read(scope: LedgerScope, ids: readonly string[]): Promise<OutboxItem[]> {
    if (ids.length === 0) return [];
    const wanted = new Set(ids);
    const byPartition = new Map<string, string[]>();
    for (const id of [...wanted].sort()) {
      const partitionKey = outboxPartitionKey(scope, id);
      const group = byPartition.get(partitionKey);
      if (group === undefined) byPartition.set(partitionKey, [id]);
      else group.push(id);
    }
    return withStorageErrors('read outbox', async () => {
      const items: OutboxItem[] = [];
      for (const [partitionKey, sorted] of byPartition) {
        const filter = odata`PartitionKey eq ${partitionKey} and RowKey ge ${`${sorted[0] ?? ''}|`} and RowKey lt ${`${sorted[sorted.length - 1] ?? ''}|~`}`;
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
      }
      return items;
    });
  }

  async remove(scope: LedgerScope, items: readonly { id: string; hash: string }[]): Promise<void> {
    const rows = new Map(items.map((item) => [`${item.id}|${item.hash}`, outboxPartitionKey(scope, item.id)]));
    await withStorageErrors('remove from outbox', () => submitBatched(this.table, [...rows].map(([rowKey, partitionKey]): TransactionAction => ['delete', { partitionKey, rowKey }])));
  }
}
