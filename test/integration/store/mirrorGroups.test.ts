import { describe, expect, it } from 'vitest';
import { collect, member, mirrorOnFreshStorage, newId, rawRows, upsertGroup } from './storeFixtures';

describe('TableMirrorStore groups and members', () => {
  it('keeps adding edges when the same group comes on several pages', async () => {
    const { store } = await mirrorOnFreshStorage();
    const group = newId();
    const [a, b, c] = [newId(), newId(), newId()];

    const first = await store.applyGroupChanges('contoso', [upsertGroup(group, [member(a), member(b)])]);
    const second = await store.applyGroupChanges('contoso', [{ kind: 'upsert', id: group, attributes: {}, members: [member(c, false, 'group')] }]);

    expect(first).toEqual({ added: 1, changed: 0, unchanged: 0, removed: 0, edgesAdded: 2, edgesRemoved: 0 });
    expect(second).toEqual({ added: 0, changed: 0, unchanged: 1, removed: 0, edgesAdded: 1, edgesRemoved: 0 });
    const members = await store.listMembers('contoso', group);
    expect(members.map((edge) => edge.memberId).sort()).toEqual([a, b, c].sort());
    expect(members.find((edge) => edge.memberId === c)).toEqual({ groupId: group, memberId: c, memberType: 'group' });
    expect((await store.getGroups('contoso', [group])).get(group)).toEqual({
      id: group, displayName: `Group ${group.slice(0, 8)}`, mail: null, description: null, removed: null,
    });
  });

  it('deletes an edge on members@delta removal, and a removal of a missing edge succeeds', async () => {
    const { store, target } = await mirrorOnFreshStorage();
    const group = newId();
    const [a, b] = [newId(), newId()];
    await store.applyGroupChanges('contoso', [upsertGroup(group, [member(a), member(b)])]);

    const counts = await store.applyGroupChanges('contoso', [
      { kind: 'upsert', id: group, attributes: {}, members: [member(a, true), member(newId(), true)] },
    ]);

    expect(counts.edgesRemoved).toBe(1);
    expect((await store.listMembers('contoso', group)).map((edge) => edge.memberId)).toEqual([b]);
    expect(await rawRows(target, 'Members')).toHaveLength(1);
  });

  it('replays a group page with members at no write cost', async () => {
    const { store, requests } = await mirrorOnFreshStorage();
    const page = Array.from({ length: 5 }, () => upsertGroup(newId(), Array.from({ length: 30 }, () => member(newId()))));
    await store.applyGroupChanges('contoso', page);
    requests.reset();

    const replay = await store.applyGroupChanges('contoso', page);

    expect(replay).toEqual({ added: 0, changed: 0, unchanged: 5, removed: 0, edgesAdded: 0, edgesRemoved: 0 });
    expect(requests.writes()).toBe(0);
  });

  it('marks a removed group but keeps its edges for the engine to scope by live groups', async () => {
    const { store } = await mirrorOnFreshStorage({ now: () => new Date('2030-05-01T00:00:00Z') });
    const group = newId();
    const a = newId();
    await store.applyGroupChanges('contoso', [upsertGroup(group, [member(a)])]);

    const counts = await store.applyGroupChanges('contoso', [{ kind: 'removed', id: group, reason: 'deleted' }]);

    expect(counts).toMatchObject({ removed: 1, edgesRemoved: 0 });
    expect((await store.getGroups('contoso', [group])).get(group)?.removed).toEqual({ reason: 'deleted', at: '2030-05-01T00:00:00.000Z' });
    expect(await collect(store.listGroups('contoso'))).toEqual([]);
    expect(await collect(store.listGroups('contoso', { includeRemoved: true }))).toHaveLength(1);
    expect(await store.listMembers('contoso', group)).toEqual([{ groupId: group, memberId: a, memberType: 'user' }]);
  });

  it('lists every edge of a source and none of another', async () => {
    const { store } = await mirrorOnFreshStorage();
    const [g1, g2] = [newId(), newId()];
    const ours = [newId(), newId(), newId()];
    await store.applyGroupChanges('contoso', [upsertGroup(g1, [member(ours[0] ?? '')]), upsertGroup(g2, [member(ours[1] ?? ''), member(ours[2] ?? '')])]);
    await store.applyGroupChanges('contoso2', [upsertGroup(g1, [member(newId())])]);

    const edges = await collect(store.listEdges('contoso'));

    expect(edges.map((edge) => `${edge.groupId}/${edge.memberId}`).sort()).toEqual(
      [`${g1}/${ours[0]}`, `${g2}/${ours[1]}`, `${g2}/${ours[2]}`].sort(),
    );
  });

  it('writes a large group\'s edges in transactions of at most 100', async () => {
    const { store, requests } = await mirrorOnFreshStorage();
    const group = newId();

    const counts = await store.applyGroupChanges('contoso', [upsertGroup(group, Array.from({ length: 250 }, () => member(newId())))]);

    expect(counts.edgesAdded).toBe(250);
    // 1 group row + ceil(250 / 100) edge transactions.
    expect(requests.writes()).toBe(4);
    expect(await store.listMembers('contoso', group)).toHaveLength(250);
  });
});
