/**
 * Table `Deletions`: what the deletion gate needs to remember between plans. Layout in
 * docs/storage.md:
 * - `executed|<destination>|<source>|<kind>` / `<ISO time>|<random>`: deletions a destination
 *   acknowledged (count), for the rolling 24-hour cap; rows older than 7 days are pruned.
 * - `hold` / `<destination>|<source>|<kind>`: the current hold, if any.
 * - `approval` / `<destination>|<source>|<kind>`: an administrator's approval, until it is used up.
 * - `known|<source>` / `<destination>`: destinations this source has been planned for.
 */
import { randomBytes } from 'node:crypto';
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { DeletionApproval, DeletionHold, DeletionStateStore, UploadKind } from '../sync/ports';
import { statusOf, toStorageError, withStorageErrors } from './errors';
import type { StorageTarget } from './storageAccount';
import { ensureTable, getRowOrUndefined, openTable, queryPages, submitBatched, type Row, type TableAccessOptions } from './tableBatch';

const SCHEMA_VERSION = 1;
const HOLD = 'hold';
const APPROVAL = 'approval';
/** Executed-deletion rows are needed for 24 hours; a week keeps them for anyone investigating. */
const KEEP_EXECUTED_IN_MS = 7 * 24 * 3_600_000;

function scopeKey(destination: string, source: string, kind: UploadKind): string {
  return `${destination}|${source}|${kind}`;
}

function executedPartition(destination: string, source: string, kind: UploadKind): string {
  return `executed|${scopeKey(destination, source, kind)}`;
}

function text(row: Row, column: string): string {
  const value = row[column];
  return typeof value === 'string' ? value : '';
}

function count(row: Row, column: string): number {
  const value = row[column];
  return typeof value === 'number' ? value : 0;
}

function kindOf(value: string): UploadKind {
  return value === 'groups' ? 'groups' : 'users';
}

function decodeHold(row: Row): DeletionHold {
  const threshold = row.threshold;
  return {
    destination: text(row, 'destination'), source: text(row, 'source'), kind: kindOf(text(row, 'kind')),
    holdId: text(row, 'holdId'), held: count(row, 'held'), destinationSize: count(row, 'destinationSize'),
    deletedLast24h: count(row, 'deletedLast24h'), threshold: typeof threshold === 'number' ? threshold : null,
    reason: text(row, 'reason'), leftScopeCutoff: text(row, 'leftScopeCutoff'), heldSince: text(row, 'heldSince'),
    plannedAt: text(row, 'plannedAt'), runId: text(row, 'runId'),
  };
}

function decodeApproval(row: Row): DeletionApproval {
  return {
    destination: text(row, 'destination'), source: text(row, 'source'), kind: kindOf(text(row, 'kind')),
    holdId: text(row, 'holdId'), leftScopeCutoff: text(row, 'leftScopeCutoff'), count: count(row, 'count'),
    approvedBy: text(row, 'approvedBy'), approvedAt: text(row, 'approvedAt'),
  };
}

export class TableDeletionStateStore implements DeletionStateStore {
  private readonly table: TableClient;

  constructor(target: StorageTarget, options: TableAccessOptions = {}) {
    this.table = openTable(target, 'Deletions', options);
  }

  async initialize(): Promise<void> {
    await ensureTable(this.table);
  }

  async recordExecuted(destination: string, source: string, kind: UploadKind, executed: number, at: Date): Promise<void> {
    if (executed <= 0) return;
    const partitionKey = executedPartition(destination, source, kind);
    await withStorageErrors('record executed deletions', () =>
      this.table.createEntity({ partitionKey, rowKey: `${at.toISOString()}|${randomBytes(4).toString('hex')}`, v: SCHEMA_VERSION, count: executed }),
    );
    const old: TransactionAction[] = [];
    const cutoff = new Date(at.getTime() - KEEP_EXECUTED_IN_MS).toISOString();
    for await (const page of queryPages(this.table, odata`PartitionKey eq ${partitionKey} and RowKey lt ${cutoff}`, { select: ['PartitionKey', 'RowKey'] })) {
      for (const row of page) if (row.rowKey !== undefined) old.push(['delete', { partitionKey, rowKey: row.rowKey }]);
    }
    if (old.length > 0) await submitBatched(this.table, old);
  }

  async countExecutedSince(destination: string, source: string, kind: UploadKind, since: Date): Promise<number> {
    let total = 0;
    const filter = odata`PartitionKey eq ${executedPartition(destination, source, kind)} and RowKey ge ${since.toISOString()}`;
    for await (const page of queryPages(this.table, filter, { select: ['count'] })) for (const row of page) total += count(row, 'count');
    return total;
  }

  async getHold(destination: string, source: string, kind: UploadKind): Promise<DeletionHold | undefined> {
    const row = await this.read(HOLD, scopeKey(destination, source, kind));
    return row === undefined ? undefined : decodeHold(row);
  }

  async putHold(hold: DeletionHold): Promise<void> {
    await withStorageErrors('write deletion hold', () =>
      this.table.upsertEntity({ partitionKey: HOLD, rowKey: scopeKey(hold.destination, hold.source, hold.kind), v: SCHEMA_VERSION, ...hold }, 'Replace'),
    );
  }

  async clearHold(destination: string, source: string, kind: UploadKind): Promise<void> {
    await this.remove(HOLD, scopeKey(destination, source, kind));
  }

  async listHolds(): Promise<DeletionHold[]> {
    const holds: DeletionHold[] = [];
    for await (const page of queryPages(this.table, odata`PartitionKey eq ${HOLD}`)) for (const row of page) holds.push(decodeHold(row));
    return holds;
  }

  async getApproval(destination: string, source: string, kind: UploadKind): Promise<DeletionApproval | undefined> {
    const row = await this.read(APPROVAL, scopeKey(destination, source, kind));
    return row === undefined ? undefined : decodeApproval(row);
  }

  async putApproval(approval: DeletionApproval): Promise<void> {
    await withStorageErrors('write deletion approval', () =>
      this.table.upsertEntity({ partitionKey: APPROVAL, rowKey: scopeKey(approval.destination, approval.source, approval.kind), v: SCHEMA_VERSION, ...approval }, 'Replace'),
    );
  }

  async clearApproval(destination: string, source: string, kind: UploadKind): Promise<void> {
    await this.remove(APPROVAL, scopeKey(destination, source, kind));
  }

  async knownDestinations(source: string): Promise<string[]> {
    const names: string[] = [];
    for await (const page of queryPages(this.table, odata`PartitionKey eq ${`known|${source}`}`, { select: ['RowKey'] })) {
      for (const row of page) if (row.rowKey !== undefined) names.push(row.rowKey);
    }
    return names;
  }

  async rememberDestination(source: string, destination: string, at: Date): Promise<void> {
    await withStorageErrors('remember destination', () =>
      this.table.upsertEntity({ partitionKey: `known|${source}`, rowKey: destination, v: SCHEMA_VERSION, firstPlannedAt: at.toISOString() }, 'Replace'),
    );
  }

  private async read(partitionKey: string, rowKey: string): Promise<Row | undefined> {
    return withStorageErrors(`read ${partitionKey} row`, () => getRowOrUndefined(this.table, partitionKey, rowKey));
  }

  private async remove(partitionKey: string, rowKey: string): Promise<void> {
    try {
      await this.table.deleteEntity(partitionKey, rowKey);
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw toStorageError(error, `delete ${partitionKey} row`);
    }
  }
}
