/**
 * Scope sizes, missing groups and conflicts of one source, for `validate` (and, given the tenant's
 * verified domains, the in-scope users whose mail domain is not verified, for `status
 * --mail-domains`): the same rules as a plan (scopeModel.ts), applied to every live user of the
 * mirror, streamed. Reads only; costs one pass over the source's users.
 */
import type { ConnectorConfig } from '../config/types';
import { compareCodeUnits } from './codeUnitOrder';
import { loadDirectoryGraph, type ScopeConflict } from './planSource';
import type { MirrorStore } from './ports';
import { UnverifiedMailTally, type UnverifiedMailReport } from './mailDomains';
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
  /** Only when verified domains were given: in-scope users (of any destination) whose mail domain is not among them. */
  unverifiedMail?: UnverifiedMailReport;
}

export async function overviewScopes(
  mirror: MirrorStore,
  config: Pick<ConnectorConfig, 'mappings' | 'options'>,
  source: string,
  options: { verifiedDomains?: ReadonlySet<string> } = {},
): Promise<ScopeOverview> {
  const tally = options.verifiedDomains === undefined ? undefined : new UnverifiedMailTally(options.verifiedDomains);
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
      if (placement.destinations.size > 0) tally?.add(user);
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
  return { liveUsers, destinations, conflicts, ...(tally !== undefined ? { unverifiedMail: tally.report() } : {}) };
}
