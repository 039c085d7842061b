import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PullSummary } from '../../../src/sync/pullSource';
import { MEMBER_SLICE_SIZE, PAGE_SIZE, SOURCE, startEngineHarness, type EngineHarness } from '../../support/engineHarness';
import { changedRows, expectedDirectory, readMirrorDirectory, removedInMirror, snapshotMirrorRows } from '../../support/mirrorSnapshot';

let h: EngineHarness;
let first: PullSummary;

beforeAll(async () => {
  h = await startEngineHarness({ users: 300, groups: 40 });
  first = await h.pull();
});
afterAll(async () => {
  await h.close();
});

describe('the first pull of a source', () => {
  it('reads the tenant in pages of the configured size, with large groups split over several entries', () => {
    const users = h.tenant.activeUsers().length;
    const groups = h.tenant.activeGroups();
    const groupEntries = groups.reduce((sum, group) => sum + Math.max(1, Math.ceil(h.tenant.activeMembersOf(group.id).length / MEMBER_SLICE_SIZE)), 0);
    // Guards the fixture itself: without split groups and many pages this file would prove little.
    expect(groupEntries).toBeGreaterThan(groups.length + 20);

    expect(first.status).toBe('completed');
    expect(first.users).toMatchObject({
      roundKind: 'full', completed: true, resumed: false, restartedAfterExpiry: false,
      pages: Math.ceil(users / PAGE_SIZE), added: users, changed: 0, unchanged: 0, removed: 0, swept: 0,
    });
    // Every entry after a group's first slice repeats its attributes: unchanged, not added again.
    expect(first.groups).toMatchObject({
      roundKind: 'full', completed: true, pages: Math.ceil(groupEntries / PAGE_SIZE),
      added: groups.length, changed: 0, unchanged: groupEntries - groups.length, removed: 0, swept: 0,
      edgesAdded: expectedDirectory(h.tenant).edges.length, edgesRemoved: 0,
    });
    expect(h.graph.deltaRequests('users').every((request) => request.query.$deltatoken === undefined)).toBe(true);
  });

  it('mirrors every live user with every attribute, every group and every direct edge (users and nested groups)', async () => {
    const expected = expectedDirectory(h.tenant);
    expect(expected.edges.some((edge) => edge.includes(' group '))).toBe(true);
    expect(expected.users.some((user) => Object.keys(user.extensionAttributes).length > 0 && user.managerId !== null)).toBe(true);

    expect(await readMirrorDirectory(h.mirror, SOURCE)).toEqual(expected);
    expect(await removedInMirror(h.mirror, SOURCE)).toEqual({ users: {}, groups: {} });
  });

  it('saves the deltaLink of each kind and no unfinished round', async () => {
    for (const kind of ['users', 'groups'] as const) {
      const cursor = await h.cursors.get(SOURCE, kind);
      expect(cursor).toMatchObject({ nextLink: null, round: null });
      expect(cursor?.deltaLink).toContain('$deltatoken=');
      expect(cursor?.lastFullRoundCompletedAt).not.toBeNull();
    }
  });

  it('then pulls an incremental round that writes nothing when nothing changed', async () => {
    const before = await snapshotMirrorRows(h.storage);
    const mark = h.graph.requests.length;

    const again = await h.pull();

    expect(again.status).toBe('completed');
    for (const kind of [again.users, again.groups]) {
      expect(kind).toMatchObject({ roundKind: 'incremental', pages: 1, added: 0, changed: 0, unchanged: 0, removed: 0, swept: 0 });
    }
    const requests = h.graph.requests.slice(mark).filter((request) => request.target === 'users' || request.target === 'groups');
    expect(requests.map((request) => [request.target, typeof request.query.$deltatoken])).toEqual([['users', 'string'], ['groups', 'string']]);
    expect(changedRows(before, await snapshotMirrorRows(h.storage))).toEqual([]);
  });
});
