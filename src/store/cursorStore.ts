/**
 * Where each source's delta reading stands: one row per (source, kind) in the Cursors table.
 * Each field is a JSON column (chunked if ever longer than one string property), so nulls and the
 * round object survive; `put` replaces the whole row.
 */
import type { TableClient } from '@azure/data-tables';
import type { DirectoryKind } from '../sync/directory';
import type { CursorStore, DeltaCursor, DeltaRound, PlanState, PlanStateStore } from '../sync/ports';
import type { StorageTarget } from './storageAccount';
import { COLUMN, SCHEMA_VERSION, TABLE_NAMES, assertSourceName, jsonColumn, readJsonColumn } from './entityCodec';
import { ensureTable, getRowOrUndefined, openTable, type TableAccessOptions } from './tableBatch';
import { withStorageErrors } from './errors';

function textOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function roundOrNull(value: unknown): DeltaRound | null {
  if (typeof value !== 'object' || value === null) return null;
  const { id, kind, startedAt, pages } = value as Record<string, unknown>;
  if (typeof id !== 'string' || (kind !== 'full' && kind !== 'incremental') || typeof startedAt !== 'string' || typeof pages !== 'number') {
    return null;
  }
  return { id, kind, startedAt, pages };
}

function isUnreachable(value: unknown): value is PlanState['unreachable'][number] {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  return typeof entry.destination === 'string' && typeof entry.users === 'number' && typeof entry.groups === 'number';
}

/** The plan state lives beside the cursors: PartitionKey source, RowKey `plan`. */
const PLAN_ROW = 'plan';

export class TableCursorStore implements CursorStore, PlanStateStore {
  private readonly table: TableClient;

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
      if (row === undefined) return undefined;
      return {
        nextLink: textOrNull(readJsonColumn(row, 'nextLink')),
        deltaLink: textOrNull(readJsonColumn(row, 'deltaLink')),
        round: roundOrNull(readJsonColumn(row, 'round')),
        lastFullRoundCompletedAt: textOrNull(readJsonColumn(row, 'lastFullRoundCompletedAt')),
        lastRoundCompletedAt: textOrNull(readJsonColumn(row, 'lastRoundCompletedAt')),
      };
    });
  }

  async put(source: string, kind: DirectoryKind, cursor: DeltaCursor): Promise<void> {
    assertSourceName(source);
    await withStorageErrors('put cursor', async () => {
      await this.table.upsertEntity(
        {
          partitionKey: source,
          rowKey: kind,
          [COLUMN.version]: SCHEMA_VERSION,
          ...jsonColumn('nextLink', cursor.nextLink),
          ...jsonColumn('deltaLink', cursor.deltaLink),
          ...jsonColumn('round', cursor.round),
          ...jsonColumn('lastFullRoundCompletedAt', cursor.lastFullRoundCompletedAt),
          ...jsonColumn('lastRoundCompletedAt', cursor.lastRoundCompletedAt),
        },
        'Replace',
      );
    });
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
}
