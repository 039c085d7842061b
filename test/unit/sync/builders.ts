/** Short builders for directory objects and config in sync unit tests. */
import type { MembershipEdge, MirrorGroup, MirrorUser } from '../../../src/sync/directory';
import type { ConnectorConfig, ConnectorOptions, MappingConfig } from '../../../src/config/types';
import { buildDirectoryIndex, type DirectoryIndex } from '../../../src/sync/directoryIndex';

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
    onConflict: 'All',
    deleteAfterDays: 7,
    deleteThreshold: { kind: 'percent', percent: 20 },
    deleteThresholdMax: 500,
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

/** An index of the given objects; `users`/`groups` may be ids (defaults) or built objects. */
export function directory(
  users: (string | MirrorUser)[],
  groups: (string | MirrorGroup)[],
  memberships: MembershipEdge[] = [],
): DirectoryIndex {
  return buildDirectoryIndex(
    users.map((u) => (typeof u === 'string' ? user({ id: u }) : u)),
    groups.map((g) => (typeof g === 'string' ? group({ id: g }) : g)),
    memberships,
  );
}

/** A scope's users as sorted [userId, sorted groupIds] pairs, for readable equality. */
export function flatten(users: Map<string, Set<string>>): [string, string[]][] {
  return [...users].map(([id, groups]): [string, string[]] => [id, [...groups].sort()]).sort(([a], [b]) => (a < b ? -1 : 1));
}
