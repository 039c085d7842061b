/**
 * Which users and groups one mapping sends to its destination. Pure: it reads a DirectoryIndex
 * and the mapping, and returns sets; the engine decides what to do with them.
 *
 * The rules, in the order they apply:
 * 1. Candidates: the live users who are members of a LimitToGroups group, directly or through
 *    nested groups at any depth (cycles are safe; a group reached twice counts once). An empty
 *    LimitToGroups means the whole source: every live user.
 * 2. Filters, applied to candidates only: disabled users (accountEnabled === false; null counts as
 *    enabled) unless IncludeDisabledUsers, guests (userType "Guest") unless IncludeGuests, users
 *    without a mail when RequireMail.
 * 3. Include adds users named by object id, UPN or mail, even outside LimitToGroups. Explicit beats
 *    implicit: an included user bypasses the filters of step 2. A removed user cannot be included:
 *    the index does not hold it. A group id in Include is not expanded; it is reported unmatched.
 * 4. Exclude removes users named by object id, UPN or mail (case-insensitive), and every user who
 *    is a transitive member of an excluded group id. Exclude beats Include. An excluded group and
 *    every group nested under it also leave the mapping's groups.
 *
 * Groups in scope are the live LimitToGroups groups and every live group nested under them, or,
 * for the whole source, every live group: "the whole source" includes its groups. Each user carries
 * the in-scope groups it belongs to, transitively (a user of G2 nested in G1 gets {G1, G2}).
 */
import type { MirrorUser } from '../../../src/sync/directory';
import type { ConnectorOptions, MappingConfig } from '../../../src/config/types';
import {
  directUserMembers, findUsers, groupsAtOrBelow, transitiveUserMembers,
  type DirectoryIndex,
} from './directoryIndex';

export type UserFilterOptions = Pick<ConnectorOptions, 'includeDisabledUsers' | 'includeGuests' | 'requireMail'>;

/** Why a candidate user was filtered out; the first failing filter, in this order. */
export type FilterReason = 'disabled' | 'guest' | 'withoutMail';

/**
 * Why a mapping's scope holds no user. `noLiveUsers` and `allGroupsMissing` usually mean the mirror
 * is not filled yet (or a group id is wrong): the engine must not read them as "delete everyone".
 * `groupsHaveNoMembers` and `allFilteredOrExcluded` are empty scopes the configuration asked for.
 */
export type EmptyScopeReason = 'noLiveUsers' | 'allGroupsMissing' | 'groupsHaveNoMembers' | 'allFilteredOrExcluded';

export interface MappingScope {
  /** User id → the in-scope groups the user belongs to, transitively (empty for users outside every group). */
  users: Map<string, Set<string>>;
  /** In-scope group ids. */
  groups: Set<string>;
  /**
   * LimitToGroups ids that are not live in the mirror (unknown or removed), in config order.
   * The scope is then partial, so the engine refuses deletions for this mapping.
   */
  missingGroups: string[];
  /** Set exactly when `users` is empty. */
  emptyBecause?: EmptyScopeReason;
  /** Include entries that named no live user; Exclude entries that named no live user or group. */
  unmatched: { include: string[]; exclude: string[] };
  /** Candidates left out, for logs: by the first failing filter, and by Exclude. */
  skipped: Record<FilterReason | 'excluded', number>;
}

/** The first filter a user fails, or null when it passes them all. */
export function filterReason(user: MirrorUser, options: UserFilterOptions): FilterReason | null {
  if (!options.includeDisabledUsers && user.accountEnabled === false) return 'disabled';
  if (!options.includeGuests && user.userType?.toLowerCase() === 'guest') return 'guest';
  if (options.requireMail && !user.mail?.trim()) return 'withoutMail';
  return null;
}

export function resolveMappingScope(
  index: DirectoryIndex,
  mapping: Pick<MappingConfig, 'limitToGroups' | 'exclude' | 'include'>,
  options: UserFilterOptions,
): MappingScope {
  const wholeSource = mapping.limitToGroups.length === 0;

  const missingGroups: string[] = [];
  const liveRoots: string[] = [];
  for (const entry of unique(mapping.limitToGroups)) {
    const id = liveGroupId(index, entry);
    if (id === undefined) missingGroups.push(entry);
    else liveRoots.push(id);
  }

  const excludedUsers = new Set<string>();
  const excludedGroupRoots: string[] = [];
  const unmatchedExclude: string[] = [];
  for (const entry of unique(mapping.exclude)) {
    const groupId = liveGroupId(index, entry);
    const userIds = findUsers(index, entry);
    if (groupId !== undefined) excludedGroupRoots.push(groupId);
    for (const id of userIds) excludedUsers.add(id);
    if (groupId === undefined && userIds.length === 0) unmatchedExclude.push(entry);
  }
  const excludedGroups = groupsAtOrBelow(index, excludedGroupRoots);
  for (const id of transitiveUserMembers(index, excludedGroupRoots)) excludedUsers.add(id);

  const groups = wholeSource ? new Set(index.groups.keys()) : groupsAtOrBelow(index, liveRoots);
  for (const id of excludedGroups) groups.delete(id);

  const membership = inScopeMembership(index, groups);
  const candidates: Iterable<string> = wholeSource ? index.users.keys() : membership.keys();

  const included = new Set<string>();
  const unmatchedInclude: string[] = [];
  for (const entry of unique(mapping.include)) {
    const userIds = findUsers(index, entry);
    if (userIds.length === 0) unmatchedInclude.push(entry);
    for (const id of userIds) included.add(id);
  }

  const skipped: MappingScope['skipped'] = { disabled: 0, guest: 0, withoutMail: 0, excluded: 0 };
  const users = new Map<string, Set<string>>();
  let candidateCount = 0;
  for (const userId of candidates) {
    candidateCount += 1;
    if (excludedUsers.has(userId)) {
      skipped.excluded += 1;
      continue;
    }
    const user = index.users.get(userId);
    if (user === undefined) continue;
    const reason = included.has(userId) ? null : filterReason(user, options);
    if (reason !== null) {
      skipped[reason] += 1;
      continue;
    }
    users.set(userId, membership.get(userId) ?? new Set());
  }
  for (const userId of included) {
    if (!users.has(userId) && !excludedUsers.has(userId)) {
      users.set(userId, membership.get(userId) ?? new Set());
    }
  }

  const scope: MappingScope = {
    users,
    groups,
    missingGroups,
    unmatched: { include: unmatchedInclude, exclude: unmatchedExclude },
    skipped,
  };
  if (users.size === 0) {
    scope.emptyBecause = wholeSource
      ? (candidateCount === 0 ? 'noLiveUsers' : 'allFilteredOrExcluded')
      : liveRoots.length === 0 ? 'allGroupsMissing'
        : candidateCount === 0 ? 'groupsHaveNoMembers' : 'allFilteredOrExcluded';
  }
  return scope;
}

/**
 * For every live user who is a direct member of an in-scope group: the in-scope groups it belongs
 * to transitively. Worked out per group first (the in-scope groups that contain it, itself
 * included), then spread over the group's direct members, so each user costs the size of its
 * answer rather than a walk of the group graph.
 */
function inScopeMembership(index: DirectoryIndex, groups: ReadonlySet<string>): Map<string, Set<string>> {
  const containers = new Map<string, string[]>();
  for (const outer of groups) {
    for (const inner of groupsAtOrBelow(index, [outer])) {
      if (!groups.has(inner)) continue;
      const list = containers.get(inner);
      if (list) list.push(outer);
      else containers.set(inner, [outer]);
    }
  }
  const membership = new Map<string, Set<string>>();
  for (const [groupId, outers] of containers) {
    for (const userId of directUserMembers(index, groupId)) {
      let set = membership.get(userId);
      if (set === undefined) {
        set = new Set();
        membership.set(userId, set);
      }
      for (const outer of outers) set.add(outer);
    }
  }
  return membership;
}

/** Group ids come lower-case from Graph; config entries are matched the same way, trimmed. */
function liveGroupId(index: DirectoryIndex, entry: string): string | undefined {
  const trimmed = entry.trim();
  if (index.groups.has(trimmed)) return trimmed;
  const lower = trimmed.toLowerCase();
  return index.groups.has(lower) ? lower : undefined;
}

function unique(entries: readonly string[]): string[] {
  return [...new Set(entries)];
}
