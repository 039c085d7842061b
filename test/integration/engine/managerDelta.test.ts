/**
 * An empty `manager@delta` list is no statement about the manager: Graph reports a removal with an
 * @removed entry. The fake Graph here sends `"manager@delta": []` on every user entry whose manager
 * did not change (and, in full rounds, for users without one), the ambiguous shape. Only an explicit
 * removal clears a manager in an incremental round; the full round settles whoever has none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOURCE, startEngineHarness, type EngineHarness } from '../../support/engineHarness';

let h: EngineHarness;
/** Users with a manager at the start, who manage nobody (so no report changes along). */
let retitled: string;
let managerRemoved: string;
let silentlyRemoved: string;

async function managerInMirror(userId: string): Promise<string | null | undefined> {
  return (await h.mirror.getUsers(SOURCE, [userId])).get(userId)?.managerId;
}

beforeAll(async () => {
  h = await startEngineHarness({ users: 60, groups: 6, seed: 16, emptyManagerDelta: true });
  const users = h.tenant.activeUsers();
  const managers = new Set(users.map((user) => user.managerId));
  const [first, second, third] = users.filter((user) => user.managerId !== null && !managers.has(user.id));
  if (first === undefined || second === undefined || third === undefined) throw new Error('the generated tenant has too few managed users');
  [retitled, managerRemoved, silentlyRemoved] = [first.id, second.id, third.id];
  await h.pull(); // the first, full round
});
afterAll(async () => {
  await h.close();
});

describe('manager@delta', () => {
  it('keeps the manager when an incremental round sends an empty manager@delta list with another change', async () => {
    const manager = h.tenant.getUser(retitled)?.managerId;
    expect(manager).toEqual(expect.any(String));
    expect(await managerInMirror(retitled)).toBe(manager);
    h.tenant.updateUser(retitled, { jobTitle: 'Retitled in an incremental round' });
    const summary = await h.pull();
    expect(summary.users?.roundKind).toBe('incremental');
    expect(await managerInMirror(retitled)).toBe(manager);
  });

  it('clears the manager when the incremental round reports an explicit removal (@removed entry)', async () => {
    expect(await managerInMirror(managerRemoved)).toEqual(expect.any(String));
    h.tenant.setManager(managerRemoved, null);
    await h.pull();
    expect(await managerInMirror(managerRemoved)).toBeNull();
  });

  it('leaves an unreported removal to the full round, which states "no manager" for users without one', async () => {
    const manager = await managerInMirror(silentlyRemoved);
    expect(manager).toEqual(expect.any(String));
    // The removal is not reported incrementally: the delta tokens expire, as after a long outage.
    h.tenant.setManager(silentlyRemoved, null);
    h.graph.expireTokens();
    const summary = await h.pull();
    expect(summary.users?.roundKind).toBe('full');
    expect(await managerInMirror(silentlyRemoved)).toBeNull();
    expect(await managerInMirror(retitled)).toBe(h.tenant.getUser(retitled)?.managerId);
  });
});
