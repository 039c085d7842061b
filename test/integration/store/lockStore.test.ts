import { describe, expect, it } from 'vitest';
import { TableLockStore } from '../../../src/store/lockStore';
import { LockLostError } from '../../../src/store/errors';
import type { StorageTarget } from '../../../src/store/storageAccount';
import { isolatedStorage } from '../../support/storage';
import { openTable } from '../../../src/store/tableBatch';
import { TABLE_NAMES } from '../../../src/store/entityCodec';

const openTableForTest = (target: StorageTarget) => openTable(target, TABLE_NAMES.locks);

async function lockStore(target: StorageTarget, now?: () => Date): Promise<TableLockStore> {
  const store = new TableLockStore(target, now === undefined ? {} : { now });
  await store.initialize();
  return store;
}

describe('TableLockStore', () => {
  it('lets exactly one of several contenders acquire at once', async () => {
    const target = isolatedStorage();
    const stores = await Promise.all(Array.from({ length: 5 }, () => lockStore(target)));

    const results = await Promise.all(stores.map((store, i) => store.tryAcquire('pull-contoso', `worker-${i}`, 60_000)));

    expect(results.filter((held) => held !== undefined)).toHaveLength(1);
  });

  it('takes over an expired lease, and the old holder then loses its renew', async () => {
    const target = isolatedStorage();
    let clock = new Date('2030-01-01T00:00:00Z');
    const store = await lockStore(target, () => clock);
    const first = await store.tryAcquire('pull-contoso', 'worker-a', 30_000);
    expect(first).toBeDefined();
    expect(await store.tryAcquire('pull-contoso', 'worker-b', 30_000)).toBeUndefined();

    clock = new Date('2030-01-01T00:00:31Z');
    const second = await store.tryAcquire('pull-contoso', 'worker-b', 30_000);

    expect(second).toBeDefined();
    await expect(first?.renew()).rejects.toBeInstanceOf(LockLostError);
    await expect(second?.renew()).resolves.toBeUndefined();
    // The loser's release must not free the winner's lease.
    await first?.release();
    expect(await store.tryAcquire('pull-contoso', 'worker-c', 30_000)).toBeUndefined();
  });

  it('lets exactly one of several contenders take over an expired lease', async () => {
    const target = isolatedStorage();
    let clock = new Date('2030-01-01T00:00:00Z');
    const stores = await Promise.all(Array.from({ length: 5 }, () => lockStore(target, () => clock)));
    expect(await stores[0]?.tryAcquire('pull-contoso', 'worker-old', 1_000)).toBeDefined();
    clock = new Date('2030-01-01T00:00:02Z');

    const results = await Promise.all(stores.map((store, i) => store.tryAcquire('pull-contoso', `worker-${i}`, 60_000)));

    expect(results.filter((held) => held !== undefined)).toHaveLength(1);
  });

  it('renews repeatedly, and after release another holder acquires at once', async () => {
    const store = await lockStore(isolatedStorage());
    const held = await store.tryAcquire('pull-contoso', 'worker-a', 60_000);
    await held?.renew();
    await held?.renew();
    await held?.release();
    await held?.release();

    const next = await store.tryAcquire('pull-contoso', 'worker-b', 60_000);
    expect(next).toBeDefined();
  });

  it('keeps locks of different names apart', async () => {
    const store = await lockStore(isolatedStorage());
    expect(await store.tryAcquire('pull-contoso', 'worker-a', 60_000)).toBeDefined();
    expect(await store.tryAcquire('pull-fabrikam', 'worker-b', 60_000)).toBeDefined();
  });

  it('gives every later holder a larger fencing token: after a release, a takeover, and a row deleted by hand', async () => {
    const target = isolatedStorage();
    let clock = new Date('2030-01-01T00:00:00Z');
    const store = await lockStore(target, () => clock);
    const first = await store.tryAcquire('pull-contoso', 'worker-a', 1_000);
    await first?.release();
    const second = await store.tryAcquire('pull-contoso', 'worker-b', 1_000);
    clock = new Date('2030-01-01T00:00:05Z');
    const third = await store.tryAcquire('pull-contoso', 'worker-c', 60_000);
    // Even with the clock set back, the token only grows.
    clock = new Date('2029-01-01T00:00:00Z');
    const fourth = await store.tryAcquire('pull-contoso', 'worker-d', 60_000, { holderIsGone: () => true });
    const fences = [first, second, third, fourth].map((held) => held?.fence ?? Number.NaN);
    expect(fences.every(Number.isFinite)).toBe(true);
    expect([...fences].sort((a, b) => a - b)).toEqual(fences);
    expect(new Set(fences).size).toBe(4);

    await openTableForTest(target).deleteEntity('pull-contoso', 'lock');
    clock = new Date('2031-01-01T00:00:00Z');
    const afterDelete = await store.tryAcquire('pull-contoso', 'worker-e', 60_000);
    expect(afterDelete?.fence).toBeGreaterThan(fences[3] ?? Number.POSITIVE_INFINITY);
  });

  it('shares one renewal between concurrent renew calls (two would look like a takeover)', async () => {
    const store = await lockStore(isolatedStorage());
    const held = await store.tryAcquire('pull-contoso', 'worker-a', 60_000);
    await expect(Promise.all([held?.renew(), held?.renew(), held?.renew()])).resolves.toBeDefined();
    await expect(held?.renew()).resolves.toBeUndefined();
  });
});

