/**
 * The audit trail (ObjectAuditLog): one row per write or skip decision per object and destination,
 * kept in one table per UTC day, `<prefix>AuditTrail<yyyymmdd>`. Layout and costs in
 * docs/storage.md ("Audit trail"); in short:
 *
 * - Object rows: PartitionKey `<destination>|<first hex digit of the id's bucket>` (16 per
 *   destination), RowKey `<objectId>|<reversed ms>|<unique>`. Uploads go in id order, so the rows of
 *   one ledger write share one or two partitions and go in transactions of 100; one object's rows
 *   are a RowKey range of one partition (newest first), never a scan.
 * - Recent index: PartitionKey `~recent`, RowKey `<reversed ms of its newest row>|<unique>`, each
 *   entity a JSON list of up to ~30,000 characters of compact rows. The newest rows of a day are the
 *   first entities of that partition: listing the last 100 reads one or two entities.
 * - Destinations seen that day: PartitionKey `~destinations`, RowKey the destination (what an
 *   object's query without --destination asks).
 * - Retention: a day's table is dropped whole (one request) once its last hour is older than the
 *   retention; finding the tables is one listing of the account's tables by name.
 */
import { randomBytes } from 'node:crypto';
import { odata, type TableClient, type TableServiceClient, type TransactionAction } from '@azure/data-tables';
import { bucketOfId } from '../sync/bucketOf';
import type { ObjectAuditAction, ObjectAuditLog, ObjectAuditQuery, ObjectAuditRow, UploadKind } from '../sync/ports';
import { StorageError, statusOf, toStorageError } from './errors';
import { tableName, type StorageTarget } from './storageAccount';
import { ensureTable, openTable, openTableService, queryPages, submitBatched, type Row, type TableAccessOptions } from './tableBatch';

const SCHEMA_VERSION = 1;
const BASE_NAME = 'AuditTrail';
const RECENT_PARTITION = '~recent';
const DESTINATIONS_PARTITION = '~destinations';
/** Larger than any millisecond timestamp until the year 2286, so the reversed key keeps 13 digits. */
const LATEST_MS = 9_999_999_999_999;
/** A string property holds 32K UTF-16 characters; an index entity's JSON stays below this. */
const INDEX_CHARS = 30_000;
const DAY_IN_MS = 86_400_000;
const ACTIONS: readonly ObjectAuditAction[] = ['create', 'update', 'delete', 'staged delete', 'skip', 'failed'];

/** The UTC day of an ISO time, as the table name carries it: `20261203`. */
export function auditDayOf(at: Date): string {
  return at.toISOString().slice(0, 10).replace(/-/g, '');
}

function reversedMs(at: string): string {
  const ms = Date.parse(at);
  return String(LATEST_MS - (Number.isFinite(ms) ? ms : 0)).padStart(13, '0');
}

function objectPartition(destination: string, objectId: string): string {
  return `${destination}|${bucketOfId(objectId).charAt(0)}`;
}

type CompactRow = [runId: string, at: string, destination: string, source: string, kind: UploadKind, objectId: string, action: ObjectAuditAction, reason: string, fields: string[]];

function compact(row: ObjectAuditRow): CompactRow {
  return [row.runId, row.at, row.destination, row.source, row.kind, row.objectId, row.action, row.reason, row.fields];
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function actionOf(value: unknown): ObjectAuditAction {
  return ACTIONS.find((action) => action === value) ?? 'skip';
}

function fieldsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((name): name is string => typeof name === 'string') : [];
}

function expand(value: unknown): ObjectAuditRow | undefined {
  if (!Array.isArray(value) || value.length < 9) return undefined;
  const [runId, at, destination, source, kind, objectId, action, reason, fields] = value as unknown[];
  return {
    runId: text(runId), at: text(at), destination: text(destination), source: text(source), kind: kind === 'groups' ? 'groups' : 'users',
    objectId: text(objectId), action: actionOf(action), reason: text(reason), fields: fieldsOf(fields),
  };
}

function decodeObjectRow(row: Row): ObjectAuditRow {
  const [destination = ''] = text(row.partitionKey).split('|');
  const [objectId = ''] = text(row.rowKey).split('|');
  let fields: unknown;
  try {
    fields = JSON.parse(text(row.fields) || '[]');
  } catch {
    fields = [];
  }
  return {
    runId: text(row.runId), at: text(row.at), destination, source: text(row.source), kind: row.kind === 'groups' ? 'groups' : 'users',
    objectId, action: actionOf(row.action), reason: text(row.reason), fields: fieldsOf(fields),
  };
}

function newestFirst(a: ObjectAuditRow, b: ObjectAuditRow): number {
  return a.at < b.at ? 1 : a.at > b.at ? -1 : 0;
}

/** Splits rows (newest first) into index chunks of at most INDEX_CHARS of JSON each. */
function indexChunks(rows: readonly ObjectAuditRow[]): CompactRow[][] {
  const chunks: CompactRow[][] = [];
  let current: CompactRow[] = [];
  let chars = 2;
  for (const row of rows) {
    const item = compact(row);
    const size = JSON.stringify(item).length + 1;
    if (current.length > 0 && chars + size > INDEX_CHARS) {
      chunks.push(current);
      current = [];
      chars = 2;
    }
    current.push(item);
    chars += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export class TableObjectAuditLog implements ObjectAuditLog {
  private readonly service: TableServiceClient;
  private readonly tables = new Map<string, TableClient>();
  /** Day tables this process created (or found): created once per process and day. */
  private readonly ensured = new Set<string>();
  /** `<day>|<destination>` markers this process wrote. */
  private readonly marked = new Set<string>();
  /** The last cutoff day purged by this process: one table listing per day at most. */
  private purgedThrough: string | undefined;

  constructor(private readonly target: StorageTarget, private readonly options: TableAccessOptions = {}) {
    this.service = openTableService(target, options);
  }

  /** Nothing to create up front: a day's table is created by the first write of its day. */
  initialize(): Promise<void> {
    return Promise.resolve();
  }

  private table(day: string): TableClient {
    let table = this.tables.get(day);
    if (table === undefined) {
      table = openTable(this.target, `${BASE_NAME}${day}`, this.options);
      this.tables.set(day, table);
    }
    return table;
  }

  async recordMany(rows: readonly ObjectAuditRow[]): Promise<void> {
    const byDay = new Map<string, ObjectAuditRow[]>();
    for (const row of rows) {
      const at = new Date(Date.parse(row.at));
      const day = auditDayOf(Number.isFinite(at.getTime()) ? at : new Date());
      byDay.set(day, [...(byDay.get(day) ?? []), row]);
    }
    for (const [day, dayRows] of byDay) await this.recordDay(day, dayRows);
  }

  private async recordDay(day: string, rows: readonly ObjectAuditRow[]): Promise<void> {
    const table = this.table(day);
    if (!this.ensured.has(day)) {
      await ensureTable(table);
      this.ensured.add(day);
    }
    // A random tag per call and a counter keep every key of the call distinct, and calls apart.
    const tag = randomBytes(4).toString('hex');
    const actions: TransactionAction[] = rows.map((row, index) => ['upsert', {
      partitionKey: objectPartition(row.destination, row.objectId),
      rowKey: `${row.objectId}|${reversedMs(row.at)}|${tag}${index.toString(36)}`,
      v: SCHEMA_VERSION, runId: row.runId, at: row.at, source: row.source, kind: row.kind, action: row.action, reason: row.reason,
      fields: JSON.stringify(row.fields),
    }, 'Replace']);
    const sorted = [...rows].sort(newestFirst);
    indexChunks(sorted).forEach((chunk, index) => {
      actions.push(['upsert', {
        partitionKey: RECENT_PARTITION, rowKey: `${reversedMs(chunk[0]?.[1] ?? '')}|${tag}${index.toString(36)}`, v: SCHEMA_VERSION, rows: JSON.stringify(chunk),
      }, 'Replace']);
    });
    const destinations = [...new Set(rows.map((row) => row.destination))].filter((destination) => !this.marked.has(`${day}|${destination}`));
    for (const destination of destinations) actions.push(['upsert', { partitionKey: DESTINATIONS_PARTITION, rowKey: destination, v: SCHEMA_VERSION }, 'Replace']);
    await submitBatched(table, actions, this.options.concurrency === undefined ? {} : { concurrency: this.options.concurrency });
    for (const destination of destinations) this.marked.add(`${day}|${destination}`);
  }

  /** The day tables that exist, newest first. One request (a page per 1,000 tables). */
  private async days(): Promise<string[]> {
    const base = tableName(this.target, BASE_NAME);
    const pattern = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\d{8})$`);
    const days: string[] = [];
    try {
      for await (const table of this.service.listTables({ queryOptions: { filter: odata`TableName ge ${base} and TableName lt ${`${base}~`}` } })) {
        const day = pattern.exec(table.name ?? '')?.[1];
        if (day !== undefined) days.push(day);
      }
    } catch (error) {
      throw toStorageError(error, 'list the audit trail tables');
    }
    return days.sort().reverse();
  }

  async query(query: ObjectAuditQuery = {}): Promise<ObjectAuditRow[]> {
    const limit = query.limit ?? 100;
    const since = query.since?.toISOString();
    const firstDay = query.since === undefined ? undefined : auditDayOf(query.since);
    const days = (await this.days()).filter((day) => firstDay === undefined || day >= firstDay);
    const found: ObjectAuditRow[] = [];
    const keep = (row: ObjectAuditRow) => (since === undefined || row.at >= since) && (query.destination === undefined || row.destination === query.destination);
    for (const day of days) {
      if (found.length >= limit) break;
      const rows = query.objectId === undefined ? await this.recentOfDay(day, limit - found.length, keep) : await this.objectOfDay(day, query.objectId, query.destination);
      found.push(...rows.filter(keep));
    }
    return found.sort(newestFirst).slice(0, limit);
  }

  /** One object's rows of one day: a RowKey range in one partition per destination. */
  private async objectOfDay(day: string, objectId: string, destination: string | undefined): Promise<ObjectAuditRow[]> {
    const table = this.table(day);
    const destinations = destination !== undefined ? [destination] : await this.destinationsOfDay(table);
    const rows: ObjectAuditRow[] = [];
    for (const name of destinations) {
      const filter = odata`PartitionKey eq ${objectPartition(name, objectId)} and RowKey ge ${`${objectId}|`} and RowKey lt ${`${objectId}|~`}`;
      for await (const page of this.pagesOrNone(table, filter)) rows.push(...page.map(decodeObjectRow));
    }
    return rows;
  }

  private async destinationsOfDay(table: TableClient): Promise<string[]> {
    const names: string[] = [];
    for await (const page of this.pagesOrNone(table, odata`PartitionKey eq ${DESTINATIONS_PARTITION}`)) names.push(...page.map((row) => text(row.rowKey)));
    return names;
  }

  /**
   * The newest rows of one day from the recent index, read entity by entity until `wanted` rows
   * passed `keep` and the next entity holds nothing newer than the oldest of them.
   */
  private async recentOfDay(day: string, wanted: number, keep: (row: ObjectAuditRow) => boolean): Promise<ObjectAuditRow[]> {
    const rows: ObjectAuditRow[] = [];
    for await (const page of this.pagesOrNone(this.table(day), odata`PartitionKey eq ${RECENT_PARTITION}`, 10)) {
      for (const entity of page) {
        let list: unknown;
        try {
          list = JSON.parse(text(entity.rows) || '[]');
        } catch {
          list = [];
        }
        const entityRows = (Array.isArray(list) ? list : []).map(expand).filter((row): row is ObjectAuditRow => row !== undefined);
        const newest = entityRows[0]?.at ?? '';
        if (rows.length >= wanted) {
          const oldestKept = [...rows].sort(newestFirst)[wanted - 1]?.at ?? '';
          if (newest < oldestKept) return rows;
        }
        rows.push(...entityRows.filter(keep));
      }
    }
    return rows;
  }

  /** A day table dropped meanwhile (by a purge) reads as empty. */
  private async *pagesOrNone(table: TableClient, filter: string, pageSize?: number): AsyncIterable<Row[]> {
    try {
      yield* queryPages(table, filter, pageSize === undefined ? {} : { pageSize });
    } catch (error) {
      if (error instanceof StorageError && error.status === 404) return;
      throw error;
    }
  }

  async purge(retentionDays: number, now: Date): Promise<void> {
    // A day's table goes once its last row is older than the retention: its day is before the cutoff day.
    const cutoff = auditDayOf(new Date(now.getTime() - retentionDays * DAY_IN_MS));
    if (this.purgedThrough === cutoff) return;
    for (const day of await this.days()) {
      if (day >= cutoff) continue;
      try {
        await this.service.deleteTable(tableName(this.target, `${BASE_NAME}${day}`));
      } catch (error) {
        // Dropped by another process meanwhile: done.
        if (statusOf(error) !== 404) throw toStorageError(error, `drop the audit trail table of ${day}`);
      }
      this.tables.delete(day);
      this.ensured.delete(day);
    }
    this.purgedThrough = cutoff;
  }
}
