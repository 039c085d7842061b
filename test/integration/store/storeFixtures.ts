import { randomUUID } from 'node:crypto';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { GroupChange, MemberChange, UserAttributes, UserChange } from '../../../src/sync/directory';
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
