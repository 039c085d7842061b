/**
 * What a plan looks at, and what it wants of each object: the two ways to choose the objects
 * (planSource.ts says when each is used) and the pieces they share.
 *
 * - planFromChanges: the objects the journal's changes reach (changeImpact.ts) and the ledger
 *   entries that came due; the users are read by id, the ledger buckets holding them by key.
 * - planWholeSource: every live user, streamed page by page and reduced to a few hashes and ids,
 *   and every ledger entry of every configured destination. No record JSON is kept: the records
 *   to send are read again, in id order, as they are sent (recordSource.ts).
 * Both produce, per destination and kind, the objects looked at and what the scope wants of each
 * (`desired`); scopeDecisions.ts decides from there, the same way for both.
 */
import { bucketOfId } from './bucketOf';
import { impactOf, type MergedChanges } from './changeImpact';
import { compareCodeUnits } from './codeUnitOrder';
import type { MirrorGroup, MirrorUser } from './directory';
import { DirectoryGraph } from './directoryGraph';
import { entryDueAt } from './ledgerPolicy';
import type { DesiredObject } from './objectPlan';
import {
  groupRecordHash, groupRecordJson, managerPart, userBaseHash, userRecordHash, userRecordJson, type Signature365Manager,
} from './payload';
import type { LedgerBucketSummary, LedgerEntry, LedgerRead, LedgerScope, LedgerStore, MirrorStore, RecordedConflict, ReportsIndex, UploadKind } from './ports';
import { fillMailboxTypes, type MailboxTypeReads } from './mailboxTypes';
import { windowedUsers } from './recordSource';
import { placeUser, type ScopeModel } from './scopeModel';

/** Groups first: a user's record names its groups. */
export const PLANNED_KINDS: readonly UploadKind[] = ['groups', 'users'];

/** A change-driven plan reaching more users than this share of the source plans the whole source instead. */
const WHOLE_PLAN_ABOVE_SHARE = 0.25;
const WHOLE_PLAN_ABOVE_MIN = 5_000;

export interface TargetDependencies {
  mirror: MirrorStore;
  ledger: LedgerStore;
  reports: ReportsIndex;
  /** Reads the mailbox types the placed users lack (mailboxTypes.ts); absent: types stay as stored. */
  mailboxTypes?: MailboxTypeReads;
}

/** What the scope wants at one destination for one object, and how to build its record. */
export interface Desired extends DesiredObject {
  record?: () => string | Promise<string>;
  label: string;
}

/** One destination and kind, while it is planned. */
export interface ScopePlan {
  scope: LedgerScope;
  mapped: boolean;
  read: LedgerRead;
  /** Objects this plan evaluated and what it wants of them (undefined: not wanted there). */
  desired: Map<string, Desired | undefined>;
  /** Bucket summaries as read (change-driven plans); absent when `read` holds every bucket. */
  summaries?: Map<string, LedgerBucketSummary>;
}

export interface PlannedTargets {
  scopes: ScopePlan[];
  /** Users looked at (whole: every live user). */
  evaluatedUsers: Set<string>;
  /** The conflicts among them. */
  conflicts: RecordedConflict[];
  /** Whole plans: the rebuilt manager → reports index. */
  reports?: Map<string, Set<string>>;
  /** Change plans: manager moves to apply to the reports index. */
  moves?: { userId: string; from: string[]; to: string | null }[];
  evaluatedGroups: number;
  /** Whole plans: the live users seen. */
  liveUsers?: number;
  liveGroups: number;
}

export function entryOf(read: LedgerRead, id: string): LedgerEntry | undefined {
  return read.buckets.get(bucketOfId(id))?.get(id);
}

async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const page of pages) for (const item of page) all.push(item);
  return all;
}

/** The source's group graph: every group (removed ones too) and every group's direct members. */
export async function loadDirectoryGraph(mirror: MirrorStore, source: string): Promise<DirectoryGraph> {
  const [groups, members] = await Promise.all([collect<MirrorGroup>(mirror.listGroups(source, { includeRemoved: true })), mirror.loadMembers(source)]);
  const sets = new Map([...members].map(([groupId, stored]) => [groupId, stored.sets]));
  return new DirectoryGraph(groups, sets);
}

function conflictOf(user: Pick<MirrorUser, 'id' | 'userPrincipalName'>, placement: ReturnType<typeof placeUser>): RecordedConflict | undefined {
  if (placement.conflict === undefined) return undefined;
  return {
    userId: user.id, upn: user.userPrincipalName, destinations: placement.conflict.destinations,
    mappingIndexes: placement.conflict.mappingIndexes, sentTo: [...placement.destinations.keys()],
  };
}

/** Group records wanted per destination: every group in scope of a mapping to it. */
function desiredGroupsFor(model: ScopeModel, destination: string, group: MirrorGroup | undefined): Desired | undefined {
  if (group === undefined || group.removed !== null || model.groupsByDestination.get(destination)?.has(group.id) !== true) return undefined;
  return { hash: groupRecordHash(group), record: () => groupRecordJson(group), label: group.displayName ?? group.id };
}

/** The whole source: every live user streamed once, every ledger entry of every destination read. */
export async function planWholeSource(source: string, configured: readonly string[], model: ScopeModel, deps: TargetDependencies): Promise<PlannedTargets> {
  const reads = new Map<string, LedgerRead>();
  for (const destination of configured) {
    for (const kind of PLANNED_KINDS) reads.set(`${destination}|${kind}`, await deps.ledger.read({ destination, source, kind }, 'all'));
  }

  interface Scanned {
    managerId: string | null;
    baseHash: string;
    destinations: Map<string, string[]>;
    label: string;
  }
  const scanned = new Map<string, Scanned>();
  const identity = new Map<string, Signature365Manager | null>();
  const reports = new Map<string, Set<string>>();
  const conflicts: RecordedConflict[] = [];
  for await (const page of deps.mirror.listUsers(source)) {
    const placements = new Map(page.map((user) => [user.id, placeUser(model, user)]));
    await fillMailboxTypes(page.filter((user) => (placements.get(user.id)?.destinations.size ?? 0) > 0), deps.mailboxTypes);
    for (const user of page) {
      const placement = placements.get(user.id) ?? placeUser(model, user);
      identity.set(user.id, managerPart(user));
      if (user.managerId !== null) {
        const set = reports.get(user.managerId) ?? new Set<string>();
        reports.set(user.managerId, set);
        set.add(user.id);
      }
      const conflict = conflictOf(user, placement);
      if (conflict !== undefined) conflicts.push(conflict);
      scanned.set(user.id, { managerId: user.managerId, baseHash: userBaseHash(user), destinations: placement.destinations, label: user.userPrincipalName ?? user.id });
    }
  }

  const scopes: ScopePlan[] = [];
  for (const destination of configured) {
    const mapped = model.destinations.includes(destination);
    // Groups: every group the mirror holds, and every group the ledger knows.
    const groupRead = reads.get(`${destination}|groups`) as LedgerRead;
    const groupDesired = new Map<string, Desired | undefined>();
    for (const group of model.graph.groups.values()) groupDesired.set(group.id, desiredGroupsFor(model, destination, group));
    for (const entries of groupRead.buckets.values()) for (const id of entries.keys()) if (!groupDesired.has(id)) groupDesired.set(id, undefined);
    scopes.push({ scope: { destination, source, kind: 'groups' }, mapped, read: groupRead, desired: groupDesired });

    const userRead = reads.get(`${destination}|users`) as LedgerRead;
    const userDesired = new Map<string, Desired | undefined>();
    const owed: string[] = [];
    for (const [id, user] of scanned) {
      const groups = user.destinations.get(destination);
      if (groups === undefined) continue;
      const manager = user.managerId === null ? null : (identity.get(user.managerId) ?? null);
      const hash = userRecordHash(user.baseHash, manager, groups);
      if (entryOf(userRead, id)?.a !== hash) owed.push(id);
      userDesired.set(id, {
        hash, baseHash: user.baseHash, label: user.label,
        record: async () => {
          const again = await users(id);
          if (again === undefined || again.removed !== null) throw new Error(`User ${id} of source ${source} left the mirror while its record was being sent`);
          return userRecordJson(again, manager, groups);
        },
      });
    }
    const users = windowedUsers(deps.mirror, source, owed.sort(compareCodeUnits));
    for (const entries of userRead.buckets.values()) for (const id of entries.keys()) if (!userDesired.has(id)) userDesired.set(id, undefined);
    scopes.push({ scope: { destination, source, kind: 'users' }, mapped, read: userRead, desired: userDesired });
  }

  return {
    scopes, evaluatedUsers: new Set(scanned.keys()), conflicts, reports, evaluatedGroups: model.graph.groups.size,
    liveUsers: scanned.size, liveGroups: model.graph.liveGroupIds().length,
  };
}

/**
 * The objects a change reaches and the entries that came due. Returns 'tooLarge' when the change
 * reaches more than a quarter of the source: a whole-source plan is then cheaper.
 */
export async function planFromChanges(
  source: string,
  configured: readonly string[],
  model: ScopeModel,
  changes: MergedChanges,
  summaries: ReadonlyMap<string, Map<string, LedgerBucketSummary>>,
  deps: TargetDependencies,
  now: Date,
  deleteAfterDays: number,
  knownUsers: number,
): Promise<PlannedTargets | 'tooLarge'> {
  // Entries that came due, per destination and kind.
  const reads = new Map<string, LedgerRead>();
  const dueIds = { users: new Set<string>(), groups: new Set<string>() };
  for (const destination of configured) {
    for (const kind of PLANNED_KINDS) {
      const scope = { destination, source, kind };
      const dueBuckets = [...(summaries.get(`${destination}|${kind}`) ?? new Map<string, LedgerBucketSummary>())]
        .filter(([, summary]) => summary.due !== null && Date.parse(summary.due) <= now.getTime())
        .map(([bucket]) => bucket);
      if (dueBuckets.length === 0) continue;
      const read = await deps.ledger.read(scope, dueBuckets);
      reads.set(`${destination}|${kind}`, read);
      for (const entries of read.buckets.values()) {
        for (const [id, entry] of entries) {
          const at = entryDueAt(entry, deleteAfterDays);
          if (at !== null && at <= now.getTime()) dueIds[kind].add(id);
        }
      }
    }
  }

  const reportsOf = changes.identityChanged.size > 0 ? await deps.reports.reportsOf(source, [...changes.identityChanged]) : new Map<string, string[]>();
  const impact = impactOf(changes, model.graph, reportsOf);
  const userIds = new Set([...impact.users, ...dueIds.users]);
  if (userIds.size > Math.max(WHOLE_PLAN_ABOVE_MIN, knownUsers * WHOLE_PLAN_ABOVE_SHARE)) return 'tooLarge';
  const groupIds = new Set([...impact.groups, ...dueIds.groups]);

  const users = userIds.size > 0 ? await deps.mirror.getUsers(source, [...userIds]) : new Map<string, MirrorUser>();
  const managerIds = [...users.values()].map((user) => user.managerId).filter((id): id is string => id !== null && !users.has(id));
  const managers = managerIds.length > 0 ? await deps.mirror.getUsers(source, [...new Set(managerIds)]) : new Map<string, MirrorUser>();
  const personOf = (id: string) => users.get(id) ?? managers.get(id);

  const conflicts: RecordedConflict[] = [];
  interface Evaluated { user?: MirrorUser; baseHash?: string; manager: Signature365Manager | null; destinations: Map<string, string[]>; label: string }
  const evaluated = new Map<string, Evaluated>();
  const placements = new Map<string, ReturnType<typeof placeUser>>();
  const placedSomewhere: MirrorUser[] = [];
  for (const id of userIds) {
    const user = users.get(id);
    if (user === undefined || user.removed !== null) continue;
    const placement = placeUser(model, user);
    placements.set(id, placement);
    if (placement.destinations.size > 0) placedSomewhere.push(user);
  }
  // Before the hashes: a type read now is part of the record (mailboxTypes.ts says which are read).
  await fillMailboxTypes(placedSomewhere, deps.mailboxTypes);
  for (const id of userIds) {
    const user = users.get(id);
    const placement = placements.get(id);
    if (user === undefined || user.removed !== null || placement === undefined) {
      evaluated.set(id, { manager: null, destinations: new Map(), label: user?.userPrincipalName ?? id });
      continue;
    }
    const conflict = conflictOf(user, placement);
    if (conflict !== undefined) conflicts.push(conflict);
    evaluated.set(id, {
      user, baseHash: userBaseHash(user), manager: user.managerId === null ? null : managerPart(personOf(user.managerId)),
      destinations: placement.destinations, label: user.userPrincipalName ?? id,
    });
  }

  const scopes: ScopePlan[] = [];
  for (const destination of configured) {
    const mapped = model.destinations.includes(destination);
    for (const kind of PLANNED_KINDS) {
      const ids = kind === 'users' ? userIds : groupIds;
      const scope = { destination, source, kind };
      const key = `${destination}|${kind}`;
      const read = await deps.ledger.read(scope, [...new Set([...ids].map(bucketOfId))], reads.has(key) ? { extend: reads.get(key) as LedgerRead } : {});
      const desired = new Map<string, Desired | undefined>();
      for (const id of ids) {
        if (kind === 'groups') {
          desired.set(id, desiredGroupsFor(model, destination, model.graph.groups.get(id)));
          continue;
        }
        const evaluation = evaluated.get(id);
        const groups = evaluation?.destinations.get(destination);
        const user = evaluation?.user;
        if (evaluation?.baseHash === undefined || user === undefined || groups === undefined) {
          desired.set(id, undefined);
          continue;
        }
        const manager = evaluation.manager;
        desired.set(id, {
          hash: userRecordHash(evaluation.baseHash, manager, groups), baseHash: evaluation.baseHash, label: evaluation.label,
          record: () => userRecordJson(user, manager, groups),
        });
      }
      scopes.push({ scope, mapped, read, desired, summaries: summaries.get(key) ?? new Map() });
    }
  }

  const moves = [...changes.managerMoves].map(([userId, from]) => {
    const user = users.get(userId);
    return { userId, from: [...from], to: user !== undefined && user.removed === null ? user.managerId : null };
  });
  return {
    scopes, evaluatedUsers: userIds, conflicts, moves, evaluatedGroups: groupIds.size,
    liveGroups: model.graph.liveGroupIds().length,
  };
}
