/**
 * What each destination tenant should hold from one source: the mappings of that source resolved
 * (./scope.ts) and combined per destination.
 *
 * - Several mappings to the same destination are unioned: a user in scope of two of them is one
 *   user carrying the groups of both; the destination's groups are the union too.
 * - A user in scope of mappings to different destinations is a conflict, always reported. Under
 *   OnConflict "All" the user goes to every one of those destinations; under "FirstMapping" only to
 *   the destination of the first matching mapping in file order (and there it still carries the
 *   groups of every matching mapping to that destination).
 * - Groups are not subject to conflicts: a group goes to every destination whose mappings hold it.
 */
import type { ConnectorConfig, MappingConfig } from '../../../src/config/types';
import { compareCodeUnits, type DirectoryIndex } from './directoryIndex';
import { resolveMappingScope, type MappingScope } from './scope';

export interface DestinationScope {
  /** User id → the in-scope groups the user belongs to, transitively, across this destination's mappings. */
  users: Map<string, Set<string>>;
  groups: Set<string>;
  /** Indexes of this source's mappings to this destination, ascending. */
  mappingIndexes: number[];
  /** Union of the mappings' missingGroups: when non-empty the scope is partial and deletions wait. */
  missingGroups: string[];
}

export interface ScopeConflict {
  userId: string;
  upn: string | null;
  /** Destinations whose mappings hold the user, in the order of their first matching mapping. */
  destinations: string[];
  /** Every mapping that holds the user, ascending. */
  mappingIndexes: number[];
}

export interface SourceScopes {
  /** One entry per destination that has a mapping from this source, in order of its first mapping. */
  destinations: Map<string, DestinationScope>;
  /** Sorted by user id. */
  conflicts: ScopeConflict[];
  /** Each mapping's own scope, by mapping index (for missing groups, skip counts and explain). */
  mappings: Map<number, MappingScope>;
}

export function resolveDestinationScopes(
  index: DirectoryIndex,
  config: Pick<ConnectorConfig, 'mappings' | 'options'>,
  sourceName: string,
): SourceScopes {
  const mappings = config.mappings
    .filter((mapping) => mapping.source === sourceName)
    .sort((a, b) => a.index - b.index);

  const destinations = new Map<string, DestinationScope>();
  const mappingScopes = new Map<number, MappingScope>();
  // User id → the mappings holding it (with their scope), in file order.
  const holders = new Map<string, { mapping: MappingConfig; scope: MappingScope }[]>();

  for (const mapping of mappings) {
    const scope = resolveMappingScope(index, mapping, config.options);
    mappingScopes.set(mapping.index, scope);

    let destination = destinations.get(mapping.destination);
    if (destination === undefined) {
      destination = { users: new Map(), groups: new Set(), mappingIndexes: [], missingGroups: [] };
      destinations.set(mapping.destination, destination);
    }
    destination.mappingIndexes.push(mapping.index);
    for (const groupId of scope.groups) destination.groups.add(groupId);
    for (const groupId of scope.missingGroups) {
      if (!destination.missingGroups.includes(groupId)) destination.missingGroups.push(groupId);
    }
    for (const userId of scope.users.keys()) {
      const list = holders.get(userId);
      if (list) list.push({ mapping, scope });
      else holders.set(userId, [{ mapping, scope }]);
    }
  }

  const conflicts: ScopeConflict[] = [];
  for (const [userId, holding] of holders) {
    const targets = [...new Set(holding.map(({ mapping }) => mapping.destination))];
    if (targets.length > 1) {
      conflicts.push({
        userId,
        upn: index.users.get(userId)?.userPrincipalName ?? null,
        destinations: targets,
        mappingIndexes: holding.map(({ mapping }) => mapping.index),
      });
    }
    const first = targets[0];
    for (const { mapping, scope } of holding) {
      if (config.options.onConflict === 'FirstMapping' && mapping.destination !== first) continue;
      const destination = destinations.get(mapping.destination);
      const groups = scope.users.get(userId);
      if (destination === undefined || groups === undefined) continue;
      let held = destination.users.get(userId);
      if (held === undefined) {
        held = new Set();
        destination.users.set(userId, held);
      }
      for (const groupId of groups) held.add(groupId);
    }
  }
  conflicts.sort((a, b) => compareCodeUnits(a.userId, b.userId));

  return { destinations, conflicts, mappings: mappingScopes };
}
