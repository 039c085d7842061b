/**
 * Table `RunHistory`: the last runs of each source, for the status page's sparklines. PartitionKey
 * = source, RowKey = reversed milliseconds + `|` + random, so the newest runs are the first rows of
 * one single-partition query. A write reads the keys of the newest `keep + 10` rows and, in one
 * transaction with the new row, deletes those beyond the newest `keep`: the partition never grows
 * and nothing is scanned. Layout in docs/storage.md.
 */
import { randomBytes } from 'node:crypto';
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { RunHistoryEntry, RunHistoryStore } from '../sync/ports';
import { toStorageError } from './errors';
import type { StorageTarget } from './storageAccount';
import { ensureTable, openTable, submitBatched, type Row, type TableAccessOptions } from './tableBatch';

const SCHEMA_VERSION = 1;
/** Runs kept per source: about half a day of 15-minute timer runs, enough for a trend. */
export const RUNS_KEPT_PER_SOURCE = 50;
/** Rows read beyond `keep` when trimming, so rows left by an earlier failed trim go too. */
const TRIM_SLACK = 10;
/** Larger than any millisecond timestamp until the year 2286, so the reversed key keeps 13 digits. */
const LATEST_MS = 9_999_999_999_999;

const ROUNDS: ReadonlySet<string> = new Set(['full', 'incremental', 'none']);
const OUTCOMES: ReadonlySet<string> = new Set(['ok', 'partial', 'failed']);

function reversedKey(endedAt: string): string {
  const ms = Date.parse(endedAt);
  if (Number.isNaN(ms)) throw new Error(`run history: endedAt "${endedAt}" is not an ISO time`);
  return `${String(LATEST_MS - ms).padStart(13, '0')}|${randomBytes(4).toString('hex')}`;
}

function decode(source: string, row: Row): RunHistoryEntry | undefined {
  const text = (column: string): string | undefined => { const value = row[column]; return typeof value === 'string' ? value : undefined; };
  const number = (column: string): number => { const value = row[column]; return typeof value === 'number' && Number.isFinite(value) ? value : 0; };
  const round = text('round');
  const outcome = text('outcome');
  const endedAt = text('endedAt');
  // A row this version cannot read is left out of the page rather than shown wrong.
  if (round === undefined || !ROUNDS.has(round) || outcome === undefined || !OUTCOMES.has(outcome) || endedAt === undefined) return undefined;
  const lag = row.lagSeconds;
  return {
    runId: text('runId') ?? '', source, endedAt, durationSeconds: number('durationSeconds'),
    round: round as RunHistoryEntry['round'], outcome: outcome as RunHistoryEntry['outcome'],
    lagSeconds: typeof lag === 'number' && Number.isFinite(lag) ? lag : null,
    objects: number('objects'), succeeded: number('succeeded'), failed: number('failed'),
    delivery: text('delivery') === 'queued' ? 'queued' : 'inProcess',
  };
}

export class TableRunHistoryStore implements RunHistoryStore {
  private readonly table: TableClient;

  constructor(target: StorageTarget, options: TableAccessOptions = {}) {
    this.table = openTable(target, 'RunHistory', options);
  }

  async initialize(): Promise<void> {
    await ensureTable(this.table);
  }

  /** The first page of a source's rows, newest first: one request, no read-ahead. */
  private async newestRows(source: string, count: number, select?: string[]): Promise<Row[]> {
    const filter = odata`PartitionKey eq ${source}`;
    const pages = this.table
      .listEntities<Record<string, unknown>>({ queryOptions: select === undefined ? { filter } : { filter, select } })
      .byPage({ maxPageSize: count });
    try {
      const first = await pages.next();
      return first.done === true ? [] : first.value;
    } catch (error) {
      throw toStorageError(error, 'read run history');
    }
  }

  async record(entry: RunHistoryEntry, options: { keep?: number } = {}): Promise<void> {
    const keep = Math.max(1, options.keep ?? RUNS_KEPT_PER_SOURCE);
    const existing = await this.newestRows(entry.source, keep + TRIM_SLACK, ['RowKey']);
    // The new row is the newest, so of the existing ones the newest keep − 1 stay.
    const beyond = existing.slice(keep - 1).flatMap((row) => (row.rowKey === undefined ? [] : [row.rowKey]));
    const { source, lagSeconds, ...fields } = entry;
    const actions: TransactionAction[] = [
      ['create', { partitionKey: source, rowKey: reversedKey(entry.endedAt), v: SCHEMA_VERSION, ...fields, ...(lagSeconds === null ? {} : { lagSeconds }) }],
      ...beyond.map((rowKey): TransactionAction => ['delete', { partitionKey: source, rowKey }]),
    ];
    await submitBatched(this.table, actions);
  }

  async latest(source: string, options: { limit?: number } = {}): Promise<RunHistoryEntry[]> {
    const limit = Math.max(1, options.limit ?? RUNS_KEPT_PER_SOURCE);
    const rows = await this.newestRows(source, limit);
    return rows.slice(0, limit).flatMap((row) => decode(source, row) ?? []);
  }
}
