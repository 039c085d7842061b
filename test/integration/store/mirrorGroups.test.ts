import { describe, expect, it } from 'vitest';
import { applyGroups, collect, member, mirrorOnFreshStorage, newId, rawRows, upsertGroup } from './storeFixtures';

describe('TableMirrorStore groups and members', () => {
  it('keeps adding members when the same group comes on several pages', async () => {
    const { store } = await mirrorOnFreshStorage();
    const group = newId();
    const [a, b, c] = [newId(), newId(), newId()];

    const first = await applyGroups(store, 'contoso', [upsertGroup(group, [member(a), member(b)])]);
    const second = await applyGroups(store, 'contoso', [{ kind: 'upsert', id: group, attributes: {}, members: [member(c, false, 'group')] }]);

    expect(first).toEqual({ added: 1, changed: 0, unchanged: 0, removed: 0 });
    expect(second).toEqual({ added: 0, changed: 0, unchanged: 1, removed: 0 });
    const members = await store.listMembers('contoso', group);
    expect(members.map((edge) => edge.memberId).sort()).toEqual([a, b, c].sort());
    expect(members.find((edge) => edge.memberId === c)).toEqual({ groupId: group, memberId: c, memberType: 'group' });
    expect((await store.getGroups('contoso', [group])).get(group)).toEqual({
      id: group, displayName: `Group ${group.slice(0, 8)}`, mail: null, description: null, removed: null,
    });
  });

  it('keeps a group\'s members in one row, and removes a member on members@delta removal', async () => {
    const { store, target } = await mirrorOnFreshStorage();
    const group = newId();
    const [a, b] = [newId(), newId()];
    await applyGroups(store, 'contoso', [upsertGroup(group, [member(a), member(b)])]);

    await applyGroups(store, 'contoso', [{ kind: 'upsert', id: group, attributes: {}, members: [member(a, true), member(newId(), true)] }]);

    expect((await store.listMembers('contoso', group)).map((edge) => edge.memberId)).toEqual([b]);
    const rows = await rawRows(target, 'MirrorMembers');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ rowKey: `${group}|00`, k: 1, u: b });
  });

  it('replays a group page at no write cost', async () => {
    const { store, requests } = await mirrorOnFreshStorage();
    const page = Array.from({ length: 5 }, () => upsertGroup(newId()));
    await applyGroups(store, 'contoso', page);
    requests.reset();

    const replay = await applyGroups(store, 'contoso', page);

    expect(replay).toEqual({ added: 0, changed: 0, unchanged: 5, removed: 0 });
    expect(requests.writes()).toBe(0);
  });

  it('marks a removed group but keeps its members for the engine to scope by live groups', async () => {
    const { store } = await mirrorOnFreshStorage({ now: () => new Date('2030-05-01T00:00:00Z') });
    const group = newId();
    const a = newId();
    await applyGroups(store, 'contoso', [upsertGroup(group, [member(a)])]);

    const counts = await applyGroups(store, 'contoso', [{ kind: 'removed', id: group, reason: 'deleted' }]);

    expect(counts).toMatchObject({ removed: 1 });
    expect((await store.getGroups('contoso', [group])).get(group)?.removed).toEqual({ reason: 'deleted', at: '2030-05-01T00:00:00.000Z' });
    expect(await collect(store.listGroups('contoso'))).toEqual([]);
    expect(await collect(store.listGroups('contoso', { includeRemoved: true }))).toHaveLength(1);
    expect(await store.listMembers('contoso', group)).toEqual([{ groupId: group, memberId: a, memberType: 'user' }]);
  });

  it('lists every edge of a source and none of another', async () => {
    const { store } = await mirrorOnFreshStorage();
    const [g1, g2] = [newId(), newId()];
    const ours = [newId(), newId(), newId()];
    await applyGroups(store, 'contoso', [upsertGroup(g1, [member(ours[0] ?? '')]), upsertGroup(g2, [member(ours[1] ?? ''), member(ours[2] ?? '')])]);
    await applyGroups(store, 'contoso2', [upsertGroup(g1, [member(newId())])]);

    const edges = await collect(store.listEdges('contoso'));

    expect(edges.map((edge) => `${edge.groupId}/${edge.memberId}`).sort()).toEqual(
      [`${g1}/${ours[0]}`, `${g2}/${ours[1]}`, `${g2}/${ours[2]}`].sort(),
    );
  });

  it('spreads a large group over shard rows of at most 4,000 members and rewrites only the shard a change touches', async () => {
    const { store, target, requests } = await mirrorOnFreshStorage();
    const group = newId();
    const members = Array.from({ length: 10_000 }, () => member(newId()));
    await applyGroups(store, 'contoso', [upsertGroup(group, members)]);
    const before = new Map((await rawRows(target, 'MirrorMembers')).map((row) => [row.rowKey, row.etag]));

    expect(before.size).toBe(4);
    expect(await store.listMembers('contoso', group)).toHaveLength(10_000);
    requests.reset();
    const leaving = members[0]?.memberId ?? '';
    await store.writeMembers('contoso', new Map([[group, {
      sets: { users: new Set(members.slice(1).map((m) => m.memberId)), groups: new Set<string>(), others: new Set<string>() },
      previousRowKeys: [...before.keys()].map(String),
    }]]));
    const after = new Map((await rawRows(target, 'MirrorMembers')).map((row) => [row.rowKey, row.etag]));
    expect(after.size).toBe(4);
    expect((await store.listMembers('contoso', group)).some((edge) => edge.memberId === leaving)).toBe(false);
  });
});
