/**
 * Table `Audit`: administrative acts (approvals of held deletions), one row each, never changed.
 * PartitionKey = the action (`deletions.approve`), RowKey = reversed milliseconds + random, so a
 * plain query lists the newest first. Layout in docs/storage.md.
 */
import { randomBytes } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { AuditEntry, AuditStore } from '../sync/ports';
import { withStorageErrors } from './errors';
import type { StorageTarget } from './storageAccount';
import { ensureTable, openTable, queryPages, type Row, type TableAccessOptions } from './tableBatch';

const SCHEMA_VERSION = 1;
const ACTION = 'deletions.approve';
/** Larger than any millisecond timestamp until the year 2286, so the reversed key keeps 13 digits. */
const LATEST_MS = 9_999_999_999_999;

function text(row: Row, column: string): string {
  const value = row[column];
  return typeof value === 'string' ? value : '';
}

function decode(row: Row): AuditEntry {
  const number = (column: string): number => { const value = row[column]; return typeof value === 'number' ? value : 0; };
  const threshold = row.threshold;
  return {
    action: ACTION, actor: text(row, 'actor'), via: text(row, 'via'), at: text(row, 'at'),
    destination: text(row, 'destination'), source: text(row, 'source'), kind: text(row, 'kind') === 'groups' ? 'groups' : 'users',
    holdId: text(row, 'holdId'), count: number('count'), destinationSize: number('destinationSize'),
    threshold: typeof threshold === 'number' ? threshold : null, reason: text(row, 'reason'),
  };
}

export class TableAuditStore implements AuditStore {
  private readonly table: TableClient;

  constructor(target: StorageTarget, options: TableAccessOptions = {}) {
    this.table = openTable(target, 'Audit', options);
  }

  async initialize(): Promise<void> {
    await ensureTable(this.table);
  }

  async record(entry: AuditEntry): Promise<void> {
    const reversed = String(LATEST_MS - Date.parse(entry.at)).padStart(13, '0');
    await withStorageErrors('write audit entry', () =>
      this.table.createEntity({ partitionKey: entry.action, rowKey: `${reversed}|${randomBytes(4).toString('hex')}`, v: SCHEMA_VERSION, ...entry }),
    );
  }

  async list(options: { limit?: number } = {}): Promise<AuditEntry[]> {
    const limit = options.limit ?? 100;
    const entries: AuditEntry[] = [];
    for await (const page of queryPages(this.table, odata`PartitionKey eq ${ACTION}`, { pageSize: Math.min(limit, 1000) })) {
      for (const row of page) {
        entries.push(decode(row));
        if (entries.length >= limit) return entries;
      }
    }
    return entries;
  }
}
