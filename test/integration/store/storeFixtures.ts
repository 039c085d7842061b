import { randomUUID } from 'node:crypto';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { GroupChange, MemberChange, UserAttributes, UserChange } from '../../../src/sync/directory';
import type { ApplyCounts, StoredMembers } from '../../../src/sync/ports';
import { TableMirrorStore } from '../../../src/store/mirrorStore';
import { createTableClient, type StorageTarget } from '../../../src/store/storageAccount';
import { isolatedStorage } from '../../support/storage';

/** Counts HTTP requests the stores send; writes are everything but GET (a batch is one POST). */
export function requestCounter(): { policy: PipelinePolicy; writes(): number; reads(): number; reset(): void } {
  let writes = 0;
  let reads = 0;
  return {
    policy: {
      name: 'testRequestCounter',
      async sendRequest(request, next) {
        if (request.method === 'GET') reads += 1;
        else writes += 1;
        return next(request);
      },
    },
    writes: () => writes,
    reads: () => reads,
    reset: () => { writes = 0; reads = 0; },
  };
}

export async function mirrorOnFreshStorage(options: { now?: () => Date } = {}): Promise<{
  store: TableMirrorStore; target: StorageTarget; requests: ReturnType<typeof requestCounter>;
}> {
  const target = isolatedStorage();
  const requests = requestCounter();
  const store = new TableMirrorStore(target, { additionalPolicies: [requests.policy], ...options });
  await store.initialize();
  requests.reset();
  return { store, target, requests };
}

/** Raw rows of one table, to check the stored layout itself. */
export async function rawRows(target: StorageTarget, base: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for await (const row of createTableClient(target, base).listEntities<Record<string, unknown>>()) rows.push(row);
  return rows;
}

/** A fresh object id (a random GUID, as Entra assigns). */
export const newId = (): string => randomUUID();

export function upsertUser(id: string, attributes: Partial<UserAttributes>): UserChange {
  return { kind: 'upsert', id, attributes };
}

export function fullUser(id: string, overrides: Partial<UserAttributes> = {}): UserChange {
  return upsertUser(id, {
    userPrincipalName: `${id.slice(0, 8)}@contoso.test`,
    mail: `${id.slice(0, 8)}@contoso.test`,
    displayName: `User ${id.slice(0, 8)}`,
    jobTitle: 'Engineer',
    businessPhones: ['+1 555 0100'],
    accountEnabled: true,
    proxyAddresses: [`SMTP:${id.slice(0, 8)}@contoso.test`],
    extensionAttributes: { extensionAttribute1: 'one' },
    managerId: null,
    ...overrides,
  });
}

/** Every attribute present, as a full round carries a user (what fingerprints can compare). */
export function completeUser(id: string, overrides: Partial<UserAttributes> = {}): UserChange {
  const base = fullUser(id, overrides);
  const attributes: Partial<UserAttributes> = {
    givenName: null, surname: null, department: null, companyName: null, officeLocation: null, streetAddress: null, city: null,
    state: null, postalCode: null, country: null, mobilePhone: null, faxNumber: null, employeeId: null, userType: 'Member', licensed: true,
    ...(base.kind === 'upsert' ? base.attributes : {}),
  };
  return upsertUser(id, attributes);
}

export function member(memberId: string, removed = false, memberType: MemberChange['memberType'] = 'user'): MemberChange {
  return { memberId, memberType, removed };
}

export function upsertGroup(id: string, members: MemberChange[] = [], displayName = `Group ${id.slice(0, 8)}`): GroupChange {
  return { kind: 'upsert', id, attributes: { displayName, mail: null, description: null }, members };
}

export async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const page of pages) all.push(...page);
  return all;
}

/** Prepares and commits user changes, as one batch of an incremental round (or, given fingerprints, a full round). */
export async function applyUsers(store: TableMirrorStore, source: string, changes: UserChange[], options: { fingerprints?: Map<string, string> } = {}): Promise<ApplyCounts> {
  const prepared = await store.prepareUserChanges(source, changes, options);
  await prepared.commit();
  return prepared.counts;
}

/**
 * Prepares and commits group rows and applies members@delta, as one batch of an incremental
 * round does (roundWriter.ts): members are read, changed and written back per group.
 */
export async function applyGroups(store: TableMirrorStore, source: string, changes: GroupChange[]): Promise<ApplyCounts> {
  const prepared = await store.prepareGroupChanges(source, changes);
  const touched = [...new Set(changes.flatMap((change) => (change.kind === 'upsert' && change.members.length > 0 ? [change.id] : [])))];
  const stored = await store.readMembers(source, touched);
  const updates = new Map<string, { sets: StoredMembers['sets']; previousRowKeys: readonly string[] }>();
  for (const change of changes) {
    if (change.kind !== 'upsert' || change.members.length === 0) continue;
    const current = updates.get(change.id)?.sets ?? stored.get(change.id)?.sets ?? { users: new Set<string>(), groups: new Set<string>(), others: new Set<string>() };
    for (const memberChange of change.members) {
      for (const set of [current.users, current.groups, current.others]) set.delete(memberChange.memberId);
      if (!memberChange.removed) (memberChange.memberType === 'user' ? current.users : memberChange.memberType === 'group' ? current.groups : current.others).add(memberChange.memberId);
    }
    updates.set(change.id, { sets: current, previousRowKeys: stored.get(change.id)?.rowKeys ?? [] });
  }
  await prepared.commit();
  if (updates.size > 0) await store.writeMembers(source, updates);
  return prepared.counts;
}
