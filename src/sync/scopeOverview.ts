/**
 * Scope sizes, missing groups and conflicts of one source, for `validate`: the same rules as a
 * plan (scopeModel.ts), applied to every live user of the mirror, streamed. Reads only.
 */
import type { ConnectorConfig } from '../config/types';
import { compareCodeUnits } from './codeUnitOrder';
import { loadDirectoryGraph, type ScopeConflict } from './planSource';
import type { MirrorStore } from './ports';
import { buildScopeModel, placeUser } from './scopeModel';

export interface DestinationOverview {
  users: number;
  groups: number;
  missingGroups: readonly string[];
}

export interface ScopeOverview {
  /** Live users in the mirror. */
  liveUsers: number;
  /** Per mapped destination, in the order of its first mapping. */
  destinations: Map<string, DestinationOverview>;
  /** Sorted by user id. */
  conflicts: ScopeConflict[];
}

export async function overviewScopes(mirror: MirrorStore, config: Pick<ConnectorConfig, 'mappings' | 'options'>, source: string): Promise<ScopeOverview> {
  const model = buildScopeModel(await loadDirectoryGraph(mirror, source), config, source);
  const destinations = new Map<string, DestinationOverview>();
  for (const destination of model.destinations) {
    destinations.set(destination, {
      users: 0, groups: model.groupsByDestination.get(destination)?.size ?? 0,
      missingGroups: model.missingGroupsByDestination.get(destination) ?? [],
    });
  }
  const conflicts: ScopeConflict[] = [];
  let liveUsers = 0;
  for await (const page of mirror.listUsers(source)) {
    for (const user of page) {
      liveUsers += 1;
      const placement = placeUser(model, user);
      for (const destination of placement.destinations.keys()) {
        const overview = destinations.get(destination);
        if (overview !== undefined) overview.users += 1;
      }
      if (placement.conflict !== undefined) {
        conflicts.push({ userId: user.id, upn: user.userPrincipalName, destinations: placement.conflict.destinations, mappingIndexes: placement.conflict.mappingIndexes });
      }
    }
  }
  conflicts.sort((a, b) => compareCodeUnits(a.userId, b.userId));
  return { liveUsers, destinations, conflicts };
}
