import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PullSummary } from '../../../src/sync/pullSource';
import { SOURCE, startEngineHarness, type EngineHarness } from '../../support/engineHarness';
import { expectedDirectory, readMirrorDirectory, removedInMirror } from '../../support/mirrorSnapshot';

let h: EngineHarness;
let mark: number;
let result: PullSummary;
let gone: { user: string; group: string; formerManaged: string };

beforeAll(async () => {
  h = await startEngineHarness({ users: 200, groups: 30, seed: 23 });
  await h.pull();
  const t = h.tenant;
  const users = t.activeUsers();
  const managed = users.find((u) => u.managerId !== null);
  const managers = new Set(users.map((u) => u.managerId));
  const leaf = users.find((u) => !managers.has(u.id) && u.id !== managed?.id);
  const group = t.activeGroups().find((g) => g.displayName?.startsWith('Project') === true);
  if (managed === undefined || leaf === undefined || group === undefined) throw new Error('the generated tenant lacks a part');
  gone = { user: leaf.id, group: group.id, formerManaged: managed.id };

  // While the token is expired, a full round is the only way to see these: no @removed comes for them.
  t.hardDeleteUser(leaf.id);
  t.deleteGroup(group.id);
  t.setManager(managed.id, null);
  t.updateUser(users[0]?.id ?? '', { department: 'Renamed while expired' });
  h.graph.expireTokens();
  mark = h.graph.requests.length;
  result = await h.pull();
});
afterAll(async () => {
  await h.close();
});

describe('a pull whose saved delta token has expired', () => {
  it('is told 410 by Graph and restarts as a full round from the beginning', () => {
    const users = h.graph.requests.slice(mark).filter((request) => request.target === 'users');
    expect(users[0]).toMatchObject({ status: 410, query: { $deltatoken: expect.any(String) } });
    expect(users[1]?.query).not.toHaveProperty('$deltatoken');
    expect(users[1]?.query).not.toHaveProperty('$skiptoken');
    expect(result.status).toBe('completed');
    expect(result.users).toMatchObject({ roundKind: 'full', restartedAfterExpiry: true, completed: true });
    expect(result.groups).toMatchObject({ roundKind: 'full', restartedAfterExpiry: true, completed: true });
  });

  it('marks what was deleted meanwhile as missing from the full round, and nothing else', async () => {
    expect(result.users?.swept).toBe(1);
    expect(result.groups?.swept).toBe(1);
    expect(await removedInMirror(h.mirror, SOURCE)).toEqual({
      users: { [gone.user]: 'missingFromFullRound' },
      groups: { [gone.group]: 'missingFromFullRound' },
    });
  });

  it('leaves the mirror equal to the tenant, including a manager removed while the token was expired', async () => {
    expect(await readMirrorDirectory(h.mirror, SOURCE)).toEqual(expectedDirectory(h.tenant));
    expect((await h.mirror.getUsers(SOURCE, [gone.formerManaged])).get(gone.formerManaged)?.managerId).toBeNull();
    // The sweep also deletes the edges no full round saw, the deleted group's own included.
    expect(await h.mirror.listMembers(SOURCE, gone.group)).toEqual([]);
  });

  it('stores a fresh deltaLink, so the next pull is incremental again', async () => {
    const next = await h.pull();
    expect(next.users).toMatchObject({ roundKind: 'incremental', restartedAfterExpiry: false, added: 0, changed: 0, removed: 0 });
  });
});
