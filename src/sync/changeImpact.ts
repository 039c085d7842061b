/**
 * From what pulls changed (the journal) to the objects a plan must look at again. Pure.
 *
 * Users to re-plan:
 * - every user whose row changed (attributes, removal, restore);
 * - the reports of a user whose name or mail changed, or who was removed or restored (their
 *   records carry the manager's name and mail);
 * - users who joined or left a group directly;
 * - every user under a group that was removed or restored, or that joined or left another group,
 *   at any depth and through removed groups too (their groups, and maybe their scope, changed).
 * Groups to re-plan: groups whose attributes changed, and every group at or below a group that was
 * removed, restored, or joined or left another group (their place in scope may have changed).
 */
import type { DirectoryGraph } from './directoryGraph';
import type { JournalEntry } from './ports';

export interface MergedChanges {
  users: Set<string>;
  identityChanged: Set<string>;
  /** User → every manager named by its moves (old and new): the user comes off their lists. */
  managerMoves: Map<string, Set<string>>;
  groupsChanged: Set<string>;
  groupsLifecycle: Set<string>;
  /** Users that joined or left a group directly. */
  memberUsers: Set<string>;
  /** Groups that joined or left another group. */
  memberGroups: Set<string>;
}

export function mergeJournal(entries: readonly JournalEntry[]): MergedChanges {
  const merged: MergedChanges = {
    users: new Set(), identityChanged: new Set(), managerMoves: new Map(),
    groupsChanged: new Set(), groupsLifecycle: new Set(), memberUsers: new Set(), memberGroups: new Set(),
  };
  for (const entry of entries) {
    if (entry.kind !== 'changes') continue;
    for (const id of entry.users?.changed ?? []) merged.users.add(id);
    for (const id of entry.users?.identityChanged ?? []) merged.identityChanged.add(id);
    for (const [userId, from, to] of entry.users?.managerMoves ?? []) {
      const set = merged.managerMoves.get(userId) ?? new Set<string>();
      merged.managerMoves.set(userId, set);
      if (from !== null) set.add(from);
      if (to !== null) set.add(to);
    }
    for (const id of entry.groups?.changed ?? []) merged.groupsChanged.add(id);
    for (const id of entry.groups?.lifecycle ?? []) merged.groupsLifecycle.add(id);
    for (const [, memberId, memberType] of entry.groups?.members ?? []) {
      if (memberType === 'user') merged.memberUsers.add(memberId);
      else if (memberType === 'group') merged.memberGroups.add(memberId);
    }
  }
  return merged;
}

export function isEmpty(changes: MergedChanges): boolean {
  return changes.users.size + changes.groupsChanged.size + changes.groupsLifecycle.size + changes.memberUsers.size + changes.memberGroups.size === 0;
}

export interface Impact {
  users: Set<string>;
  groups: Set<string>;
}

/** `reports` holds the reports of (at least) every user in `changes.identityChanged`. */
export function impactOf(changes: MergedChanges, graph: DirectoryGraph, reports: ReadonlyMap<string, readonly string[]>): Impact {
  const users = new Set(changes.users);
  for (const id of changes.identityChanged) for (const report of reports.get(id) ?? []) users.add(report);
  for (const id of changes.memberUsers) users.add(id);
  const reached = graph.anyAtOrBelow([...changes.groupsLifecycle, ...changes.memberGroups]);
  for (const groupId of reached) for (const userId of graph.directUsersOf(groupId)) users.add(userId);
  const groups = new Set([...changes.groupsChanged, ...reached]);
  return { users, groups };
}
