import { describe, expect, it } from 'vitest';
import { collect, fullUser, member, mirrorOnFreshStorage, newId, rawRows, upsertGroup } from './storeFixtures';

describe('TableMirrorStore full rounds', () => {
  it('marks every row a full round writes or confirms, and marks unchanged rows with one marker-only write per partition', async () => {
    const { store, target, requests } = await mirrorOnFreshStorage();
    const page = Array.from({ length: 20 }, () => fullUser(newId()));
    await store.applyUserChanges('contoso', page);
    const before = new Map((await rawRows(target, 'Users')).map((row) => [row.rowKey, row]));
    requests.reset();

    const counts = await store.applyUserChanges('contoso', page, { fullRoundId: 'round-1' });

    expect(counts.unchanged).toBe(20);
    const after = await rawRows(target, 'Users');
    expect(after.every((row) => row.seenRound === 'round-1')).toBe(true);
    // Only the marker changed: attributes are as they were.
    for (const row of after) expect({ ...row, seenRound: undefined, etag: undefined, timestamp: undefined }).toEqual({ ...before.get(row.rowKey), etag: undefined, timestamp: undefined, seenRound: undefined });
    const partitions = new Set(after.map((row) => row.partitionKey)).size;
    expect(requests.writes()).toBe(partitions);

    // Resuming the round replays the page: already marked, nothing to write.
    requests.reset();
    await store.applyUserChanges('contoso', page, { fullRoundId: 'round-1' });
    expect(requests.writes()).toBe(0);
  });

  it('sweeps exactly the users the round did not see, only in that source, idempotently', async () => {
    const { store } = await mirrorOnFreshStorage({ now: () => new Date('2030-03-01T00:00:00Z') });
    const [seen, unseen, alreadyRemoved] = [newId(), newId(), newId()];
    const otherSource = newId();
    await store.applyUserChanges('contoso', [fullUser(seen), fullUser(unseen), fullUser(alreadyRemoved)]);
    await store.applyUserChanges('contoso', [{ kind: 'removed', id: alreadyRemoved, reason: 'changed' }]);
    await store.applyUserChanges('contoso2', [fullUser(otherSource)]);

    await store.applyUserChanges('contoso', [fullUser(seen)], { fullRoundId: 'round-7' });
    const swept = await store.sweepUsers('contoso', 'round-7');
    const sweptAgain = await store.sweepUsers('contoso', 'round-7');

    expect(swept).toBe(1);
    expect(sweptAgain).toBe(0);
    const users = await store.getUsers('contoso', [seen, unseen, alreadyRemoved]);
    expect(users.get(seen)?.removed).toBeNull();
    expect(users.get(unseen)?.removed).toEqual({ reason: 'missingFromFullRound', at: '2030-03-01T00:00:00.000Z' });
    expect(users.get(alreadyRemoved)?.removed?.reason).toBe('changed');
    expect((await store.getUsers('contoso2', [otherSource])).get(otherSource)?.removed).toBeNull();
  });

  it('sweeps unseen groups and deletes unseen edges of that source only', async () => {
    const { store } = await mirrorOnFreshStorage();
    const [kept, gone] = [newId(), newId()];
    const [stays, leaves, goneMember] = [newId(), newId(), newId()];
    await store.applyGroupChanges('contoso', [upsertGroup(kept, [member(stays), member(leaves)]), upsertGroup(gone, [member(goneMember)])]);
    await store.applyGroupChanges('contoso2', [upsertGroup(kept, [member(leaves)])]);

    // The round sees `kept` with only `stays`, over two pages, and never `gone`.
    await store.applyGroupChanges('contoso', [upsertGroup(kept, [])], { fullRoundId: 'round-9' });
    await store.applyGroupChanges('contoso', [{ kind: 'upsert', id: kept, attributes: {}, members: [member(stays)] }], { fullRoundId: 'round-9' });
    const swept = await store.sweepGroups('contoso', 'round-9');

    expect(swept).toEqual({ groups: 1, edges: 2 });
    expect(await store.sweepGroups('contoso', 'round-9')).toEqual({ groups: 0, edges: 0 });
    expect((await collect(store.listGroups('contoso'))).map((group) => group.id)).toEqual([kept]);
    expect((await collect(store.listEdges('contoso'))).map((edge) => `${edge.groupId}/${edge.memberId}`)).toEqual([`${kept}/${stays}`]);
    expect(await store.listMembers('contoso2', kept)).toHaveLength(1);
  });

  it('restores a user the sweep removed when a later round sees it again', async () => {
    const { store } = await mirrorOnFreshStorage();
    const id = newId();
    await store.applyUserChanges('contoso', [fullUser(id)]);
    await store.sweepUsers('contoso', 'round-1');

    const counts = await store.applyUserChanges('contoso', [fullUser(id)], { fullRoundId: 'round-2' });

    expect(counts.added).toBe(1);
    expect(await store.sweepUsers('contoso', 'round-2')).toBe(0);
    expect((await store.getUsers('contoso', [id])).get(id)?.removed).toBeNull();
  });
});
