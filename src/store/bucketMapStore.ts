/**
 * A per-source map from object id to a small JSON value, kept in 256 bucket rows (bucketRows.ts):
 * the manager → reports index and the conflicts use it. Reading one id costs the row of its
 * bucket; reading everything is one query.
 */
import type { TableClient } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import { bucketOfId, jsonMapColumns, readJsonMap, readRows, updateRowGroups, type StoredRow } from './bucketRows';
import { SCHEMA_VERSION, assertSourceName } from './entityCodec';
import { withStorageErrors } from './errors';
import type { StorageTarget } from './storageAccount';
import { ensureTable, openTable, queryPages, type TableAccessOptions } from './tableBatch';

const VALUES = 'm';

export class TableBucketMap<T> {
  private readonly table: TableClient;

  constructor(target: StorageTarget, tableBase: string, private readonly isValue: (value: unknown) => value is T, options: TableAccessOptions = {}) {
    this.table = openTable(target, tableBase, options);
  }

  async initialize(): Promise<void> {
    await ensureTable(this.table);
  }

  /** The values of the given ids (ids without one are absent). */
  async get(source: string, ids: readonly string[]): Promise<Map<string, T>> {
    assertSourceName(source);
    const rows = await withStorageErrors(`read ${this.table.tableName}`, () => readRows(this.table, source, ids.map(bucketOfId)));
    const wanted = new Set(ids);
    const out = new Map<string, T>();
    for (const stored of rows.values()) {
      for (const [id, value] of readJsonMap(stored.row, VALUES, this.isValue)) if (wanted.has(id)) out.set(id, value);
    }
    return out;
  }

  async all(source: string): Promise<Map<string, T>> {
    assertSourceName(source);
    const out = new Map<string, T>();
    await withStorageErrors(`read ${this.table.tableName}`, async () => {
      for await (const page of queryPages(this.table, odata`PartitionKey eq ${source}`)) {
        for (const row of page) for (const [id, value] of readJsonMap(row, VALUES, this.isValue)) out.set(id, value);
      }
    });
    return out;
  }

  /**
   * Applies `mutate` to the values of the buckets holding `ids` (a pure function of what it is
   * given: it runs again after a concurrent write) and writes the buckets that changed.
   */
  async update(source: string, ids: Iterable<string>, mutate: (values: Map<string, T>, bucket: string) => void): Promise<void> {
    assertSourceName(source);
    const buckets = [...new Set([...ids].map(bucketOfId))].sort();
    await this.updateBuckets(source, buckets, mutate);
  }

  /** Makes the stored map equal to `values`: only buckets that differ are written. */
  async replace(source: string, values: ReadonlyMap<string, T>): Promise<void> {
    assertSourceName(source);
    const byBucket = new Map<string, Map<string, T>>();
    for (const [id, value] of values) {
      const bucket = bucketOfId(id);
      const map = byBucket.get(bucket) ?? new Map<string, T>();
      byBucket.set(bucket, map);
      map.set(id, value);
    }
    const stored = new Map<string, StoredRow>();
    await withStorageErrors(`read ${this.table.tableName}`, async () => {
      for await (const page of queryPages(this.table, odata`PartitionKey eq ${source}`)) {
        for (const row of page) if (row.rowKey !== undefined) stored.set(row.rowKey, { row, etag: row.etag });
      }
    });
    const buckets = [...new Set([...byBucket.keys(), ...stored.keys()])].sort();
    for (const bucket of buckets) if (!stored.has(bucket)) stored.set(bucket, { row: undefined, etag: undefined });
    await this.updateBuckets(source, buckets, (current, bucket) => {
      current.clear();
      for (const [id, value] of byBucket.get(bucket) ?? []) current.set(id, value);
    }, stored);
  }

  private async updateBuckets(
    source: string,
    buckets: readonly string[],
    mutate: (values: Map<string, T>, bucket: string) => void,
    preloaded?: ReadonlyMap<string, StoredRow>,
  ): Promise<void> {
    if (buckets.length === 0) return;
    await withStorageErrors(`write ${this.table.tableName}`, () =>
      updateRowGroups(this.table, source, buckets.map((bucket) => [bucket]), (rows) => {
        const [bucket, row] = [...rows][0] ?? ['', undefined];
        const before = readJsonMap(row, VALUES, this.isValue);
        const after = new Map(before);
        mutate(after, bucket);
        if (JSON.stringify(sortedEntries(before)) === JSON.stringify(sortedEntries(after))) return undefined;
        return new Map([[bucket, { v: SCHEMA_VERSION, ...jsonMapColumns(VALUES, after) }]]);
      }, preloaded === undefined ? {} : { preloaded }),
    );
  }
}

function sortedEntries<T>(map: ReadonlyMap<string, T>): [string, T][] {
  return [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
