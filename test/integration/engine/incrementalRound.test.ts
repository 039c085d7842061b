import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeTenant, FakeUser } from '../../fakes/graph';
import type { PullSummary } from '../../../src/sync/pullSource';
import { MEMBER_SLICE_SIZE, SOURCE, startEngineHarness, type EngineHarness } from '../../support/engineHarness';
import {
  changedRows, expectedDirectory, mirrorRow, readMirrorDirectory, removedInMirror, snapshotMirrorRows, type DirectoryView, type RowSnapshot,
} from '../../support/mirrorSnapshot';

let h: EngineHarness;
/** Who plays which part in the mutations (object ids). */
let cast: {
  retitled: string; newManagerOf: string; newManager: string; softDeleted: string; restored: string; hardDeleted: string;
  joiner: string; gainsMember: string; losesMember: string; leaver: string; parent: string; nested: string; deletedGroup: string;
};
let prelude: PullSummary;
let before: { rows: RowSnapshot; directory: DirectoryView };
let mark: number;
let result: PullSummary;
let rowsAfter: RowSnapshot;

function groupsOf(tenant: FakeTenant, memberId: string): string[] {
  return tenant.activeGroups().filter((group) => tenant.activeMembersOf(group.id).some((m) => m.id === memberId)).map((group) => group.id);
}

/** Picks distinct objects for each part, so the expected effects of one mutation do not hide another's. */
function castFrom(tenant: FakeTenant): typeof cast {
  const users = tenant.activeUsers();
  const managesSomeone = new Set(users.map((u) => u.managerId).filter((id): id is string => id !== null));
  const taken = new Set<string>();
  const pickUser = (ok: (user: FakeUser) => boolean): string => {
    const user = users.find((u) => !taken.has(u.id) && !managesSomeone.has(u.id) && u.userType === 'Member' && ok(u));
    if (user === undefined) throw new Error('the generated tenant has no user for this part');
    taken.add(user.id);
    return user.id;
  };
  const inGroups = (u: FakeUser) => groupsOf(tenant, u.id).length > 0;
  const retitled = pickUser(() => true);
  const newManagerOf = pickUser((u) => u.managerId !== null);
  const newManager = pickUser(() => true);
  const softDeleted = pickUser(inGroups);
  const restored = pickUser(inGroups);
  const hardDeleted = pickUser(inGroups);
  const groups = tenant.activeGroups();
  const hasGroupMembers = (id: string) => tenant.activeMembersOf(id).some((m) => m.kind === 'group');
  const projects = groups.filter((g) => g.displayName?.startsWith('Project') === true && !hasGroupMembers(g.id));
  const [gainsMember, losesMember, parent, nested, deletedGroup] = projects.map((g) => g.id);
  if (gainsMember === undefined || losesMember === undefined || parent === undefined || nested === undefined || deletedGroup === undefined) {
    throw new Error('the generated tenant has too few project groups');
  }
  const leaver = tenant.activeMembersOf(losesMember).find((m) => m.kind === 'user' && !taken.has(m.id))?.id;
  const joiner = pickUser((u) => !groupsOf(tenant, u.id).includes(gainsMember));
  if (leaver === undefined) throw new Error('no member to remove');
  return { retitled, newManagerOf, newManager, softDeleted, restored, hardDeleted, joiner, gainsMember, losesMember, leaver, parent, nested, deletedGroup };
}

beforeAll(async () => {
  h = await startEngineHarness({ users: 300, groups: 40, seed: 11 });
  await h.pull();
  cast = castFrom(h.tenant);
  // A restore needs a mirror row marked removed, so the user is soft-deleted one round earlier.
  h.tenant.softDeleteUser(cast.restored);
  prelude = await h.pull();

  before = { rows: await snapshotMirrorRows(h.storage), directory: expectedDirectory(h.tenant) };
  mark = h.graph.requests.length;
  const t = h.tenant;
  t.updateUser(cast.retitled, { jobTitle: 'Chief Delta Officer' });
  t.setManager(cast.newManagerOf, cast.newManager);
  t.softDeleteUser(cast.softDeleted);
  t.restoreUser(cast.restored);
  t.hardDeleteUser(cast.hardDeleted);
  t.addMember(cast.gainsMember, cast.joiner);
  t.removeMember(cast.losesMember, cast.leaver);
  t.addMember(cast.parent, cast.nested);
  t.deleteGroup(cast.deletedGroup);
  const newcomer = t.addUser({ jobTitle: 'New Hire', onPremisesExtensionAttributes: { extensionAttribute3: 'fresh' }, managerId: cast.newManager });
  t.addMember(cast.gainsMember, newcomer.id);
  result = await h.pull();
  rowsAfter = await snapshotMirrorRows(h.storage);
});
afterAll(async () => {
  await h.close();
});

/** Edges that came and went between two directory views, ignoring the deleted group's own (the store keeps those). */
function edgeChanges(from: DirectoryView, to: DirectoryView): { added: string[]; removed: string[] } {
  const ownEdge = (edge: string) => edge.startsWith(`${cast.deletedGroup} `);
  return {
    added: to.edges.filter((edge) => !from.edges.includes(edge)),
    removed: from.edges.filter((edge) => !to.edges.includes(edge) && !ownEdge(edge)),
  };
}

describe('an incremental round after directory changes', () => {
  it('marks a soft-deleted user removed (changed) and drops its memberships', async () => {
    expect(prelude.users).toMatchObject({ roundKind: 'incremental', added: 0, changed: 0, removed: 1 });
    expect(prelude.groups?.edgesRemoved).toBe(groupsOf(h.tenant, cast.restored).length);
  });

  it('starts from the saved deltaLink, not from the beginning', () => {
    for (const target of ['users', 'groups'] as const) {
      const requests = h.graph.requests.slice(mark).filter((request) => request.target === target);
      expect(requests[0]?.query.$deltatoken).toEqual(expect.any(String));
      expect(requests.every((request) => request.query.$deltatoken !== undefined || request.query.$skiptoken !== undefined)).toBe(true);
    }
    expect(result.users?.roundKind).toBe('incremental');
    expect(result.groups?.roundKind).toBe('incremental');
  });

  it('counts exactly the changed users and groups', () => {
    const edges = edgeChanges(before.directory, expectedDirectory(h.tenant));
    const touchedGroups = new Set([...edges.added, ...edges.removed].map((edge) => edge.split(' ')[0]));
    // Each touched group fits one members@delta slice, so it is one page entry: one "unchanged" group row.
    for (const groupId of touchedGroups) {
      expect([...edges.added, ...edges.removed].filter((edge) => edge.startsWith(`${groupId} `)).length).toBeLessThan(MEMBER_SLICE_SIZE);
    }
    expect(result.status).toBe('completed');
    expect(result.users).toMatchObject({ added: 2, changed: 2, removed: 2, unchanged: 0, swept: 0, completed: true });
    expect(result.groups).toMatchObject({
      added: 0, changed: 0, removed: 1, unchanged: touchedGroups.size, swept: 0, completed: true,
      edgesAdded: edges.added.length, edgesRemoved: edges.removed.length,
    });
    expect(edges.added).toContain(`${cast.parent} group ${cast.nested}`);
  });

  it('rewrites only the rows of the changed objects and the member rows of the groups whose members changed; every other row is byte-identical', () => {
    const edges = edgeChanges(before.directory, expectedDirectory(h.tenant));
    const newcomer = h.tenant.activeUsers().at(-1)?.id ?? '';
    const groupsWithChangedMembers = new Set([...edges.added, ...edges.removed].map((edge) => edge.split(' ')[0] ?? ''));
    const expected = [
      ...[cast.retitled, cast.newManagerOf, cast.softDeleted, cast.restored, cast.hardDeleted, newcomer].map((id) => mirrorRow.user(SOURCE, id)),
      mirrorRow.group(SOURCE, cast.deletedGroup),
      ...[...groupsWithChangedMembers].map((groupId) => mirrorRow.members(SOURCE, groupId)),
    ].sort();

    expect(changedRows(before.rows, rowsAfter)).toEqual(expected);
  });

  it('leaves the mirror equal to the tenant, with the removed objects marked by reason', async () => {
    expect(await readMirrorDirectory(h.mirror, SOURCE)).toEqual(expectedDirectory(h.tenant));
    expect(await removedInMirror(h.mirror, SOURCE)).toEqual({
      users: { [cast.softDeleted]: 'changed', [cast.hardDeleted]: 'deleted' },
      groups: { [cast.deletedGroup]: 'deleted' },
    });
    const users = await h.mirror.getUsers(SOURCE, [cast.retitled, cast.newManagerOf]);
    expect(users.get(cast.retitled)?.jobTitle).toBe('Chief Delta Officer');
    expect(users.get(cast.newManagerOf)?.managerId).toBe(cast.newManager);
  });
});
