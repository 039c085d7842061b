/** Short builders for directory objects and config in sync unit tests. */
import type { MembershipEdge, MirrorGroup, MirrorUser } from '../../../src/sync/directory';
import type { ConnectorConfig, ConnectorOptions, MappingConfig } from '../../../src/config/types';
import { DirectoryGraph } from '../../../src/sync/directoryGraph';
import type { StoredMembers } from '../../../src/sync/ports';
import { placeUser, type ScopeModel } from '../../../src/sync/scopeModel';
import { buildDirectoryIndex, type DirectoryIndex } from '../../support/scopeReference/directoryIndex';

const REMOVED = { reason: 'deleted', at: '2024-01-01T00:00:00.000Z' } as const;

/** A live, enabled member user with mail and UPN `<id>@contoso.com`; every other attribute null. */
export function user(fields: Partial<MirrorUser> & { id: string }): MirrorUser {
  return {
    userPrincipalName: `${fields.id}@contoso.com`,
    mail: `${fields.id}@contoso.com`,
    displayName: null,
    givenName: null,
    surname: null,
    jobTitle: null,
    department: null,
    companyName: null,
    officeLocation: null,
    streetAddress: null,
    city: null,
    state: null,
    postalCode: null,
    country: null,
    businessPhones: [],
    mobilePhone: null,
    faxNumber: null,
    employeeId: null,
    accountEnabled: true,
    userType: 'Member',
    proxyAddresses: [],
    extensionAttributes: {},
    managerId: null,
    licensed: true,
    mailboxType: null,
    removed: null,
    ...fields,
  };
}

export function group(fields: Partial<MirrorGroup> & { id: string }): MirrorGroup {
  return { displayName: fields.id, mail: null, description: null, removed: null, ...fields };
}

export function removed<T extends { removed: MirrorUser['removed'] }>(object: T): T {
  return { ...object, removed: REMOVED };
}

/** `members` of group `groupId`: ids like g1, g12, gOther (g + digit or capital) are groups, others users. */
export function edges(groupId: string, ...members: string[]): MembershipEdge[] {
  return members.map((memberId) => ({
    groupId,
    memberId,
    memberType: /^g[0-9A-Z]/.test(memberId) ? 'group' : 'user',
  }));
}

export function options(fields: Partial<ConnectorOptions> = {}): ConnectorOptions {
  return {
    deltaIntervalMinutes: 15,
    fullReconcileHours: 24,
    includeDisabledUsers: false,
    includeGuests: false,
    requireMail: false,
    licensedUsersOnly: false,
    onConflict: 'All',
    deleteAfterDays: 7,
    deleteThreshold: { kind: 'percent', percent: 20 },
    deleteThresholdMax: 500,
    auditRetentionDays: 30,
    ...fields,
  };
}

export function mapping(fields: Partial<MappingConfig> = {}): MappingConfig {
  return {
    index: 0,
    source: 'Default',
    destination: 'Tenant1',
    limitToGroups: [],
    exclude: [],
    include: [],
    filter: null,
    ...fields,
  };
}

export function config(mappings: Partial<MappingConfig>[], optionFields: Partial<ConnectorOptions> = {}): ConnectorConfig {
  return {
    sources: [],
    destinations: [],
    mappings: mappings.map((fields, index) => mapping({ index, ...fields })),
    options: options(optionFields),
  };
}

/** `users` as built objects: ids become default users. */
export function asUsers(list: readonly (string | MirrorUser)[]): MirrorUser[] {
  return list.map((u) => (typeof u === 'string' ? user({ id: u }) : u));
}

/** `groups` as built objects: ids become default groups. */
export function asGroups(list: readonly (string | MirrorGroup)[]): MirrorGroup[] {
  return list.map((g) => (typeof g === 'string' ? group({ id: g }) : g));
}

/** The reference index of the given objects; `users`/`groups` may be ids (defaults) or built objects. */
export function directory(
  userList: (string | MirrorUser)[],
  groupList: (string | MirrorGroup)[],
  memberships: MembershipEdge[] = [],
): DirectoryIndex {
  return buildDirectoryIndex(asUsers(userList), asGroups(groupList), memberships);
}

/**
 * The group graph of the given groups and memberships, as the planner loads it from the mirror:
 * every group (removed ones too) and every stored edge, live or not. Users are not part of it.
 */
export function directoryGraph(groupList: readonly (string | MirrorGroup)[], memberships: readonly MembershipEdge[] = []): DirectoryGraph {
  const members = new Map<string, StoredMembers['sets']>();
  for (const { groupId, memberId, memberType } of memberships) {
    let sets = members.get(groupId);
    if (sets === undefined) {
      sets = { users: new Set(), groups: new Set(), others: new Set() };
      members.set(groupId, sets);
    }
    (memberType === 'user' ? sets.users : memberType === 'group' ? sets.groups : sets.others).add(memberId);
  }
  return new DirectoryGraph(asGroups(groupList), members);
}

/** Where the new engine puts every live user of `userList` (removed ones are never evaluated). */
export interface Placements {
  /** Destination → sorted [userId, groupIds] pairs, like `flatten`. */
  destinations: Map<string, [string, string[]][]>;
  /** Users held by mappings to more than one destination, sorted by user id. */
  conflicts: { userId: string; destinations: string[]; mappingIndexes: number[] }[];
}

export function placeEveryone(model: ScopeModel, userList: readonly (string | MirrorUser)[]): Placements {
  const destinations = new Map<string, [string, string[]][]>();
  const conflicts: Placements['conflicts'] = [];
  for (const u of asUsers(userList)) {
    if (u.removed !== null) continue;
    const placement = placeUser(model, u);
    for (const [destination, groupIds] of placement.destinations) {
      const list = destinations.get(destination) ?? [];
      destinations.set(destination, list);
      list.push([u.id, groupIds]);
    }
    if (placement.conflict !== undefined) conflicts.push({ userId: u.id, ...placement.conflict });
  }
  for (const list of destinations.values()) list.sort(([a], [b]) => (a < b ? -1 : 1));
  conflicts.sort((a, b) => (a.userId < b.userId ? -1 : 1));
  return { destinations, conflicts };
}

/** A scope's users as sorted [userId, sorted groupIds] pairs, for readable equality. */
export function flatten(users: Map<string, Set<string>>): [string, string[]][] {
  return [...users].map(([id, groups]): [string, string[]] => [id, [...groups].sort()]).sort(([a], [b]) => (a < b ? -1 : 1));
}
