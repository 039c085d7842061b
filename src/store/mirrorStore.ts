/**
 * The per-source copy of the directory in Table storage (layout: docs/storage.md).
 * Pages are applied read-compare-write: rows of the page are read first, and only rows whose
 * stored columns would change are written, so a replayed page costs reads and no writes.
 */
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import type {
  GroupChange, MemberType, MembershipEdge, MirrorGroup, MirrorUser, RemovalReason, UserChange,
} from '../sync/directory';
import { GROUP_ATTRIBUTE_NAMES, USER_ATTRIBUTE_NAMES } from '../sync/directory';
import type { ApplyCounts, ApplyOptions, GroupApplyCounts, MirrorStore } from '../sync/ports';
import type { StorageTarget } from './storageAccount';
import {
  COLUMN, SCHEMA_VERSION, TABLE_NAMES, assertEntityFits, assertKeyPart, assertSourceName, decodeGroup, decodeUser,
  defaultColumnValue, groupAttributeColumns, groupIdOfMemberPartition, memberPartitionKey, memberTypeOf,
  objectPartitionKey, physicalColumns, readAttributeColumns, removedAtOf, removedReasonOf, seenRoundOf,
  sourceRangeFilter, userAttributeColumns, type Columns, type StoredRemovalReason,
} from './entityCodec';
import {
  DEFAULT_CONCURRENCY, ensureTable, openTable, queryPages, readRowsByKeys, rowAddress, submitBatched,
  type Row, type TableAccessOptions,
} from './tableBatch';
import { withStorageErrors } from './errors';

export interface TableStoreOptions extends TableAccessOptions {
  /** The clock for removedAt; tests pin it. */
  now?: () => Date;
}

/** A user or group change reduced to what the row cares about. */
type ObjectChange =
  | { kind: 'upsert'; id: string; columns: Columns }
  | { kind: 'removed'; id: string; reason: RemovalReason };

/** What a row holds while a page is being applied (stored state, then each change on top). */
interface RowState {
  exists: boolean;
  columns: Columns;
  removedReason: StoredRemovalReason | null;
  removedAt: string;
  seenRound: string;
}

/** Columns to write for one row; a row is written once per call with everything merged. */
interface PendingRow {
  columns: Columns;
  lifecycle: Record<string, string | number>;
}

interface EdgeState {
  groupId: string;
  memberId: string;
  existedBefore: boolean;
  exists: boolean;
  memberType: MemberType | undefined;
  storedMemberType: MemberType | undefined;
  seenRound: string;
}

const SWEEP_SELECT = ['PartitionKey', 'RowKey', COLUMN.removedReason, COLUMN.seenRound];

function emptyCounts(): ApplyCounts {
  return { added: 0, changed: 0, unchanged: 0, removed: 0 };
}

export class TableMirrorStore implements MirrorStore {
  private readonly users: TableClient;
  private readonly groups: TableClient;
  private readonly members: TableClient;
  private readonly concurrency: number;
  private readonly now: () => Date;

  constructor(target: StorageTarget, options: TableStoreOptions = {}) {
    this.users = openTable(target, TABLE_NAMES.users, options);
    this.groups = openTable(target, TABLE_NAMES.groups, options);
    this.members = openTable(target, TABLE_NAMES.members, options);
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.now = options.now ?? (() => new Date());
  }

  async initialize(): Promise<void> {
    await ensureTable(this.users);
    await ensureTable(this.groups);
    await ensureTable(this.members);
  }

  async applyUserChanges(source: string, changes: UserChange[], options: ApplyOptions = {}): Promise<ApplyCounts> {
    assertSourceName(source);
    const objectChanges = changes.map((change): ObjectChange =>
      change.kind === 'upsert'
        ? { kind: 'upsert', id: change.id, columns: userAttributeColumns(change.attributes) }
        : change,
    );
    return withStorageErrors('applyUserChanges', () =>
      this.applyObjectChanges(this.users, source, objectChanges, USER_ATTRIBUTE_NAMES, options.fullRoundId, 'User'),
    );
  }

  async applyGroupChanges(source: string, changes: GroupChange[], options: ApplyOptions = {}): Promise<GroupApplyCounts> {
    assertSourceName(source);
    const objectChanges = changes.map((change): ObjectChange =>
      change.kind === 'upsert'
        ? { kind: 'upsert', id: change.id, columns: groupAttributeColumns(change.attributes) }
        : change,
    );
    return withStorageErrors('applyGroupChanges', async () => {
      const counts = await this.applyObjectChanges(this.groups, source, objectChanges, GROUP_ATTRIBUTE_NAMES, options.fullRoundId, 'Group');
      const edges = await this.applyMemberChanges(source, changes, options.fullRoundId);
      return { ...counts, ...edges };
    });
  }

  async sweepUsers(source: string, fullRoundId: string): Promise<number> {
    assertSourceName(source);
    return withStorageErrors('sweepUsers', () => this.sweepObjects(this.users, source, fullRoundId));
  }

  async sweepGroups(source: string, fullRoundId: string): Promise<{ groups: number; edges: number }> {
    assertSourceName(source);
    return withStorageErrors('sweepGroups', async () => {
      const groups = await this.sweepObjects(this.groups, source, fullRoundId);
      let edges = 0;
      for await (const page of queryPages(this.members, sourceRangeFilter(source), { select: ['PartitionKey', 'RowKey', COLUMN.seenRound] })) {
        const deletes = page
          .filter((row) => seenRoundOf(row) !== fullRoundId)
          .map((row): TransactionAction => ['delete', { partitionKey: row.partitionKey ?? '', rowKey: row.rowKey ?? '' }]);
        await submitBatched(this.members, deletes, { concurrency: this.concurrency });
        edges += deletes.length;
      }
      return { groups, edges };
    });
  }

  async *listUsers(source: string, options: { includeRemoved?: boolean } = {}): AsyncIterable<MirrorUser[]> {
    assertSourceName(source);
    for await (const page of queryPages(this.users, this.listFilter(source, options.includeRemoved))) {
      yield page.map(decodeUser);
    }
  }

  async *listGroups(source: string, options: { includeRemoved?: boolean } = {}): AsyncIterable<MirrorGroup[]> {
    assertSourceName(source);
    for await (const page of queryPages(this.groups, this.listFilter(source, options.includeRemoved))) {
      yield page.map(decodeGroup);
    }
  }

  async getUsers(source: string, ids: readonly string[]): Promise<Map<string, MirrorUser>> {
    assertSourceName(source);
    const rows = await withStorageErrors('getUsers', () => this.readObjects(this.users, source, ids));
    return new Map([...rows.values()].map((row) => [row.rowKey ?? '', decodeUser(row)]));
  }

  async getGroups(source: string, ids: readonly string[]): Promise<Map<string, MirrorGroup>> {
    assertSourceName(source);
    const rows = await withStorageErrors('getGroups', () => this.readObjects(this.groups, source, ids));
    return new Map([...rows.values()].map((row) => [row.rowKey ?? '', decodeGroup(row)]));
  }

  async listMembers(source: string, groupId: string): Promise<MembershipEdge[]> {
    assertSourceName(source);
    assertKeyPart(groupId, 'group id');
    const edges: MembershipEdge[] = [];
    for await (const page of queryPages(this.members, odata`PartitionKey eq ${memberPartitionKey(source, groupId)}`)) {
      for (const row of page) edges.push({ groupId, memberId: row.rowKey ?? '', memberType: memberTypeOf(row) });
    }
    return edges;
  }

  async *listEdges(source: string): AsyncIterable<MembershipEdge[]> {
    assertSourceName(source);
    const select = ['PartitionKey', 'RowKey', COLUMN.memberType];
    for await (const page of queryPages(this.members, sourceRangeFilter(source), { select })) {
      yield page.map((row) => ({
        groupId: groupIdOfMemberPartition(source, row.partitionKey ?? ''),
        memberId: row.rowKey ?? '',
        memberType: memberTypeOf(row),
      }));
    }
  }

  // -------------------------------------------------------------------------------------------

  /** Every row write includes removedReason ('' while live), so a filter on it sees every row. */
  private listFilter(source: string, includeRemoved: boolean | undefined): string {
    const range = sourceRangeFilter(source);
    return includeRemoved === true ? range : `${range} and ${COLUMN.removedReason} eq ''`;
  }

  private async readObjects(table: TableClient, source: string, ids: readonly string[]): Promise<Map<string, Row>> {
    for (const id of ids) assertKeyPart(id, 'object id');
    return readRowsByKeys(table, ids.map((id) => ({ partitionKey: objectPartitionKey(source, id), rowKey: id })), {
      concurrency: this.concurrency,
    });
  }

  private async applyObjectChanges(
    table: TableClient,
    source: string,
    changes: readonly ObjectChange[],
    attributeNames: readonly string[],
    fullRoundId: string | undefined,
    what: 'User' | 'Group',
  ): Promise<ApplyCounts> {
    const stored = await this.readObjects(table, source, changes.map((change) => change.id));
    const states = new Map<string, RowState>();
    const pending = new Map<string, PendingRow>();
    const counts = emptyCounts();
    const removedAt = this.now().toISOString();

    const stateOf = (id: string): RowState => {
      let state = states.get(id);
      if (state === undefined) {
        const row = stored.get(rowAddress(objectPartitionKey(source, id), id));
        state = row === undefined
          ? { exists: false, columns: new Map(), removedReason: null, removedAt: '', seenRound: '' }
          : {
              exists: true,
              columns: readAttributeColumns(row, attributeNames),
              removedReason: removedReasonOf(row),
              removedAt: removedAtOf(row),
              seenRound: seenRoundOf(row),
            };
        states.set(id, state);
      }
      return state;
    };
    const pendingOf = (id: string): PendingRow => {
      let row = pending.get(id);
      if (row === undefined) {
        row = { columns: new Map(), lifecycle: {} };
        pending.set(id, row);
      }
      return row;
    };

    for (const change of changes) {
      const state = stateOf(change.id);
      if (change.kind === 'upsert') {
        const live = state.exists && state.removedReason === null;
        const differing = [...change.columns].filter(
          ([column, json]) => !live || (state.columns.get(column) ?? defaultColumnValue(column)) !== json,
        );
        if (live && differing.length === 0) {
          counts.unchanged += 1;
          continue;
        }
        // A new row, a restore (the row was removed) or an update of some columns.
        if (live) counts.changed += 1;
        else counts.added += 1;
        const write = pendingOf(change.id);
        for (const [column, json] of differing) {
          state.columns.set(column, json);
          write.columns.set(column, json);
        }
        write.lifecycle[COLUMN.version] = SCHEMA_VERSION;
        if (!live) {
          write.lifecycle[COLUMN.removedReason] = '';
          write.lifecycle[COLUMN.removedAt] = '';
        }
        state.exists = true;
        state.removedReason = null;
        state.removedAt = '';
      } else {
        // Nothing to remove for a row never held; a second identical removal keeps the first removedAt.
        if (!state.exists || state.removedReason === change.reason) {
          counts.unchanged += 1;
          continue;
        }
        counts.removed += 1;
        state.removedAt = state.removedReason === null ? removedAt : state.removedAt;
        state.removedReason = change.reason;
        const write = pendingOf(change.id);
        write.lifecycle[COLUMN.version] = SCHEMA_VERSION;
        write.lifecycle[COLUMN.removedReason] = change.reason;
        write.lifecycle[COLUMN.removedAt] = state.removedAt;
      }
    }

    if (fullRoundId !== undefined) {
      for (const [id, state] of states) {
        if (state.exists && state.seenRound !== fullRoundId) {
          // Unchanged rows get only the marker column (Merge keeps the rest).
          pendingOf(id).lifecycle[COLUMN.seenRound] = fullRoundId;
          state.seenRound = fullRoundId;
        }
      }
    }

    const actions = [...pending].map(([id, write]): TransactionAction => {
      const entity = { partitionKey: objectPartitionKey(source, id), rowKey: id, ...physicalColumns(write.columns), ...write.lifecycle };
      assertEntityFits(entity, `${what} ${id}`);
      return ['upsert', entity, 'Merge'];
    });
    await submitBatched(table, actions, { concurrency: this.concurrency });
    return counts;
  }

  private async applyMemberChanges(
    source: string,
    changes: readonly GroupChange[],
    fullRoundId: string | undefined,
  ): Promise<{ edgesAdded: number; edgesRemoved: number }> {
    const memberChanges = changes.flatMap((change) =>
      change.kind === 'upsert' ? change.members.map((member) => ({ groupId: change.id, ...member })) : [],
    );
    for (const { groupId, memberId } of memberChanges) {
      assertKeyPart(groupId, 'group id');
      assertKeyPart(memberId, 'member id');
    }
    const stored = await readRowsByKeys(
      this.members,
      memberChanges.map(({ groupId, memberId }) => ({ partitionKey: memberPartitionKey(source, groupId), rowKey: memberId })),
      { concurrency: this.concurrency },
    );
    const edges = new Map<string, EdgeState>();
    let edgesAdded = 0;
    let edgesRemoved = 0;
    for (const change of memberChanges) {
      const address = rowAddress(memberPartitionKey(source, change.groupId), change.memberId);
      let edge = edges.get(address);
      if (edge === undefined) {
        const row = stored.get(address);
        edge = {
          groupId: change.groupId,
          memberId: change.memberId,
          existedBefore: row !== undefined,
          exists: row !== undefined,
          memberType: row === undefined ? undefined : memberTypeOf(row),
          storedMemberType: row === undefined ? undefined : memberTypeOf(row),
          seenRound: row === undefined ? '' : seenRoundOf(row),
        };
        edges.set(address, edge);
      }
      if (change.removed) {
        if (edge.exists) edgesRemoved += 1;
        edge.exists = false;
      } else {
        if (!edge.exists) edgesAdded += 1;
        edge.exists = true;
        edge.memberType = change.memberType;
      }
    }

    const actions: TransactionAction[] = [];
    for (const edge of edges.values()) {
      const partitionKey = memberPartitionKey(source, edge.groupId);
      if (!edge.exists) {
        if (edge.existedBefore) actions.push(['delete', { partitionKey, rowKey: edge.memberId }]);
        continue;
      }
      const typeChanged = !edge.existedBefore || edge.memberType !== edge.storedMemberType;
      const needsMarker = fullRoundId !== undefined && edge.seenRound !== fullRoundId;
      if (!typeChanged && !needsMarker) continue;
      const entity: Record<string, string | number> & { partitionKey: string; rowKey: string } = { partitionKey, rowKey: edge.memberId };
      if (typeChanged) {
        entity[COLUMN.version] = SCHEMA_VERSION;
        entity[COLUMN.memberType] = edge.memberType ?? 'other';
      }
      if (fullRoundId !== undefined) entity[COLUMN.seenRound] = fullRoundId;
      actions.push(['upsert', entity, 'Merge']);
    }
    await submitBatched(this.members, actions, { concurrency: this.concurrency });
    return { edgesAdded, edgesRemoved };
  }

  /** Marks live rows of the source not seen by the round as removed; batched per page of the scan. */
  private async sweepObjects(table: TableClient, source: string, fullRoundId: string): Promise<number> {
    const removedAt = this.now().toISOString();
    let swept = 0;
    for await (const page of queryPages(table, sourceRangeFilter(source), { select: SWEEP_SELECT })) {
      const actions = page
        .filter((row) => removedReasonOf(row) === null && seenRoundOf(row) !== fullRoundId)
        .map((row): TransactionAction => [
          'upsert',
          {
            partitionKey: row.partitionKey ?? '',
            rowKey: row.rowKey ?? '',
            [COLUMN.version]: SCHEMA_VERSION,
            [COLUMN.removedReason]: 'missingFromFullRound',
            [COLUMN.removedAt]: removedAt,
          },
          'Merge',
        ]);
      await submitBatched(table, actions, { concurrency: this.concurrency });
      swept += actions.length;
    }
    return swept;
  }
}
