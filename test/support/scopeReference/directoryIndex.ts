/**
 * An in-memory index of one source's mirror, built once per plan and shared by every mapping of
 * that source. It holds only what is live: a removed user or group is in no map and no adjacency
 * list, so it is a member of nothing and nothing is a member of it (Graph drops the memberships of
 * a deleted object too). Building is linear in users + groups + edges; 100k users and 500k edges
 * fit comfortably in memory.
 */
import type { MembershipEdge, MirrorGroup, MirrorUser } from '../../../src/sync/directory';

export interface DirectoryIndex {
  /** Live users by object id. */
  readonly users: ReadonlyMap<string, MirrorUser>;
  /**
   * Live user id by lower-cased userPrincipalName. A UPN is unique among live users of a tenant;
   * should a stale mirror hold two, the smaller id wins so the index does not depend on read order.
   */
  readonly userIdByUpn: ReadonlyMap<string, string>;
  /** Live user ids by lower-cased mail, sorted. Mail is not unique (two guests may share one). */
  readonly userIdsByMail: ReadonlyMap<string, readonly string[]>;
  /** Live groups by object id. */
  readonly groups: ReadonlyMap<string, MirrorGroup>;
  /** Live group id → its direct live user members. Groups without user members have no entry. */
  readonly memberUsers: ReadonlyMap<string, ReadonlySet<string>>;
  /** Live group id → its direct live nested groups. Groups without nested groups have no entry. */
  readonly memberGroups: ReadonlyMap<string, ReadonlySet<string>>;
  /** Ids the mirror holds as removed, kept so messages can say "removed" rather than "unknown". */
  readonly removedUserIds: ReadonlySet<string>;
  readonly removedGroupIds: ReadonlySet<string>;
}

const EMPTY: ReadonlySet<string> = new Set<string>();

export function buildDirectoryIndex(
  users: Iterable<MirrorUser>,
  groups: Iterable<MirrorGroup>,
  edges: Iterable<MembershipEdge>,
): DirectoryIndex {
  const usersById = new Map<string, MirrorUser>();
  const removedUserIds = new Set<string>();
  for (const user of users) {
    if (user.removed === null) usersById.set(user.id, user);
    else removedUserIds.add(user.id);
  }
  // A user listed both live and removed (two reads straddling a change) is treated as live.
  for (const id of usersById.keys()) removedUserIds.delete(id);

  const groupsById = new Map<string, MirrorGroup>();
  const removedGroupIds = new Set<string>();
  for (const group of groups) {
    if (group.removed === null) groupsById.set(group.id, group);
    else removedGroupIds.add(group.id);
  }
  for (const id of groupsById.keys()) removedGroupIds.delete(id);

  const userIdByUpn = new Map<string, string>();
  const mailLists = new Map<string, string[]>();
  for (const user of usersById.values()) {
    if (user.userPrincipalName) {
      const upn = user.userPrincipalName.toLowerCase();
      const held = userIdByUpn.get(upn);
      if (held === undefined || user.id < held) userIdByUpn.set(upn, user.id);
    }
    if (user.mail) {
      const mail = user.mail.toLowerCase();
      const list = mailLists.get(mail);
      if (list) list.push(user.id);
      else mailLists.set(mail, [user.id]);
    }
  }
  for (const list of mailLists.values()) list.sort(compareCodeUnits);

  const memberUsers = new Map<string, Set<string>>();
  const memberGroups = new Map<string, Set<string>>();
  for (const edge of edges) {
    if (!groupsById.has(edge.groupId)) continue;
    // Trust the member type Graph reported, but only for a member the mirror holds live:
    // an edge may name a user the users round has not written yet, or one since removed.
    if (edge.memberType === 'user' && usersById.has(edge.memberId)) {
      addTo(memberUsers, edge.groupId, edge.memberId);
    } else if (edge.memberType === 'group' && groupsById.has(edge.memberId)) {
      addTo(memberGroups, edge.groupId, edge.memberId);
    }
    // 'other' members (devices, contacts, service principals) are not synced.
  }

  return {
    users: usersById,
    userIdByUpn,
    userIdsByMail: mailLists,
    groups: groupsById,
    memberUsers,
    memberGroups,
    removedUserIds,
    removedGroupIds,
  };
}

/** Direct live user members of a group (empty for an unknown or removed group). */
export function directUserMembers(index: DirectoryIndex, groupId: string): ReadonlySet<string> {
  return index.memberUsers.get(groupId) ?? EMPTY;
}

/** Direct live nested groups of a group (empty for an unknown or removed group). */
export function directGroupMembers(index: DirectoryIndex, groupId: string): ReadonlySet<string> {
  return index.memberGroups.get(groupId) ?? EMPTY;
}

/**
 * The live groups among `roots` and every live group nested under them at any depth. Each group
 * is visited once, so cycles end and a group reachable by several paths appears once.
 */
export function groupsAtOrBelow(index: DirectoryIndex, roots: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const stack: string[] = [];
  for (const root of roots) {
    if (index.groups.has(root) && !seen.has(root)) {
      seen.add(root);
      stack.push(root);
    }
  }
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    for (const child of directGroupMembers(index, next)) {
      if (!seen.has(child)) {
        seen.add(child);
        stack.push(child);
      }
    }
  }
  return seen;
}

/** Live users who are members of any of `groupIds` or of a group nested under them. */
export function transitiveUserMembers(index: DirectoryIndex, groupIds: Iterable<string>): Set<string> {
  const members = new Set<string>();
  for (const groupId of groupsAtOrBelow(index, groupIds)) {
    for (const userId of directUserMembers(index, groupId)) members.add(userId);
  }
  return members;
}

/**
 * Live user ids an Exclude/Include entry names: an object id, a userPrincipalName or a mail
 * address (both case-insensitive). A group id is not resolved here; see transitiveUserMembers.
 */
export function findUsers(index: DirectoryIndex, entry: string): string[] {
  const trimmed = entry.trim();
  const lower = trimmed.toLowerCase();
  const found = new Set<string>();
  if (index.users.has(trimmed)) found.add(trimmed);
  if (index.users.has(lower)) found.add(lower);
  const byUpn = index.userIdByUpn.get(lower);
  if (byUpn !== undefined) found.add(byUpn);
  for (const id of index.userIdsByMail.get(lower) ?? []) found.add(id);
  return [...found].sort(compareCodeUnits);
}

/** Ordinal string order: stable across locales and runtimes, unlike localeCompare. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function addTo(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}
