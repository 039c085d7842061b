import { afterEach, describe, expect, it } from 'vitest';
import {
  DeltaTokenExpiredError, GraphPermissionError, GraphRequestError, createGraphDirectoryReader,
  type GraphDirectoryReader, type GraphDirectoryReaderOptions,
} from '../../../src/graph';
import { USER_ATTRIBUTE_NAMES, type DeltaPage, type GroupChange, type UserChange } from '../../../src/sync/directory';
import { FakeTenant, startFakeGraph, type FakeGraph, type FakeGraphOptions } from '../../fakes/graph';

const SECRET = 'fake-secret-Value~0123456789';

let fake: FakeGraph | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function start(tenant: FakeTenant, options: Omit<FakeGraphOptions, 'tenant' | 'clientSecret'> = {}): Promise<FakeGraph> {
  fake = await startFakeGraph({ tenant, clientSecret: SECRET, ...options });
  return fake;
}

function readerFor(graph: FakeGraph, options: GraphDirectoryReaderOptions = {}): GraphDirectoryReader {
  return createGraphDirectoryReader(graph.sourceConfig(), options);
}

async function collect<T>(pages: AsyncIterable<DeltaPage<T>>): Promise<DeltaPage<T>[]> {
  const result: DeltaPage<T>[] = [];
  for await (const page of pages) result.push(page);
  return result;
}

function lastDeltaLink<T>(pages: DeltaPage<T>[]): string {
  const link = pages.at(-1)?.deltaLink;
  if (!link) throw new Error('the round ended without a deltaLink');
  return link;
}

function changesOf<T>(pages: DeltaPage<T>[]): T[] {
  return pages.flatMap((page) => page.changes);
}

function fullyPopulatedUser(tenant: FakeTenant, managerId: string | null = null) {
  return tenant.addUser({
    userPrincipalName: 'grace@contoso.example', mail: 'grace@contoso.example', displayName: 'Grace Hopper',
    givenName: 'Grace', surname: 'Hopper', jobTitle: 'Rear Admiral', department: 'Engineering', companyName: 'Contoso',
    officeLocation: 'Arlington', streetAddress: '1 Navy Way', city: 'Arlington', state: 'VA', postalCode: '22202',
    country: 'US', businessPhones: ['+1 555 0100'], mobilePhone: '+1 555 0101', faxNumber: '+1 555 0102',
    employeeId: 'E-1906', accountEnabled: true, userType: 'Member', proxyAddresses: ['SMTP:grace@contoso.example'],
    onPremisesExtensionAttributes: { extensionAttribute1: 'COBOL', extensionAttribute15: 'Navy' },
    managerId,
  });
}

async function expectRejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => { throw new Error('expected a rejection'); }, (error: unknown) => error);
}

describe('full rounds', () => {
  it('yields every user with all selected attributes and only those', async () => {
    const tenant = new FakeTenant();
    const boss = tenant.addUser({ displayName: 'Boss' });
    const grace = fullyPopulatedUser(tenant, boss.id);
    const graph = await start(tenant);

    const changes = changesOf(await collect(readerFor(graph).readUsers(undefined)));

    expect(changes.map((c) => c.id)).toEqual([boss.id, grace.id]);
    const graceChange = changes[1];
    if (graceChange?.kind !== 'upsert') throw new Error('expected an upsert');
    expect(Object.keys(graceChange.attributes).sort()).toEqual([...USER_ATTRIBUTE_NAMES].sort());
    expect(graceChange.attributes).toMatchObject({
      displayName: 'Grace Hopper', jobTitle: 'Rear Admiral', businessPhones: ['+1 555 0100'], accountEnabled: true,
      proxyAddresses: ['SMTP:grace@contoso.example'], managerId: boss.id,
    });
    expect(graceChange.attributes.extensionAttributes).toMatchObject({ extensionAttribute1: 'COBOL', extensionAttribute15: 'Navy', extensionAttribute2: null });
    // Graph sends no manager@delta for a user without a manager.
    const bossChange = changes[0];
    expect(bossChange?.kind === 'upsert' && 'managerId' in bossChange.attributes).toBe(false);
  });

  it('yields every group with its attributes and direct user and group members', async () => {
    const tenant = new FakeTenant();
    const user = tenant.addUser();
    const inner = tenant.addGroup({ displayName: 'Inner', mail: null, description: 'nested' });
    const outer = tenant.addGroup({ displayName: 'Outer', mail: 'outer@contoso.example', description: null });
    tenant.addMember(outer.id, user.id);
    tenant.addMember(outer.id, inner.id);
    const graph = await start(tenant);

    const changes = changesOf(await collect(readerFor(graph).readGroups(undefined)));

    expect(changes).toEqual([
      { kind: 'upsert', id: inner.id, attributes: { displayName: 'Inner', mail: null, description: 'nested' }, members: [] },
      {
        kind: 'upsert', id: outer.id, attributes: { displayName: 'Outer', mail: 'outer@contoso.example', description: null },
        members: [
          { memberId: user.id, memberType: 'user', removed: false },
          { memberId: inner.id, memberType: 'group', removed: false },
        ],
      },
    ]);
  });

  it('pages with Prefer: odata.maxpagesize and ends on the page with the deltaLink', async () => {
    const tenant = new FakeTenant();
    for (let i = 0; i < 450; i++) tenant.addUser();
    const graph = await start(tenant);
    const reader = readerFor(graph, { pageSize: 200 });

    const pages = await collect(reader.readUsers(undefined));

    expect(pages.map((p) => p.changes.length)).toEqual([200, 200, 50]);
    expect(pages.map((p) => [p.nextLink !== undefined, p.deltaLink !== undefined])).toEqual([[true, false], [true, false], [false, true]]);
    expect(reader.stats()).toEqual({ requests: 3, throttled: 0, pages: 3 });
  });

  it('gets at most 200 users a page however large the page size asked for', async () => {
    const tenant = new FakeTenant();
    for (let i = 0; i < 250; i++) tenant.addUser();
    const graph = await start(tenant);

    const pages = await collect(readerFor(graph, { pageSize: 999 }).readUsers(undefined));

    expect(pages.map((p) => p.changes.length)).toEqual([200, 50]);
  });

  it('reads a generated tenant of 3000 users and 60 groups completely', async () => {
    const tenant = new FakeTenant();
    const { userIds, groupIds } = tenant.generate({ users: 3000, groups: 60, nestingDepth: 3, seed: 11 });
    const graph = await start(tenant);
    const reader = readerFor(graph);

    const users = changesOf(await collect(reader.readUsers(undefined)));
    const groups = changesOf(await collect(reader.readGroups(undefined)));

    expect(new Set(users.map((u) => u.id))).toEqual(new Set(userIds));
    expect(new Set(groups.map((g) => g.id))).toEqual(new Set(groupIds));
  });
});

describe('incremental rounds', () => {
  it('yields exactly the changed users, updates carrying only the changed properties', async () => {
    const tenant = new FakeTenant();
    const [renamed, promoted, untouched, binned, purged, managerLeft] = Array.from({ length: 6 }, () => tenant.addUser());
    if (!renamed || !promoted || !untouched || !binned || !purged || !managerLeft) throw new Error('setup');
    tenant.setManager(managerLeft.id, promoted.id);
    const graph = await start(tenant);
    const reader = readerFor(graph);
    const deltaLink = lastDeltaLink(await collect(reader.readUsers(undefined)));

    tenant.updateUser(renamed.id, { displayName: 'New Name', mobilePhone: null });
    tenant.setManager(promoted.id, renamed.id);
    tenant.setManager(managerLeft.id, null);
    const hired = tenant.addUser({ displayName: 'New Hire' });
    tenant.softDeleteUser(binned.id);
    tenant.hardDeleteUser(purged.id);
    const changes = changesOf(await collect(reader.readUsers(deltaLink)));

    const byId = new Map(changes.map((c) => [c.id, c]));
    expect(byId.size).toBe(changes.length);
    expect([...byId.keys()].sort()).toEqual([renamed.id, promoted.id, managerLeft.id, hired.id, binned.id, purged.id].sort());
    expect(byId.get(renamed.id)).toEqual({ kind: 'upsert', id: renamed.id, attributes: { displayName: 'New Name' } });
    expect(byId.get(promoted.id)).toEqual({ kind: 'upsert', id: promoted.id, attributes: { managerId: renamed.id } });
    expect(byId.get(managerLeft.id)).toEqual({ kind: 'upsert', id: managerLeft.id, attributes: { managerId: null } });
    expect(byId.get(binned.id)).toEqual({ kind: 'removed', id: binned.id, reason: 'changed' });
    expect(byId.get(purged.id)).toEqual({ kind: 'removed', id: purged.id, reason: 'deleted' });
    const hire = byId.get(hired.id);
    expect(hire?.kind === 'upsert' && hire.attributes.displayName).toBe('New Hire');
    expect(byId.has(untouched.id)).toBe(false);
  });

  it('reports a property set to null as null', async () => {
    const tenant = new FakeTenant();
    const user = tenant.addUser({ mobilePhone: '+49 170 1234567' });
    const graph = await start(tenant);
    const reader = readerFor(graph);
    const deltaLink = lastDeltaLink(await collect(reader.readUsers(undefined)));

    tenant.updateUser(user.id, { mobilePhone: null });

    expect(changesOf(await collect(reader.readUsers(deltaLink)))).toEqual([{ kind: 'upsert', id: user.id, attributes: { mobilePhone: null } }]);
  });

  it('yields members@delta additions and removals, for users and nested groups', async () => {
    const tenant = new FakeTenant();
    const [stays, leaves, joins] = [tenant.addUser(), tenant.addUser(), tenant.addUser()];
    const group = tenant.addGroup({ displayName: 'Team' });
    const nested = tenant.addGroup({ displayName: 'Sub-team' });
    tenant.addMember(group.id, stays.id);
    tenant.addMember(group.id, leaves.id);
    const graph = await start(tenant);
    const reader = readerFor(graph);
    const deltaLink = lastDeltaLink(await collect(reader.readGroups(undefined)));

    tenant.removeMember(group.id, leaves.id);
    tenant.addMember(group.id, joins.id);
    tenant.addMember(group.id, nested.id);
    const changes: GroupChange[] = changesOf(await collect(reader.readGroups(deltaLink)));

    expect(changes).toEqual([
      {
        kind: 'upsert', id: group.id, attributes: {},
        members: [
          { memberId: leaves.id, memberType: 'user', removed: true },
          { memberId: joins.id, memberType: 'user', removed: false },
          { memberId: nested.id, memberType: 'group', removed: false },
        ],
      },
    ]);
  });

  it('reports removed groups as changed (recycle bin) or deleted', async () => {
    const tenant = new FakeTenant();
    const binned = tenant.addGroup();
    const purged = tenant.addGroup();
    const graph = await start(tenant);
    const reader = readerFor(graph);
    const deltaLink = lastDeltaLink(await collect(reader.readGroups(undefined)));

    tenant.deleteGroup(binned.id, { soft: true });
    tenant.deleteGroup(purged.id);

    expect(changesOf(await collect(reader.readGroups(deltaLink)))).toEqual([
      { kind: 'removed', id: binned.id, reason: 'changed' },
      { kind: 'removed', id: purged.id, reason: 'deleted' },
    ]);
  });

  it('ends an incremental round with no changes on an empty page with a new deltaLink', async () => {
    const tenant = new FakeTenant();
    tenant.addUser();
    const graph = await start(tenant);
    const reader = readerFor(graph);
    const deltaLink = lastDeltaLink(await collect(reader.readUsers(undefined)));

    const pages = await collect(reader.readUsers(deltaLink));

    expect(pages).toEqual([{ changes: [], deltaLink: expect.any(String) as string }]);
  });
});

describe('large groups', () => {
  it('splits a group’s members over several pages, repeating the group', async () => {
    const tenant = new FakeTenant();
    const users = Array.from({ length: 10 }, () => tenant.addUser());
    const big = tenant.addGroup({ displayName: 'Big' });
    for (const user of users) tenant.addMember(big.id, user.id);
    const graph = await start(tenant, { memberSliceSize: 3 });

    const pages = await collect(readerFor(graph, { pageSize: 2 }).readGroups(undefined));

    expect(pages.length).toBeGreaterThan(1);
    const entries = changesOf(pages).filter((c): c is Extract<GroupChange, { kind: 'upsert' }> => c.kind === 'upsert' && c.id === big.id);
    expect(entries.map((e) => e.members.length)).toEqual([3, 3, 3, 1]);
    expect(new Set(entries.flatMap((e) => e.members.map((m) => m.memberId)))).toEqual(new Set(users.map((u) => u.id)));
    expect(entries.every((e) => e.attributes.displayName === 'Big')).toBe(true);
  });
});

describe('resuming', () => {
  it('continues a round from a saved nextLink where it left off', async () => {
    const tenant = new FakeTenant();
    const ids = Array.from({ length: 5 }, () => tenant.addUser().id);
    const graph = await start(tenant);
    let savedNextLink: string | undefined;
    const firstPageIds: string[] = [];
    for await (const page of readerFor(graph, { pageSize: 2 }).readUsers(undefined)) {
      firstPageIds.push(...page.changes.map((c) => c.id));
      savedNextLink = page.nextLink;
      break; // the process "crashes" after storing the first page
    }

    const rest = await collect(readerFor(graph, { pageSize: 2 }).readUsers(savedNextLink));

    expect([...firstPageIds, ...changesOf(rest).map((c) => c.id)]).toEqual(ids);
    expect(rest.at(-1)?.deltaLink).toBeDefined();
  });

  it('gets the same page when a nextLink is replayed', async () => {
    const tenant = new FakeTenant();
    for (let i = 0; i < 5; i++) tenant.addUser();
    const graph = await start(tenant);
    const reader = readerFor(graph, { pageSize: 2 });
    const first = await collect(reader.readUsers(undefined));
    const nextLink = first[0]?.nextLink;
    tenant.addUser(); // a change during paging belongs to the next round

    const replayA = await collect(reader.readUsers(nextLink));
    const replayB = await collect(reader.readUsers(nextLink));

    expect(replayA).toEqual(replayB);
    expect(changesOf(replayA)).toEqual(changesOf(first).slice(2));
  });
});

describe('Graph failures', () => {
  it('throws DeltaTokenExpiredError on 410 Gone (syncStateNotFound) for an expired deltaLink', async () => {
    const tenant = new FakeTenant();
    tenant.addUser();
    const graph = await start(tenant);
    const reader = readerFor(graph);
    const deltaLink = lastDeltaLink(await collect(reader.readUsers(undefined)));
    graph.expireTokens();

    const error = await expectRejection(collect(reader.readUsers(deltaLink)));

    expect(error).toBeInstanceOf(DeltaTokenExpiredError);
    expect(error).toMatchObject({ kind: 'users', status: 410, code: 'syncStateNotFound' });
  });

  it('throws DeltaTokenExpiredError when an expired token comes back as 400 syncStateNotFound', async () => {
    const tenant = new FakeTenant();
    tenant.addGroup();
    const graph = await start(tenant);
    const reader = readerFor(graph);
    const deltaLink = lastDeltaLink(await collect(reader.readGroups(undefined)));
    graph.expireTokens({ status: 400 });

    const error = await expectRejection(collect(reader.readGroups(deltaLink)));

    expect(error).toBeInstanceOf(DeltaTokenExpiredError);
    expect(error).toMatchObject({ kind: 'groups', status: 400 });
  });

  it('retries a 429 after at least its Retry-After and counts it as throttled', async () => {
    const tenant = new FakeTenant();
    tenant.addUser();
    const graph = await start(tenant);
    graph.faults.add({ target: 'users', status: 429, retryAfterSeconds: 1 });
    const reader = readerFor(graph);

    const pages = await collect(reader.readUsers(undefined));

    expect(changesOf(pages)).toHaveLength(1);
    const [throttled, retried] = graph.deltaRequests('users');
    expect([throttled?.status, retried?.status]).toEqual([429, 200]);
    expect((retried?.at ?? 0) - (throttled?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    expect(reader.stats()).toEqual({ requests: 2, throttled: 1, pages: 1 });
  });

  it('gives up with a GraphRequestError carrying status and Retry-After once the retries are used up', async () => {
    const tenant = new FakeTenant();
    tenant.addUser();
    const graph = await start(tenant);
    graph.faults.add({ target: 'users', status: 503, retryAfterSeconds: 1, times: 2 });

    const error = await expectRejection(collect(readerFor(graph, { maxRetries: 1 }).readUsers(undefined)));

    expect(error).toBeInstanceOf(GraphRequestError);
    expect(error).toMatchObject({ status: 503, code: 'ServiceUnavailable', retryAfterInMs: 1000 });
    expect(graph.deltaRequests('users')).toHaveLength(2);
  });

  it('does not retry a 500 and reports it as a GraphRequestError', async () => {
    const tenant = new FakeTenant();
    tenant.addUser();
    const graph = await start(tenant);
    graph.faults.add({ target: 'users', status: 500 });

    const error = await expectRejection(collect(readerFor(graph).readUsers(undefined)));

    expect(error).toBeInstanceOf(GraphRequestError);
    expect(error).toMatchObject({ status: 500 });
    expect(graph.deltaRequests('users')).toHaveLength(1);
  });

  it.each([
    ['users', 'User.Read.All'],
    ['groups', 'GroupMember.Read.All'],
  ] as const)('throws GraphPermissionError naming the permission when %s/delta answers 403', async (kind, permission) => {
    const tenant = new FakeTenant();
    const graph = await start(tenant);
    graph.faults.add({ target: kind, status: 403 });
    const reader = readerFor(graph);

    const error = await expectRejection(collect(kind === 'users' ? reader.readUsers(undefined) : reader.readGroups(undefined)));

    expect(error).toBeInstanceOf(GraphPermissionError);
    expect((error as GraphPermissionError).message).toContain(permission);
  });

  it('treats a page that is not valid JSON as an error, not as the end of the round', async () => {
    const tenant = new FakeTenant();
    for (let i = 0; i < 3; i++) tenant.addUser();
    const graph = await start(tenant);
    const reader = readerFor(graph, { pageSize: 1 });
    const seen: DeltaPage<UserChange>[] = [];
    const first = await collect(reader.readUsers(undefined));
    graph.faults.add({ target: 'users', malformedJson: true });

    const error = await expectRejection((async () => {
      for await (const page of reader.readUsers(first[0]?.nextLink)) seen.push(page);
    })());

    expect(error).toBeInstanceOf(GraphRequestError);
    expect((error as Error).message).toContain('not valid JSON');
    expect(seen.some((p) => p.deltaLink !== undefined)).toBe(false);
  });

  it('treats a page with neither nextLink nor deltaLink as an error', async () => {
    const tenant = new FakeTenant();
    tenant.addUser();
    const graph = await start(tenant);
    graph.faults.add({ target: 'users', omitLinks: true });

    const error = await expectRejection(collect(readerFor(graph).readUsers(undefined)));

    expect(error).toBeInstanceOf(GraphRequestError);
    expect((error as Error).message).toContain('neither @odata.nextLink nor @odata.deltaLink');
  });

  it('gives up on a request that takes longer than the timeout', async () => {
    const tenant = new FakeTenant();
    tenant.addUser();
    const graph = await start(tenant);
    graph.faults.add({ target: 'users', delayMs: 2000 });

    const error = await expectRejection(collect(readerFor(graph, { requestTimeoutInMs: 200 }).readUsers(undefined)));

    expect(error).toBeInstanceOf(GraphRequestError);
    expect((error as GraphRequestError).status).toBeUndefined();
  });

  it('stops when the caller aborts', async () => {
    const tenant = new FakeTenant();
    for (let i = 0; i < 3; i++) tenant.addUser();
    const graph = await start(tenant);
    const controller = new AbortController();

    const error = await expectRejection((async () => {
      for await (const page of readerFor(graph, { pageSize: 1 }).readUsers(undefined, { abortSignal: controller.signal })) {
        void page;
        controller.abort();
      }
    })());

    expect((error as Error).name).toBe('AbortError');
    expect(graph.deltaRequests('users')).toHaveLength(1);
  });
});
