/**
 * Table `Audit`: administrative acts (approvals of held deletions, pauses and resumes of mappings),
 * one row each, never changed. PartitionKey = the action (`deletions.approve`, `mappings.pause`,
 * `mappings.resume`), RowKey = reversed milliseconds + random, so a plain query of one action lists
 * its newest first; a listing of several actions reads each partition's newest and merges them by
 * RowKey. Layout in docs/storage.md.
 */
import { randomBytes } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { AuditAction, AuditEntry, AuditStore, PausedPair } from '../sync/ports';
import { withStorageErrors } from './errors';
import type { StorageTarget } from './storageAccount';
import { ensureTable, openTable, queryPages, type Row, type TableAccessOptions } from './tableBatch';

const SCHEMA_VERSION = 1;
const ACTIONS: readonly AuditAction[] = ['deletions.approve', 'mappings.pause', 'mappings.resume'];
/** Larger than any millisecond timestamp until the year 2286, so the reversed key keeps 13 digits. */
const LATEST_MS = 9_999_999_999_999;

function text(row: Row, column: string): string {
  const value = row[column];
  return typeof value === 'string' ? value : '';
}

function number(row: Row, column: string): number {
  const value = row[column];
  return typeof value === 'number' ? value : 0;
}

function json(row: Row, column: string): unknown {
  try {
    return JSON.parse(text(row, column)) as unknown;
  } catch {
    return undefined;
  }
}

function pairsOf(value: unknown): 'all' | PausedPair[] {
  if (value === 'all') return 'all';
  if (!Array.isArray(value)) return [];
  return value.flatMap((item: unknown) => {
    if (typeof item !== 'object' || item === null) return [];
    const { source, destination } = item as Record<string, unknown>;
    return typeof source === 'string' && typeof destination === 'string' ? [{ source, destination }] : [];
  });
}

function decode(action: AuditAction, row: Row): AuditEntry {
  const common = { actor: text(row, 'actor'), via: text(row, 'via'), at: text(row, 'at') };
  if (action === 'deletions.approve') {
    const threshold = row.threshold;
    return {
      action, ...common,
      destination: text(row, 'destination'), source: text(row, 'source'), kind: text(row, 'kind') === 'groups' ? 'groups' : 'users',
      holdId: text(row, 'holdId'), count: number(row, 'count'), destinationSize: number(row, 'destinationSize'),
      threshold: typeof threshold === 'number' ? threshold : null, reason: text(row, 'reason'),
    };
  }
  const mappings = json(row, 'mappings');
  return {
    action, ...common, pairs: pairsOf(json(row, 'pairs')),
    mappings: Array.isArray(mappings) ? mappings.filter((value): value is number => Number.isInteger(value)) : [],
    reason: text(row, 'reason'),
  };
}

/** The columns of an entry: scalars as they are, the pause's lists as JSON text. */
function encode(entry: AuditEntry): Record<string, unknown> {
  if (entry.action === 'deletions.approve') return { ...entry };
  return { ...entry, pairs: JSON.stringify(entry.pairs), mappings: JSON.stringify(entry.mappings) };
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
      this.table.createEntity({ partitionKey: entry.action, rowKey: `${reversed}|${randomBytes(4).toString('hex')}`, v: SCHEMA_VERSION, ...encode(entry) }),
    );
  }

  async list(options: { limit?: number; actions?: readonly AuditAction[] } = {}): Promise<AuditEntry[]> {
    const limit = options.limit ?? 100;
    const rows: { rowKey: string; entry: AuditEntry }[] = [];
    // Each partition is newest first: its first `limit` rows are all that can make the merged first `limit`.
    for (const action of options.actions ?? ACTIONS) {
      let taken = 0;
      for await (const page of queryPages(this.table, odata`PartitionKey eq ${action}`, { pageSize: Math.min(limit, 1000) })) {
        for (const row of page) {
          if (taken >= limit) break;
          rows.push({ rowKey: row.rowKey ?? '', entry: decode(action, row) });
          taken += 1;
        }
        if (taken >= limit) break;
      }
    }
    return rows.sort((a, b) => (a.rowKey < b.rowKey ? -1 : a.rowKey > b.rowKey ? 1 : 0)).slice(0, limit).map((row) => row.entry);
  }
}
