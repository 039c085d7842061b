/**
 * Where each source's delta reading stands: one row per (source, kind) in the Cursors table.
 * Each field is a JSON column (chunked if ever longer than one string property), so nulls and the
 * round object survive; `put` replaces the whole row.
 *
 * Fenced writes (the pull's): the row keeps the fencing token of the lock holder that wrote it
 * (`fence`), and a write is conditional on the row's ETag, after checking that no later holder
 * wrote it. A holder that lost its lease without noticing (a page slower than the lease, a paused
 * process) is refused instead of moving the cursor back. The ETag of this store's last read or
 * write is kept, so the usual write (same holder, nobody else wrote) costs one request.
 */
import type { TableClient } from '@azure/data-tables';
import type { DirectoryKind } from '../sync/directory';
import type { CursorStore, DeltaCursor, DeltaRound, DispatchMarker, DispatchMarkerStore, HeldLock, PlanState, PlanStateStore } from '../sync/ports';
import type { StorageTarget } from './storageAccount';
import { COLUMN, SCHEMA_VERSION, TABLE_NAMES, assertSourceName, jsonColumn, readJsonColumn } from './entityCodec';
import { ensureTable, getRowOrUndefined, openTable, type TableAccessOptions } from './tableBatch';
import { LockLostError, statusOf, withStorageErrors } from './errors';

function textOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function roundOrNull(value: unknown): DeltaRound | null {
  if (typeof value !== 'object' || value === null) return null;
  const { id, kind, startedAt, pages, dropSelection } = value as Record<string, unknown>;
  if (typeof id !== 'string' || (kind !== 'full' && kind !== 'incremental') || typeof startedAt !== 'string' || typeof pages !== 'number') {
    return null;
  }
  return { id, kind, startedAt, pages, ...(typeof dropSelection === 'string' && dropSelection !== '' ? { dropSelection } : {}) };
}

function isUnreachable(value: unknown): value is PlanState['unreachable'][number] {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  return typeof entry.destination === 'string' && typeof entry.users === 'number' && typeof entry.groups === 'number';
}

/** The plan state lives beside the cursors: PartitionKey source, RowKey `plan`. */
const PLAN_ROW = 'plan';
/** So does a queue dispatch under way: RowKey `dispatch`. */
const DISPATCH_ROW = 'dispatch';
/** Rounds of read, check and conditional write before a fenced write gives up on a row others keep changing. */
const MAX_FENCED_WRITE_ATTEMPTS = 4;

export class TableCursorStore implements CursorStore, PlanStateStore, DispatchMarkerStore {
  private readonly table: TableClient;
  /** `source|kind` → the ETag this store last read or wrote, and the fence in that row. */
  private readonly known = new Map<string, { etag: string; fence: number }>();

  constructor(target: StorageTarget, options: TableAccessOptions = {}) {
    this.table = openTable(target, TABLE_NAMES.cursors, options);
  }

  async initialize(): Promise<void> {
    await ensureTable(this.table);
  }

  /**
   * Unreadable fields read as null rather than failing: the engine then starts a full round,
   * which repairs the cursor, instead of every run failing on the same row.
   */
  async get(source: string, kind: DirectoryKind): Promise<DeltaCursor | undefined> {
    assertSourceName(source);
    return withStorageErrors('get cursor', async () => {
      const row = await getRowOrUndefined(this.table, source, kind);
      this.remember(source, kind, row);
      if (row === undefined) return undefined;
      return {
        nextLink: textOrNull(readJsonColumn(row, 'nextLink')),
        deltaLink: textOrNull(readJsonColumn(row, 'deltaLink')),
        round: roundOrNull(readJsonColumn(row, 'round')),
        lastFullRoundCompletedAt: textOrNull(readJsonColumn(row, 'lastFullRoundCompletedAt')),
        lastRoundCompletedAt: textOrNull(readJsonColumn(row, 'lastRoundCompletedAt')),
        ...(typeof row.selection === 'string' ? { selection: row.selection } : {}),
      };
    });
  }

  async put(source: string, kind: DirectoryKind, cursor: DeltaCursor, fencedBy?: HeldLock): Promise<void> {
    assertSourceName(source);
    const row = (fence: number | undefined) => ({
      partitionKey: source,
      rowKey: kind,
      [COLUMN.version]: SCHEMA_VERSION,
      ...(fence !== undefined ? { fence } : {}),
      ...jsonColumn('nextLink', cursor.nextLink),
      ...jsonColumn('deltaLink', cursor.deltaLink),
      ...jsonColumn('round', cursor.round),
      ...jsonColumn('lastFullRoundCompletedAt', cursor.lastFullRoundCompletedAt),
      ...jsonColumn('lastRoundCompletedAt', cursor.lastRoundCompletedAt),
      ...(cursor.selection ? { selection: cursor.selection } : {}),
    });
    if (fencedBy === undefined) {
      await withStorageErrors('put cursor', async () => {
        const written = await this.table.upsertEntity(row(undefined), 'Replace');
        this.known.set(`${source}|${kind}`, { etag: written.etag ?? '', fence: 0 });
      });
      return;
    }
    await withStorageErrors('put cursor', async () => {
      for (let attempt = 0; attempt < MAX_FENCED_WRITE_ATTEMPTS; attempt += 1) {
        let known = this.known.get(`${source}|${kind}`);
        if (known === undefined || attempt > 0) {
          const current = await getRowOrUndefined(this.table, source, kind);
          this.remember(source, kind, current);
          known = this.known.get(`${source}|${kind}`);
        }
        if (known !== undefined && known.fence > fencedBy.fence) {
          throw new LockLostError(fencedBy.name, fencedBy.holder, {
            cause: new Error(`the ${kind} cursor of ${source} was written by a later holder (fence ${known.fence} > ${fencedBy.fence}); this write was refused`),
          });
        }
        try {
          const written = known === undefined
            ? await this.table.createEntity(row(fencedBy.fence))
            : await this.table.updateEntity(row(fencedBy.fence), 'Replace', { etag: known.etag });
          this.known.set(`${source}|${kind}`, { etag: written.etag ?? '', fence: fencedBy.fence });
          return;
        } catch (error) {
          const status = statusOf(error);
          // Someone else wrote (or created, or deleted) the row since we looked: look again.
          if (status !== 412 && status !== 409 && status !== 404) throw error;
          this.known.delete(`${source}|${kind}`);
        }
      }
      throw new Error(`the ${kind} cursor of ${source} kept changing under ${MAX_FENCED_WRITE_ATTEMPTS} conditional writes`);
    });
  }

  private remember(source: string, kind: DirectoryKind, row: Readonly<Record<string, unknown>> | undefined): void {
    const etag = row?.etag;
    if (row === undefined || typeof etag !== 'string') {
      this.known.delete(`${source}|${kind}`);
      return;
    }
    this.known.set(`${source}|${kind}`, { etag, fence: typeof row.fence === 'number' ? row.fence : 0 });
  }

  async getPlanState(source: string): Promise<PlanState | undefined> {
    assertSourceName(source);
    return withStorageErrors('get plan state', async () => {
      const row = await getRowOrUndefined(this.table, source, PLAN_ROW);
      if (row === undefined) return undefined;
      const { configHash, users, groups, lastWholePlanAt } = row;
      if (typeof configHash !== 'string' || typeof lastWholePlanAt !== 'string') return undefined;
      const unreachable = readJsonColumn(row, 'unreachable');
      return {
        configHash, users: typeof users === 'number' ? users : 0, groups: typeof groups === 'number' ? groups : 0, lastWholePlanAt,
        unreachable: Array.isArray(unreachable) ? unreachable.filter(isUnreachable) : [],
      };
    });
  }

  async putPlanState(source: string, state: PlanState): Promise<void> {
    assertSourceName(source);
    await withStorageErrors('put plan state', () =>
      this.table.upsertEntity({
        partitionKey: source, rowKey: PLAN_ROW, [COLUMN.version]: SCHEMA_VERSION,
        configHash: state.configHash, users: state.users, groups: state.groups, lastWholePlanAt: state.lastWholePlanAt,
        ...jsonColumn('unreachable', state.unreachable),
      }, 'Replace'));
  }

  async getDispatch(source: string): Promise<DispatchMarker | undefined> {
    assertSourceName(source);
    return withStorageErrors('get dispatch marker', async () => {
      const row = await getRowOrUndefined(this.table, source, DISPATCH_ROW);
      if (row === undefined || typeof row.q !== 'string') return undefined;
      const scopes = readJsonColumn(row, 'scopes');
      return { q: row.q, scopes: Array.isArray(scopes) ? scopes.filter(isDispatchScope) : [] };
    });
  }

  async putDispatch(source: string, marker: DispatchMarker): Promise<void> {
    assertSourceName(source);
    await withStorageErrors('put dispatch marker', () =>
      this.table.upsertEntity({ partitionKey: source, rowKey: DISPATCH_ROW, [COLUMN.version]: SCHEMA_VERSION, q: marker.q, ...jsonColumn('scopes', marker.scopes) }, 'Replace'));
  }

  async clearDispatch(source: string, q: string): Promise<void> {
    assertSourceName(source);
    await withStorageErrors('clear dispatch marker', async () => {
      const row = await getRowOrUndefined(this.table, source, DISPATCH_ROW);
      if (row === undefined || row.q !== q) return;
      try {
        await this.table.deleteEntity(source, DISPATCH_ROW, { etag: typeof row.etag === 'string' ? row.etag : '*' });
      } catch (error) {
        const status = statusOf(error);
        if (status !== 404 && status !== 412) throw error; // gone, or replaced by a newer dispatch: not ours to clear
      }
    });
  }
}

function isDispatchScope(value: unknown): value is DispatchMarker['scopes'][number] {
  if (typeof value !== 'object' || value === null) return false;
  const scope = value as Record<string, unknown>;
  return typeof scope.destination === 'string' && (scope.kind === 'users' || scope.kind === 'groups')
    && Array.isArray(scope.buckets) && scope.buckets.every((bucket) => typeof bucket === 'string');
}
