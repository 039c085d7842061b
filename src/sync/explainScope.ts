/**
 * Why one user is in scope of each mapping of a source, or not: the answer `explain` gives per
 * mapping. Pure. The verdict of every mapping is `decideMapping` (scopeModel.ts), the function
 * `placeUser` decides with, and where the user goes is `placeUser` itself, so explain and the plan
 * cannot disagree; this module only adds the why: the group path from the user's direct group up
 * to the LimitToGroups (or Exclude) group that decided, the filter that failed, the Include or
 * Exclude entry that named the user, and what OnConflict made of a user held by mappings to
 * different destinations.
 */
import type { ConflictPolicy } from '../config/types';
import { compareCodeUnits } from './codeUnitOrder';
import type { DirectoryGraph } from './directoryGraph';
import { decideMapping, placeUser, type MappingModel, type MappingOutcome, type ScopeModel, type ScopeUser, type UserPlacement } from './scopeModel';

export interface GroupRef {
  id: string;
  /** The group's display name; null when the mirror has none. */
  name: string | null;
}

/**
 * A chain of live groups from a group the user belongs to directly up to a group the mapping names:
 * `path[0]` holds the user, each next group holds the previous one, the last one is named in the
 * mapping (LimitToGroups or Exclude).
 */
export interface GroupPath {
  path: GroupRef[];
  /** For people: `Sales ⊂ EMEA ⊂ All staff (LimitToGroups)`. */
  text: string;
}

export interface MappingExplanation {
  /** `Mappings[i]`. */
  mapping: string;
  index: number;
  /** The destination's storage key, and its name as written when that differs. */
  destination: string;
  destinationName?: string;
  /** True when the mapping holds the user (rules 1-4 of scopeModel.ts). */
  inScope: boolean;
  /** True when the user goes to the destination through this mapping (OnConflict may keep a holding mapping from sending). */
  sends: boolean;
  outcome: MappingOutcome;
  /** One sentence per rule that mattered, in the order they apply. */
  why: string[];
  /** How the user is a candidate: through the whole source, or these group paths (shortest first, at most a few). */
  candidateThrough: 'wholeSource' | GroupPath[] | null;
  /** Include / Exclude entries that name the user (trimmed, lower-case as matched). */
  includedBy: string[];
  excludedBy: string[];
  /** Paths through which an excluded group reaches the user. */
  excludedThrough: GroupPath[];
  /** The mapping's Filter as written, and whether the user matched it (null: no Filter, or not reached). */
  filter: { text: string; matched: boolean | null } | null;
  /**
   * A paused mapping sends nothing until resumed. Set when the pause port (another part of the
   * connector) reports one; absent: no pause known.
   */
  paused?: PauseNote;
}

/** What the pause feature reports about a mapping (see ExplainDependencies.pauses). */
export interface PauseNote {
  since: string;
  by: string;
  reason: string;
}

export interface ConflictExplanation {
  destinations: string[];
  mappingIndexes: number[];
  onConflict: ConflictPolicy;
  sentTo: string[];
  why: string;
}

export interface ScopeExplanation {
  placement: UserPlacement;
  mappings: MappingExplanation[];
  conflict: ConflictExplanation | null;
}

/** How many paths per mapping are shown: enough to see the structure, bounded for tenants with wide nesting. */
const PATHS_SHOWN = 3;

function groupRef(graph: DirectoryGraph, id: string): GroupRef {
  return { id, name: graph.groups.get(id)?.displayName ?? null };
}

/**
 * The shortest chain of live groups from `start` up to any group in `targets` (breadth-first over
 * the live parents), or undefined when none reaches one. Each group is visited once, so cycles end.
 */
export function shortestGroupPath(graph: DirectoryGraph, start: string, targets: ReadonlySet<string>): string[] | undefined {
  if (!graph.isLiveGroup(start)) return undefined;
  const previous = new Map<string, string | null>([[start, null]]);
  const queue = [start];
  for (let head = 0; head < queue.length; head += 1) {
    const current = queue[head] as string;
    if (targets.has(current)) {
      const path: string[] = [];
      for (let at: string | null = current; at !== null; at = previous.get(at) ?? null) path.unshift(at);
      return path;
    }
    for (const parent of graph.liveParentsOf(current)) {
      if (previous.has(parent)) continue;
      previous.set(parent, current);
      queue.push(parent);
    }
  }
  return undefined;
}

/** Paths from each of the user's direct groups up to `roots`, shortest first, at most PATHS_SHOWN. */
function pathsTo(graph: DirectoryGraph, direct: readonly string[], roots: ReadonlySet<string>, label: string): GroupPath[] {
  const found: string[][] = [];
  for (const start of direct) {
    const path = shortestGroupPath(graph, start, roots);
    if (path !== undefined) found.push(path);
  }
  found.sort((a, b) => a.length - b.length || compareCodeUnits(a.join('/'), b.join('/')));
  return found.slice(0, PATHS_SHOWN).map((ids) => {
    const path = ids.map((id) => groupRef(graph, id));
    return { path, text: `${path.map((group) => group.name ?? group.id).join(' ⊂ ')} (${label})` };
  });
}

const FILTER_WHY: Record<'disabled' | 'guest' | 'withoutMail' | 'unlicensed', string> = {
  disabled: 'the account is disabled and Options.IncludeDisabledUsers is false',
  guest: 'the user is a guest (userType Guest) and Options.IncludeGuests is false',
  withoutMail: 'the user has no mail and Options.RequireMail is true',
  unlicensed: 'the user has no license and Options.LicensedUsersOnly is true',
};

function explainMapping(model: ScopeModel, mapping: MappingModel, user: ScopeUser, direct: readonly string[], filterText: string | null): Omit<MappingExplanation, 'sends'> {
  const { graph } = model;
  const decision = decideMapping(model, mapping, user, direct);
  const why: string[] = [];
  const excludedThrough = decision.outcome === 'excludedGroup' ? pathsTo(graph, direct, mapping.excludedGroupEntries, 'Exclude') : [];
  let candidateThrough: MappingExplanation['candidateThrough'] = null;
  if (mapping.wholeSource) {
    candidateThrough = 'wholeSource';
  } else {
    const paths = pathsTo(graph, direct.filter((id) => mapping.groupsInScope.has(id)), new Set(mapping.liveRoots), 'LimitToGroups');
    candidateThrough = paths.length > 0 ? paths : null;
  }
  let filterMatched: boolean | null = null;
  switch (decision.outcome) {
    case 'excludedEntry':
      why.push(`Exclude names the user (${decision.excludedBy.join(', ')}); Exclude beats Include and every group`);
      break;
    case 'excludedGroup':
      why.push(`the user is in an excluded group: ${excludedThrough.map((path) => path.text).join('; ') || 'a group nested under an Exclude entry'}`);
      break;
    case 'notCandidate':
      why.push(mapping.missingGroups.length > 0 && mapping.liveRoots.length === 0
        ? `none of LimitToGroups (${mapping.missingGroups.join(', ')}) is in the mirror`
        : 'the user is in no group of LimitToGroups, at any depth');
      break;
    case 'filter':
      filterMatched = false;
      why.push(`Filter ${JSON.stringify(filterText ?? '')} does not match the user`);
      break;
    case 'passes':
    case 'included':
      break;
    default:
      why.push(FILTER_WHY[decision.outcome]);
  }
  if (decision.outcome === 'passes' || decision.outcome === 'included') {
    if (decision.outcome === 'passes') {
      why.push(candidateThrough === 'wholeSource' ? 'the mapping takes the whole source (no LimitToGroups)' : `through ${(candidateThrough ?? []).map((path) => path.text).join('; ')}`);
      if (filterText !== null) {
        filterMatched = true;
        why.push(`Filter ${JSON.stringify(filterText)} matches the user`);
      }
    }
    if (decision.included.length > 0) {
      why.push(decision.outcome === 'included'
        ? `Include names the user (${decision.included.join(', ')}), which bypasses LimitToGroups and the filters`
        : `Include names the user too (${decision.included.join(', ')})`);
    }
  }
  return {
    mapping: `Mappings[${mapping.index}]`, index: mapping.index, destination: mapping.destination,
    inScope: decision.holds, outcome: decision.outcome, why, candidateThrough,
    includedBy: decision.included, excludedBy: decision.excludedBy, excludedThrough,
    filter: filterText === null ? null : { text: filterText, matched: filterMatched },
  };
}

/**
 * Every mapping of the source explained for one live user, the placement as the plan makes it,
 * and the conflict, if any. `filterTexts`: each mapping's Filter as written, by mapping index.
 */
export function explainScope(
  model: ScopeModel, user: ScopeUser, filterTexts: ReadonlyMap<number, string>, nameOf: (destination: string) => string = (destination) => destination,
): ScopeExplanation {
  const placement = placeUser(model, user);
  const direct = model.graph.directLiveGroupsOf(user.id);
  const mappings: MappingExplanation[] = model.mappings.map((mapping) => {
    const explained = explainMapping(model, mapping, user, direct, filterTexts.get(mapping.index) ?? null);
    const name = nameOf(mapping.destination);
    return { ...explained, ...(name === mapping.destination ? {} : { destinationName: name }), sends: explained.inScope && placement.destinations.has(mapping.destination) };
  });
  let conflict: ConflictExplanation | null = null;
  if (placement.conflict !== undefined) {
    const sentTo = [...placement.destinations.keys()];
    const first = nameOf(placement.conflict.destinations[0] ?? '');
    conflict = {
      destinations: placement.conflict.destinations, mappingIndexes: placement.conflict.mappingIndexes, onConflict: model.onConflict, sentTo,
      why: model.onConflict === 'FirstMapping'
        ? `mappings to ${placement.conflict.destinations.length} destinations (${placement.conflict.destinations.map(nameOf).join(', ')}) hold the user; Options.OnConflict is "FirstMapping", so only ${first} (the destination of the first matching mapping, Mappings[${placement.conflict.mappingIndexes[0] ?? 0}]) receives them`
        : `mappings to ${placement.conflict.destinations.length} destinations (${placement.conflict.destinations.map(nameOf).join(', ')}) hold the user; Options.OnConflict is "All", so every one of them receives them (Signature 365 uses the first matching tenant for signatures)`,
    };
  }
  for (const mapping of mappings) {
    if (mapping.inScope && !mapping.sends) {
      mapping.why.push(`not sent to ${nameOf(mapping.destination)}: Options.OnConflict is "FirstMapping" and an earlier mapping to ${nameOf(conflict?.sentTo[0] ?? 'another destination')} holds the user`);
    }
    const sameDestination = mappings.filter((other) => other !== mapping && other.sends && other.destination === mapping.destination).map((other) => other.mapping);
    if (mapping.sends && sameDestination.length > 0) {
      mapping.why.push(`${sameDestination.join(', ')} also send${sameDestination.length === 1 ? 's' : ''} the user to ${nameOf(mapping.destination)}: mappings to one destination are unioned (one record, the groups of each)`);
    }
  }
  return { placement, mappings, conflict };
}
