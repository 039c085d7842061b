/**
 * Writes one delta round into the mirror, batch by batch, and records in the change journal what
 * each batch changed. The order inside a batch is what keeps planning crash-safe:
 *   1. prepare: read what is stored and compare (nothing written yet);
 *   2. journal: record what changed (or, in a full round, what was seen);
 *   3. commit: write the rows that differ.
 * A crash after 1 or 2 replays the batch (the engine has not checkpointed past it); a crash after
 * 3 finds the rows already written, but the journal already says they changed.
 *
 * Full rounds compare complete objects with fingerprints loaded once per round, keep what they
 * saw in the journal (so a resumed round still sweeps correctly), and at the end mark what was not
 * seen as removed, replace group memberships with what the round reported, and ask the planner for
 * a whole-source plan. Incremental rounds read the rows of the changed ids and apply members@delta.
 */
import type { DeltaRound } from './ports';
import type { ApplyCounts, ChangeJournal, HeldBackRows, MirrorStore, SeenInRound, StoredMembers } from './ports';
import type { GroupChange, GroupChangeReport, MemberType, UserChange } from './directory';

type MemberSets = StoredMembers['sets'];

/**
 * Removed objects stay in the mirror this long after their removal, then a full round deletes
 * their rows: Entra keeps a soft-deleted object 30 days, so nothing can be restored after that.
 */
export const PURGE_REMOVED_AFTER_DAYS = 30;

export interface RoundCounts extends ApplyCounts {
  swept: number;
  /** Rows of objects removed long ago, deleted by a full round. */
  purged: number;
  edgesAdded: number;
  edgesRemoved: number;
  /** Rows written or deleted in the mirror, for the figures. */
  rowsWritten: number;
}

export function emptyRoundCounts(): RoundCounts {
  return { added: 0, changed: 0, unchanged: 0, removed: 0, swept: 0, purged: 0, edgesAdded: 0, edgesRemoved: 0, rowsWritten: 0 };
}

function addCounts(into: RoundCounts, counts: ApplyCounts): void {
  into.added += counts.added;
  into.changed += counts.changed;
  into.unchanged += counts.unchanged;
  into.removed += counts.removed;
}

export interface BatchResult {
  counts: RoundCounts;
  /** Objects read but not written yet (held back to fill a later transaction): the checkpoint stays before them. */
  heldBack: readonly string[];
}

export interface RoundWriter<TChange> {
  /** Loads what a full round compares against (fingerprints, members, what it saw before a crash). */
  start(): Promise<void>;
  /**
   * Applies one batch (several pages); `batch` numbers it within the round (the page count so far).
   * Unless `last`, a full round of users may hold back a few rows per partition for the next batch.
   */
  write(changes: TChange[], batch: number, options: { last: boolean }): Promise<BatchResult>;
  /** After the last page of a full round: sweep, replace memberships, ask for a whole-source plan. */
  finish(): Promise<RoundCounts>;
}

export interface RoundWriterContext {
  source: string;
  round: DeltaRound;
  /** Random per pull: a replay after a crash journals under keys of its own. */
  attempt: string;
  mirror: MirrorStore;
  journal: ChangeJournal;
  now: () => Date;
  /** Full rounds of users: the directory extension keys a user without them is stated not to have (see withExtensionsStated). */
  statedExtensions?: readonly string[];
}

/**
 * Graph sends manager@delta in a full round only for users who have a manager. In a full round
 * every user is complete, so a missing manager means "none": say so, or a manager removed while
 * the delta token was expired would stay in the mirror forever.
 */
function withManagerStated(changes: UserChange[]): UserChange[] {
  return changes.map((change) =>
    change.kind === 'upsert' && !('managerId' in change.attributes)
      ? { ...change, attributes: { ...change.attributes, managerId: null } }
      : change,
  );
}

/**
 * Graph leaves a directory extension without a value out of a user entry, and the mirror merges
 * what an entry carries. In a full round every user is complete, so a configured (or, after the
 * list changed, formerly configured) extension the entry lacks has no value: say so, or a value
 * cleared while the delta token was expired, or an extension removed from the config, would stay
 * in the records for good.
 */
function withExtensionsStated(changes: UserChange[], names: readonly string[]): UserChange[] {
  if (names.length === 0) return changes;
  return changes.map((change) => {
    if (change.kind !== 'upsert') return change;
    const carried = change.attributes.extensionAttributes ?? {};
    const missing = names.filter((name) => !Object.hasOwn(carried, name));
    if (missing.length === 0) return change;
    const extensionAttributes = { ...carried, ...Object.fromEntries(missing.map((name) => [name, null])) };
    return { ...change, attributes: { ...change.attributes, extensionAttributes } };
  });
}

function purgeBefore(now: Date): Date {
  return new Date(now.getTime() - PURGE_REMOVED_AFTER_DAYS * 86_400_000);
}

/** Each pull's attempt at a round writes journal entries of its own (see ChangeJournal.appendChanges). */
function journalAt(context: RoundWriterContext, batch: number) {
  return { roundStartedAt: context.round.startedAt, roundId: context.round.id, kind: 'users' as const, batch, attempt: context.attempt };
}

export function userRoundWriter(context: RoundWriterContext): RoundWriter<UserChange> {
  const { source, round, mirror, journal } = context;
  const full = round.kind === 'full';
  let fingerprints: Map<string, string> | undefined;
  let seen: Set<string> = new Set();
  let heldBack: HeldBackRows | undefined;
  return {
    async start() {
      if (!full) return;
      // A new full round forgets what earlier rounds saw; a resumed one reads back its own.
      await journal.clearSeen(source, round.id);
      fingerprints = await mirror.loadFingerprints(source, 'users');
      seen = (await journal.readSeen(source, round.id, 'users')).ids;
    },
    async write(changes, batch, { last }) {
      const counts = emptyRoundCounts();
      if (!full) {
        const prepared = await mirror.prepareUserChanges(source, changes);
        if (prepared.report.changed.length > 0) await journal.appendChanges(source, journalAt(context, batch), { users: prepared.report });
        await prepared.commit();
        addCounts(counts, prepared.counts);
        counts.rowsWritten = prepared.rows;
        return { counts, heldBack: [] };
      }
      const stated = withManagerStated(withExtensionsStated(changes, context.statedExtensions ?? []));
      const prepared = await mirror.prepareUserChanges(source, stated, { fingerprints: fingerprints ?? new Map(), ...(heldBack !== undefined ? { heldBack } : {}) });
      const ids = new Set(changes.map((change) => change.id));
      await journal.appendSeen(source, round.id, 'users', batch, { ids, members: new Map() }, context.attempt);
      heldBack = await prepared.commit({ fullTransactionsOnly: !last });
      for (const id of ids) seen.add(id);
      addCounts(counts, prepared.counts);
      counts.rowsWritten = prepared.rows - (heldBack?.ids.length ?? 0);
      return { counts, heldBack: heldBack?.ids ?? [] };
    },
    async finish() {
      const counts = emptyRoundCounts();
      if (!full || fingerprints === undefined) return counts;
      if (heldBack !== undefined) {
        // The last batch writes everything; this only runs when it did not.
        const rest = await mirror.prepareUserChanges(source, [], { fingerprints, heldBack });
        heldBack = await rest.commit();
        counts.rowsWritten += rest.rows;
      }
      const unseen = [...fingerprints].filter(([id, fingerprint]) => !fingerprint.startsWith('removed:') && !seen.has(id)).map(([id]) => id);
      const sweep = await mirror.prepareSweep(source, 'users', unseen, fingerprints);
      await sweep.commit();
      counts.swept = sweep.counts.removed;
      counts.rowsWritten += sweep.rows;
      counts.purged = await mirror.purgeRemoved(source, 'users', purgeBefore(context.now()));
      await journal.appendWholePlan(source, context.now(), round.id, 'full round of users');
      return counts;
    },
  };
}

interface MemberDelta {
  memberId: string;
  memberType: MemberType;
  removed: boolean;
}

/** Direct memberships that differ between two states of a group, as journal entries. */
function diffMembers(groupId: string, before: MemberSets, after: MemberSets, into: GroupChangeReport['members']): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const [type, key] of [['user', 'users'], ['group', 'groups'], ['other', 'others']] as const) {
    for (const id of after[key]) if (!before[key].has(id)) { into.push([groupId, id, type, 1]); added += 1; }
    for (const id of before[key]) if (!after[key].has(id)) { into.push([groupId, id, type, 0]); removed += 1; }
  }
  return { added, removed };
}

function sameSets(a: MemberSets, b: MemberSets): boolean {
  const same = (x: Set<string>, y: Set<string>) => x.size === y.size && [...x].every((id) => y.has(id));
  return same(a.users, b.users) && same(a.groups, b.groups) && same(a.others, b.others);
}

function emptySets(): MemberSets {
  return { users: new Set(), groups: new Set(), others: new Set() };
}

function typeSet(sets: MemberSets, type: MemberType): Set<string> {
  return type === 'user' ? sets.users : type === 'group' ? sets.groups : sets.others;
}

/** Groups whose members a batch touches above this many are read with one scan of the source's members. */
const READ_ALL_MEMBERS_ABOVE = 64;

export function groupRoundWriter(context: RoundWriterContext): RoundWriter<GroupChange> {
  const { source, round, mirror, journal } = context;
  const full = round.kind === 'full';
  let fingerprints: Map<string, string> | undefined;
  let storedMembers: Map<string, StoredMembers> = new Map();
  let seen: SeenInRound = { ids: new Set(), members: new Map() };
  return {
    async start() {
      if (!full) return;
      await journal.clearSeen(source, round.id);
      fingerprints = await mirror.loadFingerprints(source, 'groups');
      storedMembers = await mirror.loadMembers(source);
      seen = await journal.readSeen(source, round.id, 'groups');
    },
    async write(changes, batch) {
      const counts = emptyRoundCounts();
      const prepared = await mirror.prepareGroupChanges(source, changes, full ? { fingerprints: fingerprints ?? new Map() } : {});
      addCounts(counts, prepared.counts);
      const deltas = new Map<string, MemberDelta[]>();
      for (const change of changes) {
        if (change.kind !== 'upsert') continue;
        for (const member of change.members) {
          const list = deltas.get(change.id);
          const delta = { memberId: member.memberId, memberType: member.memberType, removed: member.removed };
          if (list === undefined) deltas.set(change.id, [delta]);
          else list.push(delta);
        }
      }

      if (full) {
        // A full round reports every member; what it reports replaces the group's members at the end.
        const slices = new Map<string, MemberSets>();
        for (const [groupId, list] of deltas) {
          const slice = slices.get(groupId) ?? emptySets();
          slices.set(groupId, slice);
          for (const delta of list) if (!delta.removed) typeSet(slice, delta.memberType).add(delta.memberId);
        }
        const ids = new Set(changes.map((change) => change.id));
        await journal.appendSeen(source, round.id, 'groups', batch, { ids, members: slices }, context.attempt);
        await prepared.commit();
        for (const id of ids) seen.ids.add(id);
        for (const [groupId, slice] of slices) {
          const sets = seen.members.get(groupId) ?? emptySets();
          seen.members.set(groupId, sets);
          for (const key of ['users', 'groups', 'others'] as const) for (const id of slice[key]) sets[key].add(id);
        }
        counts.rowsWritten = prepared.rows;
        return { counts, heldBack: [] };
      }

      const report = prepared.report;
      const updates = new Map<string, { sets: MemberSets; previousRowKeys: readonly string[] }>();
      if (deltas.size > 0) {
        const touched = [...deltas.keys()];
        const stored = touched.length > READ_ALL_MEMBERS_ABOVE ? await mirror.loadMembers(source) : await mirror.readMembers(source, touched);
        for (const [groupId, list] of deltas) {
          const before = stored.get(groupId) ?? { sets: emptySets(), rowKeys: [] };
          const after: MemberSets = { users: new Set(before.sets.users), groups: new Set(before.sets.groups), others: new Set(before.sets.others) };
          for (const delta of list) {
            for (const key of ['users', 'groups', 'others'] as const) after[key].delete(delta.memberId);
            if (!delta.removed) typeSet(after, delta.memberType).add(delta.memberId);
          }
          const edges = diffMembers(groupId, before.sets, after, report.members);
          counts.edgesAdded += edges.added;
          counts.edgesRemoved += edges.removed;
          if (edges.added + edges.removed > 0) updates.set(groupId, { sets: after, previousRowKeys: before.rowKeys });
        }
      }
      if (report.changed.length + report.lifecycle.length + report.members.length > 0) {
        await journal.appendChanges(source, { ...journalAt(context, batch), kind: 'groups' }, { groups: report });
      }
      await prepared.commit();
      counts.rowsWritten = prepared.rows + (updates.size > 0 ? await mirror.writeMembers(source, updates) : 0);
      return { counts, heldBack: [] };
    },
    async finish() {
      const counts = emptyRoundCounts();
      if (!full || fingerprints === undefined) return counts;
      const updates = new Map<string, { sets: MemberSets; previousRowKeys: readonly string[] }>();
      for (const groupId of new Set([...storedMembers.keys(), ...seen.members.keys()])) {
        const before = storedMembers.get(groupId) ?? { sets: emptySets(), rowKeys: [] };
        const after = seen.members.get(groupId) ?? emptySets();
        if (sameSets(before.sets, after)) continue;
        const edges = diffMembers(groupId, before.sets, after, []);
        counts.edgesAdded += edges.added;
        counts.edgesRemoved += edges.removed;
        updates.set(groupId, { sets: after, previousRowKeys: before.rowKeys });
      }
      const memberRows = updates.size > 0 ? await mirror.writeMembers(source, updates) : 0;
      const unseen = [...fingerprints].filter(([id, fingerprint]) => !fingerprint.startsWith('removed:') && !seen.ids.has(id)).map(([id]) => id);
      const sweep = await mirror.prepareSweep(source, 'groups', unseen, fingerprints);
      await sweep.commit();
      counts.swept = sweep.counts.removed;
      counts.rowsWritten = memberRows + sweep.rows;
      counts.purged = await mirror.purgeRemoved(source, 'groups', purgeBefore(context.now()));
      await journal.appendWholePlan(source, context.now(), round.id, 'full round of groups');
      return counts;
    },
  };
}
