/**
 * Table `Ledger`: per destination, source and kind, one entry per object (what the destination
 * acknowledged, what is still to do), kept in 256 bucket rows by the first two hex digits of the
 * object id. A 100k-user destination is 256 rows of about 50 KB: a whole-source plan reads it in
 * one query, and a change reads and writes the one or two rows it touches.
 *
 * Row: PartitionKey `<destination>|<source>|<kind>`, RowKey the bucket (`00`…`ff`); column `e` the
 * entries (JSON map id → entry, chunked), and the bucket's summary as plain columns (`due`, `pd`,
 * `n`, `w`, `o`, `p`, `x`): a projected query over them finds what is due without reading one entry.
 */
import type { TableClient } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { LedgerBucketSummary, LedgerEntry, LedgerRead, LedgerScope, LedgerStore } from '../sync/ports';
import { jsonMapColumns, readJsonMap, readRows, updateRowGroups, type StoredRow } from './bucketRows';
import { SCHEMA_VERSION, TABLE_NAMES, assertKeyPart } from './entityCodec';
import { withStorageErrors } from './errors';
import type { StorageTarget } from './storageAccount';
import { ensureTable, openTable, queryPages, type Row, type TableAccessOptions } from './tableBatch';

const ENTRIES = 'e';
const ALL_BUCKETS = Array.from({ length: 256 }, (_, index) => index.toString(16).padStart(2, '0'));
const SUMMARY_COLUMNS = ['RowKey', 'due', 'pd', 'n', 'w', 'o', 'p', 'x'];

export function ledgerPartitionKey(scope: LedgerScope): string {
  return `${scope.destination}|${scope.source}|${scope.kind}`;
}

function isEntry(value: unknown): value is LedgerEntry {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(row: Row, column: string): string | null {
  const value = row[column];
  return typeof value === 'string' && value !== '' ? value : null;
}

function count(row: Row, column: string): number {
  const value = row[column];
  return typeof value === 'number' ? value : 0;
}

function summaryOf(row: Row): LedgerBucketSummary {
  return {
    due: text(row, 'due'), pendingDue: text(row, 'pd'),
    held: count(row, 'n'), wanted: count(row, 'w'), owed: count(row, 'o'), pending: count(row, 'p'), failed: count(row, 'x'),
  };
}

/** Fields in a fixed order, so the same entry always writes (and compares as) the same text. */
function canonical(entries: ReadonlyMap<string, LedgerEntry>): Map<string, LedgerEntry> {
  const out = new Map<string, LedgerEntry>();
  for (const [id, entry] of entries) {
    const sorted: LedgerEntry = {};
    for (const key of Object.keys(entry).sort()) {
      const value = (entry as Record<string, unknown>)[key];
      if (value !== undefined) (sorted as Record<string, unknown>)[key] = value;
    }
    out.set(id, sorted);
  }
  return out;
}

function sameEntries(a: ReadonlyMap<string, LedgerEntry>, b: ReadonlyMap<string, LedgerEntry>): boolean {
  if (a.size !== b.size) return false;
  const left = canonical(a);
  const right = canonical(b);
  for (const [id, entry] of left) if (JSON.stringify(entry) !== JSON.stringify(right.get(id))) return false;
  return true;
}

function rowsOf(read: LedgerRead): ReadonlyMap<string, StoredRow> | undefined {
  return read.handle instanceof Map ? (read.handle as ReadonlyMap<string, StoredRow>) : undefined;
}

export class TableLedgerStore implements LedgerStore {
  private readonly table: TableClient;

  constructor(target: StorageTarget, options: TableAccessOptions = {}) {
    this.table = openTable(target, TABLE_NAMES.ledger, options);
  }

  async initialize(): Promise<void> {
    await ensureTable(this.table);
  }

  async read(scope: LedgerScope, buckets: readonly string[] | 'all', options: { extend?: LedgerRead } = {}): Promise<LedgerRead> {
    const partitionKey = this.partitionKey(scope);
    const earlier = options.extend === undefined ? undefined : rowsOf(options.extend);
    return withStorageErrors('read ledger', async () => {
      const rows = new Map<string, StoredRow>(earlier ?? []);
      if (buckets === 'all') {
        for await (const page of queryPages(this.table, odata`PartitionKey eq ${partitionKey}`)) {
          for (const row of page) if (row.rowKey !== undefined && !rows.has(row.rowKey)) rows.set(row.rowKey, { row, etag: row.etag });
        }
        // Every bucket is now known, the absent ones as absent: a later write creates them without asking again.
        for (const bucket of ALL_BUCKETS) if (!rows.has(bucket)) rows.set(bucket, { row: undefined, etag: undefined });
      } else {
        const missing = buckets.filter((bucket) => !rows.has(bucket));
        for (const [bucket, stored] of await readRows(this.table, partitionKey, missing)) rows.set(bucket, stored);
      }
      const out = new Map<string, Map<string, LedgerEntry>>();
      for (const [bucket, stored] of rows) out.set(bucket, readJsonMap(stored.row, ENTRIES, isEntry));
      return { buckets: out, handle: rows };
    });
  }

  async summaries(scope: LedgerScope, options: { dueBy?: Date } = {}): Promise<Map<string, LedgerBucketSummary>> {
    const partitionKey = this.partitionKey(scope);
    const filter = options.dueBy === undefined
      ? odata`PartitionKey eq ${partitionKey}`
      : odata`PartitionKey eq ${partitionKey} and due gt ${''} and due le ${options.dueBy.toISOString()}`;
    return withStorageErrors('read ledger summaries', async () => {
      const out = new Map<string, LedgerBucketSummary>();
      for await (const page of queryPages(this.table, filter, { select: SUMMARY_COLUMNS })) {
        for (const row of page) if (row.rowKey !== undefined) out.set(row.rowKey, summaryOf(row));
      }
      return out;
    });
  }

  async update(
    scope: LedgerScope,
    buckets: readonly string[],
    mutate: (bucket: string, entries: Map<string, LedgerEntry>) => void,
    summarize: (entries: ReadonlyMap<string, LedgerEntry>) => LedgerBucketSummary,
    options: { preloaded?: LedgerRead } = {},
  ): Promise<void> {
    if (buckets.length === 0) return;
    const partitionKey = this.partitionKey(scope);
    const preloaded = options.preloaded === undefined ? undefined : rowsOf(options.preloaded);
    await withStorageErrors('write ledger', () =>
      updateRowGroups(this.table, partitionKey, buckets.map((bucket) => [bucket]), (rows) => {
        const [bucket, row] = [...rows][0] ?? ['', undefined];
        const before = row === undefined ? undefined : readJsonMap(row, ENTRIES, isEntry);
        const entries = new Map(before ?? []);
        mutate(bucket, entries);
        if (before !== undefined ? sameEntries(before, entries) : entries.size === 0) return undefined;
        const summary = summarize(entries);
        return new Map([[bucket, {
          v: SCHEMA_VERSION,
          ...jsonMapColumns(ENTRIES, canonical(entries)),
          due: summary.due ?? '', pd: summary.pendingDue ?? '',
          n: summary.held, w: summary.wanted, o: summary.owed, p: summary.pending, x: summary.failed,
        }]]);
      }, preloaded === undefined ? {} : { preloaded }),
    );
  }

  private partitionKey(scope: LedgerScope): string {
    for (const part of [scope.destination, scope.source]) assertKeyPart(part, 'destination or source name');
    return ledgerPartitionKey(scope);
  }
}
