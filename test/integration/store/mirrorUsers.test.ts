import { describe, expect, it } from 'vitest';
import { USER_PARTITIONS, userPartitionKey } from '../../../src/store/entityCodec';
import { StorageError } from '../../../src/store/errors';
import {
  applyUsers, collect, fullUser, mirrorOnFreshStorage, newId, rawRows, upsertUser,
} from './storeFixtures';

describe('TableMirrorStore users', () => {
  it('merges a partial update without losing other attributes', async () => {
    const { store } = await mirrorOnFreshStorage();
    const id = newId();
    await applyUsers(store, 'contoso', [fullUser(id, { department: 'R&D' })]);

    const counts = await applyUsers(store, 'contoso', [upsertUser(id, { jobTitle: 'Manager' })]);

    expect(counts).toEqual({ added: 0, changed: 1, unchanged: 0, removed: 0 });
    const user = (await store.getUsers('contoso', [id])).get(id);
    expect(user).toMatchObject({ jobTitle: 'Manager', department: 'R&D', displayName: `User ${id.slice(0, 8)}`, accountEnabled: true });
  });

  it('finds users by UPN or mail, case-insensitively, removed ones too, in one source only', async () => {
    const { store } = await mirrorOnFreshStorage();
    const [alice, bob, gone, elsewhere] = [newId(), newId(), newId(), newId()];
    await applyUsers(store, 'contoso', [
      fullUser(alice, { userPrincipalName: 'Alice@Contoso.example', mail: 'alice@contoso.example' }),
      fullUser(bob, { userPrincipalName: 'bob@contoso.example', mail: 'Robert.B@contoso.example' }),
      fullUser(gone, { userPrincipalName: 'gone@contoso.example', mail: null }),
    ]);
    await applyUsers(store, 'contoso', [{ kind: 'removed', id: gone, reason: 'deleted' }]);
    await applyUsers(store, 'fabrikam', [fullUser(elsewhere, { userPrincipalName: 'alice@contoso.example' })]);

    expect(await store.findUserIdsByKey('contoso', ' ALICE@contoso.example ')).toEqual({ ids: [alice], scanned: 3 });
    expect((await store.findUserIdsByKey('contoso', 'robert.b@contoso.example')).ids).toEqual([bob]);
    expect((await store.findUserIdsByKey('contoso', 'gone@contoso.example')).ids).toEqual([gone]);
    expect((await store.findUserIdsByKey('contoso', 'nobody@contoso.example')).ids).toEqual([]);
  });

  it('merges extensionAttributes per key and keeps managerId when an update leaves it out', async () => {
    const { store } = await mirrorOnFreshStorage();
    const id = newId();
    const manager = newId();
    await applyUsers(store, 'contoso', [fullUser(id, { managerId: manager, extensionAttributes: { extensionAttribute1: 'one', extensionAttribute2: 'two' } })]);

    await applyUsers(store, 'contoso', [upsertUser(id, { extensionAttributes: { extensionAttribute3: 'three', extensionAttribute2: null } })]);

    const user = (await store.getUsers('contoso', [id])).get(id);
    expect(user?.extensionAttributes).toEqual({ extensionAttribute1: 'one', extensionAttribute3: 'three' });
    expect(user?.managerId).toBe(manager);
  });

  it('stores each attribute as a JSON column so null, booleans and lists survive', async () => {
    const { store, target } = await mirrorOnFreshStorage();
    const id = newId();
    await applyUsers(store, 'contoso', [upsertUser(id, { jobTitle: 'Engineer', mobilePhone: null, accountEnabled: false, businessPhones: [] })]);

    const [row] = await rawRows(target, 'MirrorUsers');
    expect(row).toMatchObject({ jobTitle: '"Engineer"', mobilePhone: 'null', accountEnabled: 'false', businessPhones: '[]', v: 2, removedReason: '' });
    const user = (await store.getUsers('contoso', [id])).get(id);
    expect(user).toMatchObject({ jobTitle: 'Engineer', mobilePhone: null, accountEnabled: false, businessPhones: [], proxyAddresses: [], extensionAttributes: {}, removed: null });
  });

  it('counts a replayed page as unchanged and sends no write at all', async () => {
    const { store, requests } = await mirrorOnFreshStorage();
    const page = Array.from({ length: 40 }, () => fullUser(newId()));
    expect(await applyUsers(store, 'contoso', page)).toEqual({ added: 40, changed: 0, unchanged: 0, removed: 0 });
    requests.reset();

    const replay = await applyUsers(store, 'contoso', page);

    expect(replay).toEqual({ added: 0, changed: 0, unchanged: 40, removed: 0 });
    expect(requests.writes()).toBe(0);
    expect(requests.reads()).toBeGreaterThan(0);
  });

  it('keeps a removed user as a row, idempotently, and restores it as added', async () => {
    let clock = new Date('2030-01-01T00:00:00Z');
    const { store, requests } = await mirrorOnFreshStorage({ now: () => clock });
    const [soft, hard] = [newId(), newId()];
    await applyUsers(store, 'contoso', [fullUser(soft), fullUser(hard)]);

    const removal = await applyUsers(store, 'contoso', [
      { kind: 'removed', id: soft, reason: 'changed' },
      { kind: 'removed', id: hard, reason: 'deleted' },
    ]);
    clock = new Date('2030-01-02T00:00:00Z');
    requests.reset();
    const again = await applyUsers(store, 'contoso', [{ kind: 'removed', id: soft, reason: 'changed' }]);

    expect(removal.removed).toBe(2);
    expect(again).toEqual({ added: 0, changed: 0, unchanged: 1, removed: 0 });
    expect(requests.writes()).toBe(0);
    const stored = await store.getUsers('contoso', [soft, hard]);
    expect(stored.get(soft)?.removed).toEqual({ reason: 'changed', at: '2030-01-01T00:00:00.000Z' });
    expect(stored.get(hard)?.removed).toEqual({ reason: 'deleted', at: '2030-01-01T00:00:00.000Z' });
    expect((await collect(store.listUsers('contoso'))).map((u) => u.id)).toEqual([]);
    expect(await collect(store.listUsers('contoso', { includeRemoved: true }))).toHaveLength(2);

    const restore = await applyUsers(store, 'contoso', [upsertUser(soft, { jobTitle: 'Back' })]);

    expect(restore).toEqual({ added: 1, changed: 0, unchanged: 0, removed: 0 });
    const restored = (await store.getUsers('contoso', [soft])).get(soft);
    expect(restored).toMatchObject({ removed: null, jobTitle: 'Back', displayName: `User ${soft.slice(0, 8)}` });
    expect((await collect(store.listUsers('contoso'))).map((u) => u.id)).toEqual([soft]);
  });

  it('ignores a removal of a user it never held', async () => {
    const { store, requests } = await mirrorOnFreshStorage();
    expect(await applyUsers(store, 'contoso', [{ kind: 'removed', id: newId(), reason: 'deleted' }]))
      .toEqual({ added: 0, changed: 0, unchanged: 1, removed: 0 });
    expect(requests.writes()).toBe(0);
  });

  it('applies several changes of one user in one page in order, writing the row once', async () => {
    const { store, requests } = await mirrorOnFreshStorage();
    const id = newId();
    const counts = await applyUsers(store, 'contoso', [
      fullUser(id),
      upsertUser(id, { jobTitle: 'Lead' }),
      upsertUser(id, { jobTitle: 'Lead' }),
    ]);
    expect(counts).toEqual({ added: 1, changed: 1, unchanged: 1, removed: 0 });
    expect(requests.writes()).toBe(1);
    expect((await store.getUsers('contoso', [id])).get(id)?.jobTitle).toBe('Lead');
  });

  it('stores a user with 500 long proxyAddresses, and a page of 100 such users', async () => {
    const { store, target } = await mirrorOnFreshStorage();
    const addresses = (n: number): string[] =>
      Array.from({ length: 500 }, (_, i) => `smtp:alias-number-${i}-of-a-rather-long-mailbox-name-${n}@subsidiary.contoso.example.com`);
    const ids = Array.from({ length: 100 }, () => newId());

    const counts = await applyUsers(store, 'contoso', ids.map((id, n) => fullUser(id, { proxyAddresses: addresses(n) })));

    expect(counts.added).toBe(100);
    const stored = await store.getUsers('contoso', ids);
    expect(stored.get(ids[7] ?? '')?.proxyAddresses).toEqual(addresses(7));
    // JSON of 500 addresses is over one string property: it was split over chunk columns.
    const raw = (await rawRows(target, 'MirrorUsers')).find((row) => row.rowKey === ids[7]);
    expect(raw?.proxyAddresses).toMatch(/^#chunks:\d+$/);
    // A shorter value afterwards replaces the chunked one.
    await applyUsers(store, 'contoso', [upsertUser(ids[7] ?? '', { proxyAddresses: ['SMTP:short@contoso.test'] })]);
    expect((await store.getUsers('contoso', [ids[7] ?? ''])).get(ids[7] ?? '')?.proxyAddresses).toEqual(['SMTP:short@contoso.test']);
  });

  it('refuses a user over the 1 MiB entity limit with an error naming the user', async () => {
    const { store } = await mirrorOnFreshStorage();
    const id = newId();
    const huge = Array.from({ length: 6000 }, (_, i) => `smtp:${'x'.repeat(80)}-${i}@contoso.test`);
    await expect(applyUsers(store, 'contoso', [fullUser(id, { proxyAddresses: huge })])).rejects.toSatisfy(
      (error: unknown) => error instanceof StorageError && error.code === 'EntityTooLarge' && error.message.includes(id),
    );
  });

  it('spreads a source over 64 partitions by the top six bits of the object id and batches writes per partition', async () => {
    const { store, target, requests } = await mirrorOnFreshStorage();
    const ids = Array.from({ length: 1_280 }, () => newId());

    await applyUsers(store, 'contoso', ids.map((id) => fullUser(id)));

    const rows = await rawRows(target, 'MirrorUsers');
    const partitions = new Set(rows.map((row) => row.partitionKey));
    expect(partitions).toEqual(new Set(Array.from({ length: USER_PARTITIONS }, (_, i) => `contoso|${i.toString(16).padStart(2, '0')}`)));
    for (const row of rows) expect(row.partitionKey).toBe(`contoso|${(Number.parseInt(String(row.rowKey).slice(0, 2), 16) >> 2).toString(16).padStart(2, '0')}`);
    // 1,280 rows (about 20 a partition) cost one transaction per partition, not one request per row.
    expect(requests.writes()).toBe(64);
  });

  it('keeps a 100k-user tenant off any single hot partition, and sorts partitions as ids sort', () => {
    const perPartition = new Map<string, number>();
    const ids = Array.from({ length: 100_000 }, () => newId());
    for (const id of ids) {
      const key = userPartitionKey('contoso', id);
      perPartition.set(key, (perPartition.get(key) ?? 0) + 1);
    }
    expect(perPartition.size).toBe(USER_PARTITIONS);
    for (const count of perPartition.values()) {
      expect(count).toBeGreaterThan(1_350);
      expect(count).toBeLessThan(1_800);
    }
    // A scan of the source (in partition order, then row key order) returns users in id order.
    const scanOrder = [...ids].sort((a, b) => {
      const [pa, pb] = [userPartitionKey('contoso', a), userPartitionKey('contoso', b)];
      return pa !== pb ? (pa < pb ? -1 : 1) : a < b ? -1 : a > b ? 1 : 0;
    });
    expect(scanOrder).toEqual([...ids].sort());
  });

  it('reads users by id across partitions, more than one query can name', async () => {
    const { store } = await mirrorOnFreshStorage();
    const ids = Array.from({ length: 60 }, () => newId());
    await applyUsers(store, 'contoso', ids.map((id) => fullUser(id)));

    const found = await store.getUsers('contoso', [...ids, newId()]);

    expect([...found.keys()].sort()).toEqual([...ids].sort());
  });

  it('lists only the asked source, in pages', async () => {
    const { store } = await mirrorOnFreshStorage();
    const ours = Array.from({ length: 30 }, () => newId());
    await applyUsers(store, 'contoso', ours.map((id) => fullUser(id)));
    await applyUsers(store, 'contoso2', [fullUser(newId())]);
    await applyUsers(store, 'contos', [fullUser(newId())]);

    const listed = await collect(store.listUsers('contoso'));

    expect(listed.map((user) => user.id).sort()).toEqual([...ours].sort());
  });

  it('rejects a source name that would overlap another source\'s key range', async () => {
    const { store } = await mirrorOnFreshStorage();
    await expect(applyUsers(store, 'a|b', [fullUser(newId())])).rejects.toBeInstanceOf(StorageError);
  });
});
