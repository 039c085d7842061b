import { describe, expect, it } from 'vitest';
import { TableOutboxStore } from '../../../src/store/outboxStore';
import type { StorageTarget } from '../../../src/store/storageAccount';
import type { LedgerScope, OutboxItem } from '../../../src/sync/ports';
import { isolatedStorage } from '../../support/storage';
import { newId, rawRows } from './storeFixtures';

const USERS: LedgerScope = { destination: 'west', source: 'contoso', kind: 'users' };

async function outboxOnFreshStorage(): Promise<{ outbox: TableOutboxStore; target: StorageTarget }> {
  const target = isolatedStorage();
  const outbox = new TableOutboxStore(target);
  await outbox.initialize();
  return { outbox, target };
}

function upsert(id: string, hash: string, record = `{"id":"${id}","displayName":"User ${id.slice(0, 8)}"}`): OutboxItem {
  return { id, op: 'upsert', hash, baseHash: `base-${hash}`, record };
}

const deletion = (id: string): OutboxItem => ({ id, op: 'delete', hash: 'delete' });

const byIdAndHash = (a: OutboxItem, b: OutboxItem): number => {
  const [x, y] = [`${a.id}|${a.hash}`, `${b.id}|${b.hash}`];
  return x < y ? -1 : x > y ? 1 : 0;
};

/** A fresh id starting with `prefix`, so that tests know how ids sort (upload messages name consecutive ids). */
const idStartingWith = (prefix: string): string => `${prefix}${newId().slice(prefix.length)}`;

describe('TableOutboxStore', () => {
  it('reads back what was put, by id', async () => {
    const { outbox } = await outboxOnFreshStorage();
    const [a, b] = [idStartingWith('1'), idStartingWith('2')];
    const items = [upsert(a, 'h1'), deletion(b)];

    await outbox.put(USERS, items);

    expect((await outbox.read(USERS, [b, a])).sort(byIdAndHash)).toEqual(items);
    expect(await outbox.read(USERS, [b])).toEqual([deletion(b)]);
    expect(await outbox.read(USERS, [])).toEqual([]);
    expect(await outbox.read(USERS, [newId()])).toEqual([]);
  });

  it('returns only the asked ids from a range read, not the ids that sort between them', async () => {
    const { outbox } = await outboxOnFreshStorage();
    const [first, second, third, fourth, fifth, last] = [
      idStartingWith('1'), idStartingWith('2'), idStartingWith('3'), idStartingWith('4'), idStartingWith('5'), idStartingWith('6'),
    ];
    const asked = [first, third, last];
    await outbox.put(USERS, [first, second, third, fourth, fifth, last].map((id) => upsert(id, `h-${id.slice(0, 4)}`)));

    const read = await outbox.read(USERS, asked);

    expect(read.map((item) => item.id).sort()).toEqual(asked);
    expect(read.sort(byIdAndHash)).toEqual(asked.map((id) => upsert(id, `h-${id.slice(0, 4)}`)));
  });

  it('keeps several versions of one object, and removing one keeps the others', async () => {
    const { outbox } = await outboxOnFreshStorage();
    const id = newId();
    const older = upsert(id, 'hash-1');
    const newer = upsert(id, 'hash-2', `{"id":"${id}","displayName":"Renamed"}`);
    await outbox.put(USERS, [older]);
    await outbox.put(USERS, [newer, deletion(id)]);

    expect((await outbox.read(USERS, [id])).sort(byIdAndHash)).toEqual([deletion(id), older, newer].sort(byIdAndHash));

    await outbox.remove(USERS, [{ id, hash: 'hash-1' }]);

    expect((await outbox.read(USERS, [id])).sort(byIdAndHash)).toEqual([deletion(id), newer].sort(byIdAndHash));
  });

  it('replaces a version put again with the same hash, fields it no longer has included', async () => {
    const { outbox } = await outboxOnFreshStorage();
    const id = newId();
    await outbox.put(USERS, [upsert(id, 'h1')]);
    const again: OutboxItem = { id, op: 'upsert', hash: 'h1', record: '{"v":2}' };

    await outbox.put(USERS, [again]);

    expect(await outbox.read(USERS, [id])).toEqual([again]);
  });

  it('round-trips a record longer than one column', async () => {
    const { outbox, target } = await outboxOnFreshStorage();
    const id = newId();
    const proxyAddresses = Array.from({ length: 1_500 }, (_, n) => `smtp:alias-${n}-of-a-long-mailbox-name@subsidiary.contoso.example.com`);
    const record = JSON.stringify({ id, proxyAddresses });
    expect(record.length).toBeGreaterThan(32_768);

    await outbox.put(USERS, [upsert(id, 'big', record)]);

    expect(await outbox.read(USERS, [id])).toEqual([upsert(id, 'big', record)]);
    const [row] = await rawRows(target, 'Outbox');
    expect(row?.rec).toMatch(/^#chunks:\d+$/);
  });

  it('succeeds in removing versions that are not there, and removes those that are', async () => {
    const { outbox } = await outboxOnFreshStorage();
    const [kept, removed] = [newId(), newId()];
    await outbox.put(USERS, [upsert(kept, 'h'), upsert(removed, 'h')]);

    await outbox.remove(USERS, [{ id: newId(), hash: 'h' }]);
    await outbox.remove(USERS, [{ id: removed, hash: 'h' }, { id: removed, hash: 'other' }, { id: newId(), hash: 'delete' }]);

    expect(await outbox.read(USERS, [kept, removed])).toEqual([upsert(kept, 'h')]);
  });

  it('keeps destinations, sources and kinds apart', async () => {
    const { outbox } = await outboxOnFreshStorage();
    const id = newId();
    const scopes: LedgerScope[] = [USERS, { ...USERS, kind: 'groups' }, { ...USERS, destination: 'west2' }, { ...USERS, source: 'contoso2' }];
    for (const [index, scope] of scopes.entries()) await outbox.put(scope, [upsert(id, `h${index}`)]);

    await outbox.remove(scopes[1] ?? USERS, [{ id, hash: 'h0' }]);

    for (const [index, scope] of scopes.entries()) expect(await outbox.read(scope, [id])).toEqual([upsert(id, `h${index}`)]);
  });
});
