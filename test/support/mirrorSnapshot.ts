/**
 * Two views of a mirror for engine tests:
 * - a directory view (live users, live groups, direct edges) comparable with what a FakeTenant holds;
 * - a raw row snapshot (every property, ETag and Timestamp included) to prove which rows a round
 *   wrote and that every other row was left byte for byte as it was.
 */
import type { FakeTenant, FakeUser } from '../fakes/graph';
import type { MirrorGroup, MirrorUser } from '../../src/sync/directory';
import type { MirrorStore } from '../../src/sync/ports';
import { TABLE_NAMES } from '../../src/store/entityCodec';
import { groupPartitionKey, userPartitionKey } from '../../src/store/entityCodec';
import { shardRowKey } from '../../src/store/memberShards';
import { createTableClient, type StorageTarget } from '../../src/store/storageAccount';

/** What a round writes: the mailbox type is the plan's to read (and compared apart). */
export type LiveUser = Omit<MirrorUser, 'removed' | 'mailboxType'>;
export type LiveGroup = Omit<MirrorGroup, 'removed'>;

/** Live objects sorted by id; edges as "groupId memberType memberId", sorted, so a failing diff reads well. */
export interface DirectoryView {
  users: LiveUser[];
  groups: LiveGroup[];
  edges: string[];
}

export type RemovalReason = NonNullable<MirrorUser['removed']>['reason'];

const byId = <T extends { id: string }>(a: T, b: T): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function edgeText(groupId: string, memberType: string, memberId: string): string {
  return `${groupId} ${memberType} ${memberId}`;
}

/** A fake tenant's user as the mirror should hold it (extension attributes that are null are absent). */
export function mirrorShapeOf(user: FakeUser): LiveUser {
  const extensionAttributes = Object.fromEntries(
    Object.entries(user.onPremisesExtensionAttributes)
      .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
  return {
    id: user.id,
    userPrincipalName: user.userPrincipalName,
    mail: user.mail,
    displayName: user.displayName,
    givenName: user.givenName,
    surname: user.surname,
    jobTitle: user.jobTitle,
    department: user.department,
    companyName: user.companyName,
    officeLocation: user.officeLocation,
    streetAddress: user.streetAddress,
    city: user.city,
    state: user.state,
    postalCode: user.postalCode,
    country: user.country,
    businessPhones: [...user.businessPhones],
    mobilePhone: user.mobilePhone,
    faxNumber: user.faxNumber,
    employeeId: user.employeeId,
    accountEnabled: user.accountEnabled,
    userType: user.userType,
    proxyAddresses: [...user.proxyAddresses],
    extensionAttributes,
    managerId: user.managerId,
    licensed: user.assignedLicenses.length > 0,
  };
}

/** What the mirror of `tenant` must hold: every live user and group, every direct edge of a live group to a live member. */
export function expectedDirectory(tenant: FakeTenant): DirectoryView {
  const groups = tenant.activeGroups();
  return {
    users: tenant.activeUsers().map(mirrorShapeOf).sort(byId),
    groups: groups.map((group) => ({ id: group.id, displayName: group.displayName, mail: group.mail, description: group.description })).sort(byId),
    edges: groups.flatMap((group) => tenant.activeMembersOf(group.id).map((member) => edgeText(group.id, member.kind, member.id))).sort(),
  };
}

async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const page of pages) all.push(...page);
  return all;
}

/**
 * The live part of a mirror. Edges of removed groups are left out: the store keeps them on purpose
 * (docs/storage.md, "A removed group keeps its edges") and nothing reads them.
 */
export async function readMirrorDirectory(mirror: MirrorStore, source: string): Promise<DirectoryView> {
  const users = await collect(mirror.listUsers(source));
  const groups = await collect(mirror.listGroups(source));
  const liveGroupIds = new Set(groups.map((group) => group.id));
  const edges = (await collect(mirror.listEdges(source)))
    .filter((edge) => liveGroupIds.has(edge.groupId))
    .map((edge) => edgeText(edge.groupId, edge.memberType, edge.memberId));
  return {
    users: users.map(({ removed: _removed, mailboxType: _mailboxType, ...user }) => user).sort(byId),
    groups: groups.map(({ removed: _removed, ...group }) => group).sort(byId),
    edges: edges.sort(),
  };
}

/** Every object the mirror holds as removed, with the reason: `{ users: { id: reason }, groups: { id: reason } }`. */
export async function removedInMirror(mirror: MirrorStore, source: string): Promise<{ users: Record<string, RemovalReason>; groups: Record<string, RemovalReason> }> {
  const reasons = (objects: (MirrorUser | MirrorGroup)[]) =>
    Object.fromEntries(objects.flatMap((object) => (object.removed === null ? [] : [[object.id, object.removed.reason] as const])));
  return {
    users: reasons(await collect(mirror.listUsers(source, { includeRemoved: true }))),
    groups: reasons(await collect(mirror.listGroups(source, { includeRemoved: true }))),
  };
}

// ---------------------------------------------------------------------------------------------
// Raw rows

/** Row address → the entity as Table storage returns it (JSON text, ETag and Timestamp included). */
export type RowSnapshot = Map<string, string>;

const MIRROR_TABLES = [TABLE_NAMES.users, TABLE_NAMES.groups, TABLE_NAMES.members] as const;

function rowAddress(table: string, partitionKey: string, rowKey: string): string {
  return `${table}/${partitionKey}/${rowKey}`;
}

/** Addresses of mirror rows, in the form snapshotMirrorRows uses. */
export const mirrorRow = {
  user: (source: string, id: string): string => rowAddress(TABLE_NAMES.users, userPartitionKey(source, id), id),
  group: (source: string, id: string): string => rowAddress(TABLE_NAMES.groups, groupPartitionKey(source, id), id),
  /** The (first) member shard row of a group: a group of up to 4,000 members has just this one. */
  members: (source: string, groupId: string): string => rowAddress(TABLE_NAMES.members, groupPartitionKey(source, groupId), shardRowKey(groupId, 0)),
};

export async function snapshotMirrorRows(target: StorageTarget): Promise<RowSnapshot> {
  const snapshot: RowSnapshot = new Map();
  for (const table of MIRROR_TABLES) {
    for await (const row of createTableClient(target, table).listEntities<Record<string, unknown>>()) {
      snapshot.set(rowAddress(table, row.partitionKey ?? '', row.rowKey ?? ''), JSON.stringify(row));
    }
  }
  return snapshot;
}

/** Addresses of rows added, deleted or rewritten (any property, ETag or Timestamp differs), sorted. */
export function changedRows(before: RowSnapshot, after: RowSnapshot): string[] {
  const addresses = new Set([...before.keys(), ...after.keys()]);
  return [...addresses].filter((address) => before.get(address) !== after.get(address)).sort();
}
