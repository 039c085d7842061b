import { describe, expect, it } from 'vitest';
import type { DeltaCursor } from '../../../src/sync/ports';
import { TableCursorStore } from '../../../src/store/cursorStore';
import { isolatedStorage } from '../../support/storage';
import { TableLockStore } from '../../../src/store/lockStore';
import { LockLostError } from '../../../src/store/errors';
import type { StorageTarget } from '../../../src/store/storageAccount';

async function freshCursorsOn(target: StorageTarget): Promise<TableCursorStore> {
  const store = new TableCursorStore(target);
  await store.initialize();
  return store;
}

async function freshCursors(): Promise<TableCursorStore> {
  const store = new TableCursorStore(isolatedStorage());
  await store.initialize();
  return store;
}

describe('TableCursorStore', () => {
  it('returns undefined for a source it has no cursor for', async () => {
    const store = await freshCursors();
    expect(await store.get('contoso', 'users')).toBeUndefined();
  });

  it('round-trips a cursor with a long link, per source and kind, and put overwrites', async () => {
    const store = await freshCursors();
    const longLink = `https://graph.microsoft.com/v1.0/users/delta?$skiptoken=${'a1B2'.repeat(2_000)}`;
    const midRound: DeltaCursor = {
      nextLink: longLink,
      deltaLink: null,
      round: { id: 'round-3', kind: 'full', startedAt: '2030-01-01T00:00:00.000Z', pages: 12 },
      lastFullRoundCompletedAt: null,
      lastRoundCompletedAt: '2029-12-31T23:00:00.000Z',
    };
    const done: DeltaCursor = { ...midRound, nextLink: null, deltaLink: `${longLink}&done`, round: null };

    await store.put('contoso', 'users', midRound);
    await store.put('contoso', 'groups', done);
    expect(await store.get('contoso', 'users')).toEqual(midRound);
    expect(await store.get('contoso', 'groups')).toEqual(done);

    await store.put('contoso', 'users', done);
    expect(await store.get('contoso', 'users')).toEqual(done);
    expect(await store.get('contoso2', 'users')).toBeUndefined();
  });

  it('round-trips the user selection and the round\'s dropSelection, and reads an older row without them', async () => {
    const store = await freshCursors();
    const selection = 'extension_b7d8e648520f41d3b9c0fdeb91768a0a_a,extension_b7d8e648520f41d3b9c0fdeb91768a0a_b';
    const cursor: DeltaCursor = {
      nextLink: 'https://graph.microsoft.com/v1.0/users/delta?$skiptoken=x', deltaLink: null,
      round: { id: 'r1', kind: 'full', startedAt: '2024-01-01T00:00:00.000Z', pages: 2, dropSelection: 'extension_b7d8e648520f41d3b9c0fdeb91768a0a_c' },
      lastFullRoundCompletedAt: null, lastRoundCompletedAt: null, selection,
    };
    await store.put('contoso', 'users', cursor);
    expect(await store.get('contoso', 'users')).toEqual(cursor);
    const { selection: _selection, ...older } = cursor;
    await store.put('contoso', 'groups', { ...older, round: null });
    expect(await store.get('contoso', 'groups')).toEqual({ ...older, round: null });
  });

  it('initializes twice without failing (the table already exists)', async () => {
    const store = await freshCursors();
    await expect(store.initialize()).resolves.toBeUndefined();
  });

  it('refuses a fenced write from a holder older than the one that last wrote, and keeps the newer cursor', async () => {
    const target = isolatedStorage();
    const locks = new TableLockStore(target);
    await locks.initialize();
    const older = await locks.tryAcquire('pull|contoso', 'instance-a', 60_000);
    const newer = await locks.tryAcquire('pull|contoso', 'instance-b', 60_000, { holderIsGone: () => true });
    if (older === undefined || newer === undefined) throw new Error('locks not acquired');
    const storeOfA = await freshCursorsOn(target);
    const storeOfB = await freshCursorsOn(target);
    const cursor = (link: string): DeltaCursor => ({ nextLink: link, deltaLink: null, round: null, lastFullRoundCompletedAt: null, lastRoundCompletedAt: null });

    await storeOfA.put('contoso', 'users', cursor('a-1'), older);
    await storeOfB.put('contoso', 'users', cursor('b-7'), newer);
    await expect(storeOfA.put('contoso', 'users', cursor('a-2'), older)).rejects.toThrow(LockLostError);
    expect(await storeOfB.get('contoso', 'users')).toEqual(cursor('b-7'));
    // The newer holder goes on writing (its cached ETag was not disturbed by the refused write).
    await storeOfB.put('contoso', 'users', cursor('b-8'), newer);
    expect(await storeOfA.get('contoso', 'users')).toEqual(cursor('b-8'));
  });
});

