/**
 * Which destinations each user goes to, and with which groups, decided one user at a time. Pure:
 * a ScopeModel is built once per plan from the group graph and the mappings, then `placeUser`
 * answers for any user from that user's own attributes and direct groups. This is what lets a
 * plan touch only the users a change reaches, and a whole-source plan stream every user without
 * holding them all.
 *
 * The rules per mapping, in the order they apply:
 * 1. Candidates: live users who are direct members of a group in scope (below). An empty
 *    LimitToGroups means the whole source: every live user.
 * 2. Filters, for candidates only: disabled users (accountEnabled === false; null counts as
 *    enabled) unless IncludeDisabledUsers, guests (userType "Guest") unless IncludeGuests, users
 *    without a mail when RequireMail, users without a license (licensed === false; null, not yet
 *    read, counts as licensed) when LicensedUsersOnly, then users the mapping's Filter does not
 *    match (src/config/userFilter.ts). A user who stops passing leaves scope like any leaver.
 * 3. Include adds users named by object id, UPN or mail (case-insensitive), even outside
 *    LimitToGroups, and they bypass the filters. A group id in Include is not expanded.
 * 4. Exclude removes users named by object id, UPN or mail, and every direct member of an excluded
 *    group or of a group nested under it. Exclude beats Include.
 * Groups in scope: the live LimitToGroups groups and every live group nested under them (or every
 * live group for the whole source), less excluded groups and the groups nested under those. A user
 * carries the in-scope groups it belongs to at any depth (a user of G2 nested in G1 gets {G1, G2}).
 *
 * Per destination: mappings to the same destination are unioned. A user held by mappings to
 * different destinations is a conflict, always reported; under OnConflict "FirstMapping" it goes
 * only to the destination of its first matching mapping (carrying the groups of every matching
 * mapping to that destination), under "All" to every one of them. Groups are never conflicts.
 */
import type { ConnectorConfig, ConnectorOptions, MappingConfig } from '../config/types';
import { FILTER_TEXT_ATTRIBUTES, matchesUserFilter, type FilterExpression } from '../config/userFilter';
import type { UserAttributes } from './directory';
import { compareCodeUnits } from './codeUnitOrder';
import type { DirectoryGraph } from './directoryGraph';

export type UserFilterOptions = Pick<ConnectorOptions, 'includeDisabledUsers' | 'includeGuests' | 'requireMail'> &
  Partial<Pick<ConnectorOptions, 'licensedUsersOnly'>>;

/** Why a candidate user was filtered out; the first failing filter, in this order. */
export type FilterReason = 'disabled' | 'guest' | 'withoutMail' | 'unlicensed';

/** The first option filter a user fails, or null when it passes them all (a mapping's Filter is checked apart). */
export function filterReason(user: Pick<ScopeUser, 'accountEnabled' | 'userType' | 'mail'> & Partial<Pick<ScopeUser, 'licensed'>>, options: UserFilterOptions): FilterReason | null {
  if (!options.includeDisabledUsers && user.accountEnabled === false) return 'disabled';
  if (!options.includeGuests && user.userType?.toLowerCase() === 'guest') return 'guest';
  if (options.requireMail && !user.mail?.trim()) return 'withoutMail';
  if (options.licensedUsersOnly === true && user.licensed === false) return 'unlicensed';
  return null;
}

/** The user attributes scope depends on (a MirrorUser has them): the option filters' and every attribute a Filter may name. */
export type ScopeUser = { id: string } & Pick<UserAttributes, (typeof FILTER_TEXT_ATTRIBUTES)[number] | 'accountEnabled' | 'extensionAttributes' | 'licensed'>;

export interface MappingModel {
  index: number;
  destination: string;
  wholeSource: boolean;
  /** LimitToGroups entries that are live groups, and those that are not (the scope is then partial). */
  liveRoots: string[];
  missingGroups: string[];
  groupsInScope: ReadonlySet<string>;
  excludedGroups: ReadonlySet<string>;
  /** The mapping's Filter, parsed; null when it has none. */
  filter: FilterExpression | null;
  /** Include / Exclude entries, trimmed and lower-cased. */
  include: ReadonlySet<string>;
  exclude: ReadonlySet<string>;
  /** Exclude entries that are live group ids (they match no user, and are not "unmatched"). */
  excludedGroupEntries: ReadonlySet<string>;
}

export interface ScopeModel {
  readonly graph: DirectoryGraph;
  readonly mappings: readonly MappingModel[];
  /** Destinations with a mapping from this source, in the order of their first mapping. */
  readonly destinations: readonly string[];
  /** In-scope groups per mapped destination. */
  readonly groupsByDestination: ReadonlyMap<string, ReadonlySet<string>>;
  /** LimitToGroups that are not live, per mapped destination: deletions there wait. */
  readonly missingGroupsByDestination: ReadonlyMap<string, readonly string[]>;
  readonly onConflict: ConnectorOptions['onConflict'];
  readonly filters: UserFilterOptions;
}

export interface UserPlacement {
  /** Destination → the user's in-scope groups there, sorted. Empty when the user goes nowhere. */
  destinations: Map<string, string[]>;
  /** Set when mappings to more than one destination hold the user. */
  conflict?: { destinations: string[]; mappingIndexes: number[] };
}

function entrySet(entries: readonly string[]): Set<string> {
  return new Set(entries.map((entry) => entry.trim().toLowerCase()).filter((entry) => entry !== ''));
}

/** Group ids come lower-case from Graph; config entries are matched the same way, trimmed. */
function liveGroupId(graph: DirectoryGraph, entry: string): string | undefined {
  const trimmed = entry.trim();
  if (graph.isLiveGroup(trimmed)) return trimmed;
  const lower = trimmed.toLowerCase();
  return graph.isLiveGroup(lower) ? lower : undefined;
}

export function buildScopeModel(graph: DirectoryGraph, config: Pick<ConnectorConfig, 'mappings' | 'options'>, source: string): ScopeModel {
  const mappings: MappingModel[] = [];
  const sorted = config.mappings.filter((mapping: MappingConfig) => mapping.source === source).sort((a, b) => a.index - b.index);
  for (const mapping of sorted) {
    const wholeSource = mapping.limitToGroups.length === 0;
    const liveRoots: string[] = [];
    const missingGroups: string[] = [];
    for (const entry of new Set(mapping.limitToGroups)) {
      const id = liveGroupId(graph, entry);
      if (id === undefined) missingGroups.push(entry);
      else liveRoots.push(id);
    }
    const excludedRoots: string[] = [];
    for (const entry of new Set(mapping.exclude)) {
      const id = liveGroupId(graph, entry);
      if (id !== undefined) excludedRoots.push(id);
    }
    const excludedGroups = graph.liveAtOrBelow(excludedRoots);
    const groupsInScope = wholeSource ? new Set(graph.liveGroupIds()) : graph.liveAtOrBelow(liveRoots);
    for (const id of excludedGroups) groupsInScope.delete(id);
    mappings.push({
      index: mapping.index, destination: mapping.destination, wholeSource, liveRoots, missingGroups, groupsInScope, excludedGroups,
      filter: mapping.filter?.expression ?? null,
      include: entrySet(mapping.include), exclude: entrySet(mapping.exclude), excludedGroupEntries: new Set(excludedRoots),
    });
  }
  const destinations: string[] = [];
  const groupsByDestination = new Map<string, Set<string>>();
  const missingGroupsByDestination = new Map<string, string[]>();
  for (const mapping of mappings) {
    if (!groupsByDestination.has(mapping.destination)) {
      destinations.push(mapping.destination);
      groupsByDestination.set(mapping.destination, new Set());
      missingGroupsByDestination.set(mapping.destination, []);
    }
    for (const id of mapping.groupsInScope) groupsByDestination.get(mapping.destination)?.add(id);
    const missing = missingGroupsByDestination.get(mapping.destination) ?? [];
    for (const id of mapping.missingGroups) if (!missing.includes(id)) missing.push(id);
  }
  return {
    graph, mappings, destinations, groupsByDestination, missingGroupsByDestination,
    onConflict: config.options.onConflict,
    filters: {
      includeDisabledUsers: config.options.includeDisabledUsers, includeGuests: config.options.includeGuests, requireMail: config.options.requireMail,
      licensedUsersOnly: config.options.licensedUsersOnly,
    },
  };
}

/** Which of a mapping's Include / Exclude entries name this user (id, UPN or mail, case-insensitive). */
export function matchingEntries(entries: ReadonlySet<string>, user: ScopeUser): string[] {
  if (entries.size === 0) return [];
  const keys = new Set([user.id.toLowerCase(), user.userPrincipalName?.trim().toLowerCase(), user.mail?.trim().toLowerCase()]);
  return [...keys].filter((key): key is string => key !== undefined && key !== '' && entries.has(key));
}

/** The in-scope groups a user belongs to at any depth, for one mapping. */
function groupsOf(model: ScopeModel, mapping: MappingModel, direct: readonly string[]): Set<string> {
  const groups = new Set<string>();
  for (const inner of direct) {
    if (!mapping.groupsInScope.has(inner)) continue;
    for (const outer of model.graph.liveAncestorsOrSelf(inner)) if (mapping.groupsInScope.has(outer)) groups.add(outer);
  }
  return groups;
}

/**
 * How one mapping decides about one user, rules 1-4 of the header in their order: the first rule
 * that settles it. `holds` is the verdict; the rest says why (explain.ts shows it), so placeUser
 * and `explain` cannot disagree.
 * - `excludedEntry` / `excludedGroup`: rule 4 (Exclude beats Include).
 * - `included`: rule 3, the user did not pass rules 1-2 but an Include entry names them.
 * - `notCandidate`: rule 1, no direct group in scope (and not the whole source).
 * - a FilterReason or `filter`: rule 2, the first filter the candidate fails.
 * - `passes`: a candidate passing every filter (`included` may name the user too).
 */
export type MappingOutcome = 'excludedEntry' | 'excludedGroup' | 'included' | 'notCandidate' | FilterReason | 'filter' | 'passes';

export interface MappingDecision {
  holds: boolean;
  outcome: MappingOutcome;
  /** The Exclude and Include entries that name the user. */
  excludedBy: string[];
  included: string[];
}

export function decideMapping(model: ScopeModel, mapping: MappingModel, user: ScopeUser, direct: readonly string[]): MappingDecision {
  const excludedBy = matchingEntries(mapping.exclude, user);
  const included = matchingEntries(mapping.include, user);
  if (excludedBy.length > 0) return { holds: false, outcome: 'excludedEntry', excludedBy, included };
  if (direct.some((id) => mapping.excludedGroups.has(id))) return { holds: false, outcome: 'excludedGroup', excludedBy, included };
  const candidate = mapping.wholeSource || direct.some((id) => mapping.groupsInScope.has(id));
  const failed: MappingOutcome | null = !candidate
    ? 'notCandidate'
    : (filterReason(user, model.filters) ?? (mapping.filter !== null && !matchesUserFilter(mapping.filter, user) ? 'filter' : null));
  if (failed === null) return { holds: true, outcome: 'passes', excludedBy, included };
  if (included.length > 0) return { holds: true, outcome: 'included', excludedBy, included };
  return { holds: false, outcome: failed, excludedBy, included };
}

/**
 * Where one live user goes. `matched`, when given, collects the Include / Exclude entries that
 * named the user, per mapping index (for "unmatched entry" warnings).
 */
export function placeUser(model: ScopeModel, user: ScopeUser, matched?: Map<number, Set<string>>): UserPlacement {
  const direct = model.graph.directLiveGroupsOf(user.id);
  const holders: { mapping: MappingModel; groups: Set<string> }[] = [];
  for (const mapping of model.mappings) {
    const decision = decideMapping(model, mapping, user, direct);
    if (matched !== undefined) {
      const set = matched.get(mapping.index) ?? new Set<string>();
      matched.set(mapping.index, set);
      for (const entry of [...decision.excludedBy, ...decision.included]) set.add(entry);
    }
    if (!decision.holds) continue;
    holders.push({ mapping, groups: groupsOf(model, mapping, direct) });
  }
  const placement: UserPlacement = { destinations: new Map() };
  if (holders.length === 0) return placement;
  const targets = [...new Set(holders.map(({ mapping }) => mapping.destination))];
  if (targets.length > 1) placement.conflict = { destinations: targets, mappingIndexes: holders.map(({ mapping }) => mapping.index) };
  const first = targets[0];
  for (const { mapping, groups } of holders) {
    if (model.onConflict === 'FirstMapping' && mapping.destination !== first) continue;
    const held = new Set(placement.destinations.get(mapping.destination) ?? []);
    for (const id of groups) held.add(id);
    placement.destinations.set(mapping.destination, [...held].sort(compareCodeUnits));
  }
  return placement;
}
