import { describe, expect, it } from 'vitest';
import { applyGroups, applyUsers, completeUser as fullUser, member, mirrorOnFreshStorage, newId, rawRows, upsertGroup, upsertUser } from './storeFixtures';

describe('TableMirrorStore full rounds', () => {
  it('compares complete objects with fingerprints: an unchanged tenant costs no row read and no write', async () => {
    const { store, requests } = await mirrorOnFreshStorage();
    const page = Array.from({ length: 50 }, () => fullUser(newId()));
    await applyUsers(store, 'contoso', page);
    const fingerprints = await store.loadFingerprints('contoso', 'users');
    requests.reset();

    const counts = await applyUsers(store, 'contoso', page, { fingerprints });

    expect(counts).toEqual({ added: 0, changed: 0, unchanged: 50, removed: 0 });
    expect(requests.reads()).toBe(0);
    expect(requests.writes()).toBe(0);
  });

  it('rewrites a changed object whole, and later batches of the round compare with what it wrote', async () => {
    const { store, requests } = await mirrorOnFreshStorage();
    const id = newId();
    await applyUsers(store, 'contoso', [fullUser(id)]);
    const fingerprints = await store.loadFingerprints('contoso', 'users');
    requests.reset();

    expect(await applyUsers(store, 'contoso', [fullUser(id, { jobTitle: 'Director' })], { fingerprints })).toMatchObject({ changed: 1 });
    expect(await applyUsers(store, 'contoso', [fullUser(id, { jobTitle: 'Director' })], { fingerprints })).toMatchObject({ unchanged: 1 });
    expect(requests.writes()).toBe(1);
    expect((await store.getUsers('contoso', [id])).get(id)?.jobTitle).toBe('Director');
  });

  it('reads the row of a partial object even in a full round', async () => {
    const { store } = await mirrorOnFreshStorage();
    const id = newId();
    await applyUsers(store, 'contoso', [fullUser(id, { department: 'R&D' })]);
    const fingerprints = await store.loadFingerprints('contoso', 'users');

    await applyUsers(store, 'contoso', [upsertUser(id, { jobTitle: 'Lead' })], { fingerprints });

    expect((await store.getUsers('contoso', [id])).get(id)).toMatchObject({ jobTitle: 'Lead', department: 'R&D' });
  });

  it('sweeps exactly the ids it is given, only in that source, idempotently', async () => {
    const { store } = await mirrorOnFreshStorage({ now: () => new Date('2030-03-01T00:00:00Z') });
    const [seen, unseen] = [newId(), newId()];
    const otherSource = newId();
    await applyUsers(store, 'contoso', [fullUser(seen), fullUser(unseen)]);
    await applyUsers(store, 'contoso2', [fullUser(unseen), fullUser(otherSource)]);
    const fingerprints = await store.loadFingerprints('contoso', 'users');

    const sweep = await store.prepareSweep('contoso', 'users', [unseen], fingerprints);
    await sweep.commit();
    const again = await store.prepareSweep('contoso', 'users', [unseen], fingerprints);
    await again.commit();

    expect(sweep.counts.removed).toBe(1);
    expect(again.counts.removed).toBe(0);
    const users = await store.getUsers('contoso', [seen, unseen]);
    expect(users.get(seen)?.removed).toBeNull();
    expect(users.get(unseen)?.removed).toEqual({ reason: 'missingFromFullRound', at: '2030-03-01T00:00:00.000Z' });
    expect((await store.getUsers('contoso2', [unseen])).get(unseen)?.removed).toBeNull();
  });

  it('restores a swept user when a later round sees it again', async () => {
    const { store } = await mirrorOnFreshStorage();
    const id = newId();
    await applyUsers(store, 'contoso', [fullUser(id)]);
    await (await store.prepareSweep('contoso', 'users', [id], await store.loadFingerprints('contoso', 'users'))).commit();

    const counts = await applyUsers(store, 'contoso', [fullUser(id)], { fingerprints: await store.loadFingerprints('contoso', 'users') });

    expect(counts.added).toBe(1);
    expect((await store.getUsers('contoso', [id])).get(id)?.removed).toBeNull();
  });

  it('holds back the rows that would make a partition\'s last transaction short, and writes them with the next batch', async () => {
    const { store, target, requests } = await mirrorOnFreshStorage();
    const fingerprints = await store.loadFingerprints('contoso', 'users');
    // 150 users of one partition (their ids share the first hex digits).
    const ids = Array.from({ length: 150 }, (_, i) => `00${i.toString(16).padStart(6, '0')}-0000-4000-8000-000000000000`);
    requests.reset();

    const first = await store.prepareUserChanges('contoso', ids.slice(0, 120).map((id) => fullUser(id)), { fingerprints });
    const heldBack = await first.commit({ fullTransactionsOnly: true });

    expect(heldBack?.ids).toHaveLength(20);
    expect(requests.writes()).toBe(1);
    expect(await rawRows(target, 'MirrorUsers')).toHaveLength(100);

    const second = await store.prepareUserChanges('contoso', ids.slice(120).map((id) => fullUser(id)), { fingerprints, ...(heldBack !== undefined ? { heldBack } : {}) });
    expect(await second.commit()).toBeUndefined();
    expect(await rawRows(target, 'MirrorUsers')).toHaveLength(150);
    expect(requests.writes()).toBe(2);
  });

  it('purges the rows of objects removed before the cutoff, groups with their member rows, and nothing else', async () => {
    let clock = new Date('2030-01-01T00:00:00Z');
    const { store, target } = await mirrorOnFreshStorage({ now: () => clock });
    const [old, recent, live] = [newId(), newId(), newId()];
    await applyUsers(store, 'contoso', [fullUser(old), fullUser(recent), fullUser(live)]);
    await applyUsers(store, 'contoso', [{ kind: 'removed', id: old, reason: 'deleted' }]);
    clock = new Date('2030-02-15T00:00:00Z');
    await applyUsers(store, 'contoso', [{ kind: 'removed', id: recent, reason: 'changed' }]);
    const group = newId();
    await applyGroups(store, 'contoso', [upsertGroup(group, [member(live)])]);
    clock = new Date('2030-01-02T00:00:00Z');
    await applyGroups(store, 'contoso', [{ kind: 'removed', id: group, reason: 'deleted' }]);

    expect(await store.purgeRemoved('contoso', 'users', new Date('2030-02-01T00:00:00Z'))).toBe(1);
    expect(await store.purgeRemoved('contoso', 'groups', new Date('2030-02-01T00:00:00Z'))).toBe(1);

    expect([...(await store.getUsers('contoso', [old, recent, live])).keys()].sort()).toEqual([recent, live].sort());
    expect(await store.getGroups('contoso', [group])).toEqual(new Map());
    expect(await rawRows(target, 'MirrorMembers')).toEqual([]);
    expect(await store.purgeRemoved('contoso', 'users', new Date('2030-02-01T00:00:00Z'))).toBe(0);
  });
});
