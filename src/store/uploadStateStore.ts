/**
 * The upload ledger: per (destination, source, kind, object) what the destination should hold and
 * what it acknowledged. Table `Uploads`, PartitionKey `<destination>|<source>|<kind>|<first hex char
 * of the object id>` (16 partitions per destination and kind, so a 100k-user tenant spreads its
 * writes), RowKey = object id. Layout in docs/storage.md.
 */
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { UploadKind, UploadRow, UploadStateStore } from '../sync/ports';
import { physicalColumns, readColumn } from './entityCodec';
import type { StorageTarget } from './storageAccount';
import { ensureTable, openTable, queryPages, readRowsByKeys, rowAddress, submitBatched, type Row, type TableAccessOptions } from './tableBatch';

const SCHEMA_VERSION = 1;

function partitionPrefix(destination: string, source: string, kind: UploadKind): string {
  return `${destination}|${source}|${kind}|`;
}

function partitionKey(destination: string, source: string, kind: UploadKind, id: string): string {
  return `${partitionPrefix(destination, source, kind)}${id.charAt(0).toLowerCase() || '0'}`;
}

function text(row: Row, column: string): string | null {
  const value = row[column];
  return typeof value === 'string' ? value : null;
}

function dispatchedOf(row: Row): UploadRow['dispatched'] {
  const what = text(row, 'dispatchedWhat');
  const at = text(row, 'dispatchedAt');
  return what !== null && at !== null ? { what, at } : null;
}

function decode(row: Row): UploadRow {
  const failures = row.failures;
  return {
    id: row.rowKey ?? '',
    desiredHash: text(row, 'desiredHash'),
    // Long records (hundreds of proxy addresses) span several columns, as in the mirror.
    desiredRecord: readColumn(row, 'desiredRecord') ?? null,
    ackHash: text(row, 'ackHash'),
    leftScopeAt: text(row, 'leftScopeAt'),
    deleteApproved: row.deleteApproved === true,
    failures: typeof failures === 'number' ? failures : 0,
    lastError: text(row, 'lastError'),
    dispatched: dispatchedOf(row),
  };
}

export class TableUploadStateStore implements UploadStateStore {
  private readonly table: TableClient;

  constructor(target: StorageTarget, private readonly options: TableAccessOptions = {}) {
    this.table = openTable(target, 'Uploads', options);
  }

  async initialize(): Promise<void> {
    await ensureTable(this.table);
  }

  async *list(destination: string, source: string, kind: UploadKind): AsyncIterable<UploadRow[]> {
    const prefix = partitionPrefix(destination, source, kind);
    // '~' sorts after every hex digit, so the range holds exactly this destination+source+kind.
    const filter = odata`PartitionKey ge ${prefix} and PartitionKey lt ${`${prefix}~`}`;
    for await (const page of queryPages(this.table, filter)) yield page.map(decode);
  }

  async get(destination: string, source: string, kind: UploadKind, ids: readonly string[]): Promise<Map<string, UploadRow>> {
    const keys = ids.map((id) => ({ partitionKey: partitionKey(destination, source, kind, id), rowKey: id }));
    const rows = await readRowsByKeys(this.table, keys, { concurrency: this.options.concurrency });
    const out = new Map<string, UploadRow>();
    for (const key of keys) {
      const row = rows.get(rowAddress(key.partitionKey, key.rowKey));
      if (row !== undefined) out.set(key.rowKey, decode(row));
    }
    return out;
  }

  async put(destination: string, source: string, kind: UploadKind, rows: readonly UploadRow[]): Promise<void> {
    if (rows.length === 0) return;
    const actions: TransactionAction[] = rows.map((row) => [
      'upsert',
      {
        partitionKey: partitionKey(destination, source, kind, row.id),
        rowKey: row.id,
        v: SCHEMA_VERSION,
        desiredHash: row.desiredHash,
        ...(row.desiredRecord === null ? { desiredRecord: null } : physicalColumns(new Map([['desiredRecord', row.desiredRecord]]))),
        ackHash: row.ackHash,
        leftScopeAt: row.leftScopeAt,
        deleteApproved: row.deleteApproved,
        failures: row.failures,
        lastError: row.lastError,
        dispatchedWhat: row.dispatched?.what ?? null,
        dispatchedAt: row.dispatched?.at ?? null,
      },
      'Replace',
    ]);
    await submitBatched(this.table, actions, { concurrency: this.options.concurrency });
  }
}
