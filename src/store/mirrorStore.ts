/**
 * The per-source copy of the directory in Table storage (layout: docs/storage.md).
 *
 * Writes are prepared, then committed: `prepare*` reads what is stored, compares, and returns the
 * counts, a report of what changed (for the change journal) and a `commit` that writes only the
 * rows that differ. The engine records the report durably between the two, so a crash after the
 * rows are written can never lose the fact that they changed.
 *
 * How stored state is read depends on the round:
 * - incremental rounds carry partial objects: the rows of the changed ids are read (one query per
 *   partition for up to 14 ids, the whole partition above that) and compared column by column;
 * - full rounds carry complete objects: they are compared with fingerprints loaded once per round
 *   (one scan), so an unchanged tenant is re-read from Graph without a single row read or write.
 */
import { createHash } from 'node:crypto';
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import type {
  GroupChange, GroupChangeReport, MemberType, MembershipEdge, MirrorGroup, MirrorUser, RemovalReason, UserChange, UserChangeReport,
} from '../sync/directory';
import { GROUP_ATTRIBUTE_NAMES, USER_ATTRIBUTE_NAMES, emptyGroupChangeReport, emptyUserChangeReport } from '../sync/directory';
import type { ApplyCounts, HeldBackRows, MirrorStore, PreparedMirrorWrite, StoredMembers } from '../sync/ports';
import type { MailboxType } from '../signature365/contract';
import type { StorageTarget } from './storageAccount';
import {
  MAILBOX_TYPE_COLUMN,
  COLUMN, SCHEMA_VERSION, TABLE_NAMES, assertEntityFits, assertKeyPart, assertSourceName, decodeGroup, decodeUser,
  defaultColumnValue, groupAttributeColumns, groupPartitionKey, physicalColumns, readAttributeColumns, removedAtOf, removedReasonOf,
  sourceRangeFilter, userAttributeColumns, userPartitionKey, type Columns, type StoredRemovalReason,
} from './entityCodec';
import { decodeShardInto, emptyMemberSets, encodeShards, groupIdOfShardRow, type MemberSets } from './memberShards';
import {
  DEFAULT_CONCURRENCY, ensureTable, openTable, queryPages, rowAddress, runWithConcurrency, submitBatched,
  type Row, type TableAccessOptions,
} from './tableBatch';
import { withStorageErrors } from './errors';

export interface TableStoreOptions extends TableAccessOptions {
  /** The clock for removedAt; tests pin it. */
  now?: () => Date;
}

type Kind = 'users' | 'groups';

/** A user or group change reduced to what the row cares about. */
type ObjectChange =
  | { kind: 'upsert'; id: string; columns: Columns; complete: boolean }
  | { kind: 'removed'; id: string; reason: RemovalReason | 'missingFromFullRound' };

/** What a row holds while a batch is being applied (stored state, then each change on top). */
interface RowState {
  exists: boolean;
  /** Known only when the row was read; a fingerprint alone does not carry the columns. */
  columns: Columns | undefined;
  fingerprint: string | undefined;
  removedReason: StoredRemovalReason | null;
  removedAt: string;
}

interface PendingRow {
  columns: Columns;
  lifecycle: Record<string, string | number>;
}

/** Rows of a full round prepared but held back to fill a later transaction (see PreparedMirrorWrite.commit). */
class HeldBack implements HeldBackRows {
  constructor(readonly actions: readonly TransactionAction[], readonly fingerprintsAfter: ReadonlyMap<string, string>) {}

  get ids(): string[] {
    return this.actions.map((action) => action[1].rowKey);
  }
}

const ROWS_PER_TRANSACTION = 100;

/** Rows per partition above which reading the whole partition is cheaper than naming the rows. */
const NAMED_ROWS_PER_QUERY = 14;
const REMOVED_PREFIX = 'removed:';

function emptyCounts(): ApplyCounts {
  return { added: 0, changed: 0, unchanged: 0, removed: 0 };
}

function hashText(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}

/** The fingerprint of a live object's logical columns: equal fingerprints, equal decoded objects. */
function fingerprintOf(kind: Kind, columns: Columns): string {
  const entity: Record<string, unknown> = { rowKey: '' };
  for (const [name, json] of columns) entity[name] = json;
  const decoded = kind === 'users' ? decodeUser(entity) : decodeGroup(entity);
  const { id: _id, removed: _removed, ...attributes } = decoded;
  return hashText(JSON.stringify(attributes));
}

function isComplete(kind: Kind, attributes: Readonly<Record<string, unknown>>): boolean {
  const names: readonly string[] = kind === 'users' ? USER_ATTRIBUTE_NAMES : GROUP_ATTRIBUTE_NAMES;
  return names.every((name) => Object.hasOwn(attributes, name) && attributes[name] !== undefined);
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

function idOrNull(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
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

  // --- full rounds -------------------------------------------------------------------------------

  async loadFingerprints(source: string, kind: Kind): Promise<Map<string, string>> {
    assertSourceName(source);
    return withStorageErrors(`load ${kind} fingerprints`, async () => {
      const out = new Map<string, string>();
      const names: readonly string[] = kind === 'users' ? USER_ATTRIBUTE_NAMES : GROUP_ATTRIBUTE_NAMES;
      for await (const page of queryPages(this.table(kind), sourceRangeFilter(source))) {
        for (const row of page) {
          const reason = removedReasonOf(row);
          out.set(row.rowKey ?? '', reason !== null ? `${REMOVED_PREFIX}${reason}` : fingerprintOf(kind, readAttributeColumns(row, names)));
        }
      }
      return out;
    });
  }

  // --- prepared writes ---------------------------------------------------------------------------

  async prepareUserChanges(source: string, changes: readonly UserChange[], options: { fingerprints?: Map<string, string>; heldBack?: HeldBackRows } = {}): Promise<PreparedMirrorWrite<UserChangeReport>> {
    assertSourceName(source);
    const objectChanges = changes.map((change): ObjectChange =>
      change.kind === 'upsert'
        ? { kind: 'upsert', id: change.id, columns: userAttributeColumns(change.attributes), complete: isComplete('users', change.attributes) }
        : change,
    );
    const heldBack = options.heldBack instanceof HeldBack ? options.heldBack : undefined;
    return withStorageErrors('prepare user changes', () => this.prepareObjects('users', source, objectChanges, options.fingerprints, heldBack));
  }

  async prepareGroupChanges(source: string, changes: readonly GroupChange[], options: { fingerprints?: Map<string, string> } = {}): Promise<PreparedMirrorWrite<GroupChangeReport>> {
    assertSourceName(source);
    const objectChanges = changes.map((change): ObjectChange =>
      change.kind === 'upsert'
        ? { kind: 'upsert', id: change.id, columns: groupAttributeColumns(change.attributes), complete: isComplete('groups', change.attributes) }
        : change,
    );
    return withStorageErrors('prepare group changes', async () => {
      const prepared = await this.prepareObjects('groups', source, objectChanges, options.fingerprints);
      const report = emptyGroupChangeReport();
      report.changed = prepared.report.changed;
      report.lifecycle = prepared.report.identityChanged;
      return { ...prepared, report };
    });
  }

  /** Marks the given objects removed because a completed full round did not see them (the sweep). */
  async prepareSweep(source: string, kind: Kind, ids: readonly string[], fingerprints: Map<string, string>): Promise<PreparedMirrorWrite<UserChangeReport>> {
    assertSourceName(source);
    const changes: ObjectChange[] = ids.map((id) => ({ kind: 'removed', id, reason: 'missingFromFullRound' }));
    return withStorageErrors(`sweep ${kind}`, () => this.prepareObjects(kind, source, changes, fingerprints));
  }

  /**
   * Deletes the rows of objects removed before `removedBefore` (and, for groups, their member
   * rows): the mirror keeps removed objects only as long as a restore is possible.
   */
  async purgeRemoved(source: string, kind: Kind, removedBefore: Date): Promise<number> {
    assertSourceName(source);
    return withStorageErrors(`purge removed ${kind}`, async () => {
      // Column names as written by prepareObjects (COLUMN.removedReason, COLUMN.removedAt).
      const filter = `${sourceRangeFilter(source)} and ${odata`removedReason ne ${''} and removedAt lt ${removedBefore.toISOString()}`}`;
      const purged: { partitionKey: string; rowKey: string }[] = [];
      for await (const page of queryPages(this.table(kind), filter, { select: ['PartitionKey', 'RowKey'] })) {
        for (const row of page) if (row.partitionKey !== undefined && row.rowKey !== undefined) purged.push({ partitionKey: row.partitionKey, rowKey: row.rowKey });
      }
      if (purged.length === 0) return 0;
      await submitBatched(this.table(kind), purged.map((key): TransactionAction => ['delete', key]), { concurrency: this.concurrency });
      if (kind === 'groups') {
        const members = await this.readMembers(source, purged.map((key) => key.rowKey));
        const shardRows = [...members].flatMap(([groupId, stored]) => stored.rowKeys.map((rowKey): TransactionAction => ['delete', { partitionKey: groupPartitionKey(source, groupId), rowKey }]));
        await submitBatched(this.members, shardRows, { concurrency: this.concurrency });
      }
      return purged.length;
    });
  }

  // --- members -----------------------------------------------------------------------------------

  async loadMembers(source: string): Promise<Map<string, StoredMembers>> {
    assertSourceName(source);
    return withStorageErrors('load members', async () => this.decodeMemberRows(queryPages(this.members, sourceRangeFilter(source))));
  }

  async readMembers(source: string, groupIds: readonly string[]): Promise<Map<string, StoredMembers>> {
    assertSourceName(source);
    for (const id of groupIds) assertKeyPart(id, 'group id');
    return withStorageErrors('read members', async () => {
      const out = new Map<string, StoredMembers>();
      await runWithConcurrency([...new Set(groupIds)], this.concurrency, async (groupId) => {
        const filter = odata`PartitionKey eq ${groupPartitionKey(source, groupId)} and RowKey ge ${`${groupId}|`} and RowKey lt ${`${groupId}|~`}`;
        const found = await this.decodeMemberRows(queryPages(this.members, filter));
        out.set(groupId, found.get(groupId) ?? { sets: emptyMemberSets(), rowKeys: [] });
      });
      return out;
    });
  }

  /** Replaces the members of each given group (its shard rows rewritten, rows it no longer needs deleted). */
  async writeMembers(source: string, updates: ReadonlyMap<string, { sets: MemberSets; previousRowKeys: readonly string[] }>): Promise<number> {
    assertSourceName(source);
    const actions: TransactionAction[] = [];
    for (const [groupId, { sets, previousRowKeys }] of updates) {
      assertKeyPart(groupId, 'group id');
      const partitionKey = groupPartitionKey(source, groupId);
      const rows = encodeShards(groupId, sets);
      for (const [rowKey, columns] of rows) {
        const entity = { partitionKey, rowKey, ...columns };
        assertEntityFits(entity, `members of group ${groupId}`);
        actions.push(['upsert', entity, 'Replace']);
      }
      for (const rowKey of previousRowKeys) if (!rows.has(rowKey)) actions.push(['delete', { partitionKey, rowKey }]);
    }
    await withStorageErrors('write members', () => submitBatched(this.members, actions, { concurrency: this.concurrency }));
    return actions.length;
  }

  async putMailboxTypes(source: string, types: ReadonlyMap<string, MailboxType>): Promise<void> {
    assertSourceName(source);
    // Merge of one column: the round's attribute columns and lifecycle stay as they are. Runs under
    // the source lock, after the pull, so no sweep or purge deletes a row between read and write.
    const actions: TransactionAction[] = [...types].map(([id, type]) => {
      assertKeyPart(id, 'user id');
      return ['upsert', { partitionKey: userPartitionKey(source, id), rowKey: id, [MAILBOX_TYPE_COLUMN]: JSON.stringify(type) }, 'Merge'];
    });
    if (actions.length > 0) await withStorageErrors('write mailbox types', () => submitBatched(this.users, actions, { concurrency: this.concurrency }));
  }

  // --- reads -------------------------------------------------------------------------------------

  async *listUsers(source: string, options: { includeRemoved?: boolean } = {}): AsyncIterable<MirrorUser[]> {
    assertSourceName(source);
    for await (const page of queryPages(this.users, this.listFilter(source, options.includeRemoved))) yield page.map(decodeUser);
  }

  async *listGroups(source: string, options: { includeRemoved?: boolean } = {}): AsyncIterable<MirrorGroup[]> {
    assertSourceName(source);
    for await (const page of queryPages(this.groups, this.listFilter(source, options.includeRemoved))) yield page.map(decodeGroup);
  }

  async getUsers(source: string, ids: readonly string[]): Promise<Map<string, MirrorUser>> {
    assertSourceName(source);
    const rows = await withStorageErrors('getUsers', () => this.readObjects('users', source, ids));
    return new Map([...rows.values()].map((row) => [row.rowKey ?? '', decodeUser(row)]));
  }

  async findUserIdsByKey(source: string, key: string): Promise<{ ids: string[]; scanned: number }> {
    assertSourceName(source);
    const wanted = key.trim().toLowerCase();
    const ids: string[] = [];
    let scanned = 0;
    // Only the key columns travel: a 100k-user source is read in a tenth of the bytes of listUsers.
    const select = ['RowKey', 'userPrincipalName', 'mail'];
    for await (const page of queryPages(this.users, this.listFilter(source, true), { select })) {
      for (const row of page) {
        scanned += 1;
        const user = decodeUser(row);
        if ([user.userPrincipalName, user.mail].some((value) => value?.trim().toLowerCase() === wanted)) ids.push(user.id);
      }
    }
    return { ids, scanned };
  }

  groupUserIdsForReading(source: string, ids: readonly string[]): string[][] {
    const groups = new Map<string, string[]>();
    for (const id of ids) {
      const key = userPartitionKey(source, id);
      const list = groups.get(key);
      if (list === undefined) groups.set(key, [id]);
      else list.push(id);
    }
    return [...groups.values()];
  }

  async getGroups(source: string, ids: readonly string[]): Promise<Map<string, MirrorGroup>> {
    assertSourceName(source);
    const rows = await withStorageErrors('getGroups', () => this.readObjects('groups', source, ids));
    return new Map([...rows.values()].map((row) => [row.rowKey ?? '', decodeGroup(row)]));
  }

  async listMembers(source: string, groupId: string): Promise<MembershipEdge[]> {
    const stored = (await this.readMembers(source, [groupId])).get(groupId);
    return stored === undefined ? [] : edgesOf(groupId, stored.sets);
  }

  async *listEdges(source: string): AsyncIterable<MembershipEdge[]> {
    for (const [groupId, stored] of await this.loadMembers(source)) {
      const edges = edgesOf(groupId, stored.sets);
      if (edges.length > 0) yield edges;
    }
  }

  // -------------------------------------------------------------------------------------------

  private table(kind: Kind): TableClient {
    return kind === 'users' ? this.users : this.groups;
  }

  private partitionKey(kind: Kind, source: string, id: string): string {
    return kind === 'users' ? userPartitionKey(source, id) : groupPartitionKey(source, id);
  }

  /** Every row write includes removedReason ('' while live), so a filter on it sees every row. */
  private listFilter(source: string, includeRemoved: boolean | undefined): string {
    const range = sourceRangeFilter(source);
    return includeRemoved === true ? range : `${range} and ${COLUMN.removedReason} eq ''`;
  }

  private async decodeMemberRows(pages: AsyncIterable<Row[]>): Promise<Map<string, StoredMembers>> {
    const out = new Map<string, StoredMembers>();
    for await (const page of pages) {
      for (const row of page) {
        const groupId = groupIdOfShardRow(row.rowKey ?? '');
        let stored = out.get(groupId);
        if (stored === undefined) {
          stored = { sets: emptyMemberSets(), rowKeys: [] };
          out.set(groupId, stored);
        }
        decodeShardInto(row, stored.sets);
        stored.rowKeys.push(row.rowKey ?? '');
      }
    }
    return out;
  }

  /**
   * The rows of the given ids: per partition, one query naming up to 14 of them, or the whole
   * partition when more of its rows are wanted (a partition holds a few hundred rows at most).
   */
  private async readObjects(kind: Kind, source: string, ids: readonly string[]): Promise<Map<string, Row>> {
    const byPartition = new Map<string, Set<string>>();
    for (const id of ids) {
      assertKeyPart(id, 'object id');
      const key = this.partitionKey(kind, source, id);
      const set = byPartition.get(key);
      if (set === undefined) byPartition.set(key, new Set([id]));
      else set.add(id);
    }
    const filters: string[] = [];
    for (const [partitionKey, idSet] of byPartition) {
      const list = [...idSet];
      if (list.length > NAMED_ROWS_PER_QUERY) {
        filters.push(odata`PartitionKey eq ${partitionKey}`);
        continue;
      }
      filters.push(`${odata`PartitionKey eq ${partitionKey}`} and (${list.map((id) => odata`RowKey eq ${id}`).join(' or ')})`);
    }
    const found = new Map<string, Row>();
    const wanted = new Set(ids);
    await runWithConcurrency(filters, this.concurrency, async (filter) => {
      for await (const page of queryPages(this.table(kind), filter)) {
        for (const row of page) {
          if (row.partitionKey !== undefined && row.rowKey !== undefined && wanted.has(row.rowKey)) found.set(rowAddress(row.partitionKey, row.rowKey), row);
        }
      }
    });
    return found;
  }

  private async prepareObjects(
    kind: Kind,
    source: string,
    changes: readonly ObjectChange[],
    fingerprints: Map<string, string> | undefined,
    heldBack?: HeldBack,
  ): Promise<PreparedMirrorWrite<UserChangeReport>> {
    const attributeNames: readonly string[] = kind === 'users' ? USER_ATTRIBUTE_NAMES : GROUP_ATTRIBUTE_NAMES;
    // Fingerprints decide complete upserts and removals; a partial upsert needs the row itself.
    const needRows = fingerprints === undefined
      ? changes.map((change) => change.id)
      : changes.filter((change) => change.kind === 'upsert' && !change.complete).map((change) => change.id);
    const stored = needRows.length === 0 ? new Map<string, Row>() : await this.readObjects(kind, source, needRows);
    const storedById = new Map<string, Row>();
    for (const row of stored.values()) storedById.set(row.rowKey ?? '', row);

    const states = new Map<string, RowState>();
    const pending = new Map<string, PendingRow>();
    const counts = emptyCounts();
    const report = emptyUserChangeReport();
    const changed = new Set<string>();
    const identity = new Set<string>();
    const managerMoves = new Map<string, [string | null, string | null]>();
    const removedAt = this.now().toISOString();

    const stateOf = (id: string): RowState => {
      let state = states.get(id);
      if (state !== undefined) return state;
      const row = storedById.get(id);
      if (row !== undefined) {
        state = { exists: true, columns: readAttributeColumns(row, attributeNames), fingerprint: undefined, removedReason: removedReasonOf(row), removedAt: removedAtOf(row) };
      } else {
        const known = fingerprints?.get(id);
        if (known === undefined) state = { exists: false, columns: new Map(), fingerprint: undefined, removedReason: null, removedAt: '' };
        else if (known.startsWith(REMOVED_PREFIX)) state = { exists: true, columns: undefined, fingerprint: undefined, removedReason: known.slice(REMOVED_PREFIX.length) as StoredRemovalReason, removedAt: '' };
        else state = { exists: true, columns: undefined, fingerprint: known, removedReason: null, removedAt: '' };
      }
      states.set(id, state);
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
        let differing: [string, string][];
        if (state.columns === undefined) {
          // A complete object against a fingerprint: equal means unchanged, anything else rewrites it whole.
          const incoming = fingerprintOf(kind, change.columns);
          differing = live && state.fingerprint === incoming ? [] : [...change.columns];
          state.fingerprint = incoming;
        } else {
          const columns = state.columns;
          differing = [...change.columns].filter(([column, json]) => !live || (columns.get(column) ?? defaultColumnValue(column)) !== json);
        }
        if (live && differing.length === 0) {
          counts.unchanged += 1;
          continue;
        }
        if (live) counts.changed += 1;
        else counts.added += 1;
        changed.add(change.id);
        if (!live || differing.some(([column]) => column === 'displayName' || column === 'mail')) identity.add(change.id);
        const managerColumn = differing.find(([column]) => column === 'managerId');
        if (kind === 'users' && managerColumn !== undefined) {
          const before = live && state.columns !== undefined ? idOrNull(parseJson(state.columns.get('managerId'))) : null;
          const first = managerMoves.get(change.id)?.[0] ?? before;
          managerMoves.set(change.id, [first, idOrNull(parseJson(managerColumn[1]))]);
        }
        const write = pendingOf(change.id);
        for (const [column, json] of differing) {
          state.columns?.set(column, json);
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
        changed.add(change.id);
        if (state.removedReason === null) identity.add(change.id);
        state.removedAt = state.removedReason === null ? removedAt : state.removedAt;
        state.removedReason = change.reason;
        state.fingerprint = undefined;
        const write = pendingOf(change.id);
        write.lifecycle[COLUMN.version] = SCHEMA_VERSION;
        write.lifecycle[COLUMN.removedReason] = change.reason;
        write.lifecycle[COLUMN.removedAt] = state.removedAt;
      }
    }

    report.changed = [...changed];
    report.identityChanged = [...identity];
    report.managerMoves = [...managerMoves]
      .filter(([, [before, after]]) => before !== after)
      .map(([id, [before, after]]) => [id, before, after]);

    // Rows held back from the last batch go first, unless this batch changes them again (it then writes them whole).
    const carried = (heldBack?.actions ?? []).filter((action) => !states.has(action[1].rowKey));
    const actions = [...carried, ...[...pending].map(([id, write]): TransactionAction => {
      const entity = { partitionKey: this.partitionKey(kind, source, id), rowKey: id, ...physicalColumns(write.columns), ...write.lifecycle };
      assertEntityFits(entity, `${kind === 'users' ? 'User' : 'Group'} ${id}`);
      return ['upsert', entity, 'Merge'];
    })];
    // What the fingerprints say once a row is written (later batches of the same round compare with it).
    const fingerprintsAfter = new Map<string, string>();
    for (const action of carried) {
      const after = heldBack?.fingerprintsAfter.get(action[1].rowKey);
      if (after !== undefined) fingerprintsAfter.set(action[1].rowKey, after);
    }
    if (fingerprints !== undefined) {
      for (const [id, state] of states) {
        if (!state.exists) continue;
        if (state.removedReason !== null) fingerprintsAfter.set(id, `${REMOVED_PREFIX}${state.removedReason}`);
        else if (state.fingerprint !== undefined) fingerprintsAfter.set(id, state.fingerprint);
        else if (state.columns !== undefined) fingerprintsAfter.set(id, fingerprintOf(kind, state.columns));
      }
    }
    const table = this.table(kind);
    return {
      counts,
      report,
      rows: actions.length,
      commit: async (options = {}) => {
        let toWrite = actions;
        const kept: TransactionAction[] = [];
        if (options.fullTransactionsOnly === true) {
          const byPartition = new Map<string, TransactionAction[]>();
          for (const action of actions) {
            const list = byPartition.get(action[1].partitionKey) ?? [];
            byPartition.set(action[1].partitionKey, list);
            list.push(action);
          }
          toWrite = [];
          for (const list of byPartition.values()) {
            const full = list.length - (list.length % ROWS_PER_TRANSACTION);
            toWrite.push(...list.slice(0, full));
            kept.push(...list.slice(full));
          }
        }
        await withStorageErrors(`write ${kind}`, () => submitBatched(table, toWrite, { concurrency: this.concurrency }));
        if (fingerprints !== undefined) {
          for (const action of toWrite) {
            const after = fingerprintsAfter.get(action[1].rowKey);
            if (after !== undefined) fingerprints.set(action[1].rowKey, after);
          }
        }
        if (kept.length === 0) return undefined;
        const keptFingerprints = new Map<string, string>();
        for (const action of kept) {
          const after = fingerprintsAfter.get(action[1].rowKey);
          if (after !== undefined) keptFingerprints.set(action[1].rowKey, after);
        }
        return new HeldBack(kept, keptFingerprints);
      },
    };
  }
}

function edgesOf(groupId: string, sets: MemberSets): MembershipEdge[] {
  const edges: MembershipEdge[] = [];
  const add = (ids: Set<string>, memberType: MemberType) => {
    for (const memberId of [...ids].sort()) edges.push({ groupId, memberId, memberType });
  };
  add(sets.users, 'user');
  add(sets.groups, 'group');
  add(sets.others, 'other');
  return edges;
}
