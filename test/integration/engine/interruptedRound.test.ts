import { afterEach, describe, expect, it } from 'vitest';
import { GraphRequestError } from '../../../src/graph';
import {
  PAGE_SIZE, SOURCE, SimulatedCrash, SimulatedStorageFailure, crashAfterPages, failingUserWrite, deltaRequestsSince, faultOnRequest, skipTokenOf, startEngineHarness,
  type EngineHarness,
} from '../../support/engineHarness';
import { expectedDirectory, readMirrorDirectory, removedInMirror } from '../../support/mirrorSnapshot';

const USERS = 150;
const GROUPS = 20;

let h: EngineHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function expectRejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => { throw new Error('expected the pull to fail'); }, (error: unknown) => error);
}

/**
 * A mirror in sync with the tenant, then one user and one group deleted in Graph: only the sweep of a
 * completed full round can find those, so a sweep that runs too early, or with the wrong round id
 * (which would also mark the objects of the pages read before an interruption), shows.
 */
async function syncedMirrorWithDeletions(): Promise<{ harness: EngineHarness; deletedUser: string; deletedGroup: string }> {
  const harness = await startEngineHarness({ users: USERS, groups: GROUPS, seed: 5 });
  h = harness;
  await harness.pull();
  const managers = new Set(harness.tenant.activeUsers().map((u) => u.managerId));
  const deletedUser = harness.tenant.activeUsers().find((u) => !managers.has(u.id))?.id ?? '';
  const deletedGroup = harness.tenant.activeGroups().at(-1)?.id ?? '';
  harness.tenant.hardDeleteUser(deletedUser);
  harness.tenant.deleteGroup(deletedGroup);
  harness.tenant.updateUser(harness.tenant.activeUsers()[0]?.id ?? '', { jobTitle: 'Changed before the reconcile' });
  return { harness, deletedUser, deletedGroup };
}

async function expectMirrorEqualsTenant(harness: EngineHarness): Promise<void> {
  expect(await readMirrorDirectory(harness.mirror, SOURCE)).toEqual(expectedDirectory(harness.tenant));
}

describe('a full round interrupted between pages (a crash)', () => {
  it.each([
    { kind: 'users' as const, pages: 3 },
    { kind: 'groups' as const, pages: 1 },
  ])('resumes after $kind page $pages from the checkpointed nextLink and sweeps only once complete', async ({ kind, pages }) => {
    const { harness, deletedUser, deletedGroup } = await syncedMirrorWithDeletions();
    const crashing = crashAfterPages(harness.reader(), kind, pages);

    expect(await expectRejection(harness.pull({ forceFull: true, reader: crashing }))).toBeInstanceOf(SimulatedCrash);
    expect(crashing.lastNextLink()).toEqual(expect.any(String)); // the crash came mid-round, not after the last page

    const cursor = await harness.cursors.get(SOURCE, kind);
    expect(cursor?.nextLink).toBe(crashing.lastNextLink());
    expect(cursor?.round).toMatchObject({ kind: 'full', pages });
    // The users round of a groups crash had completed, and its sweep was due; the interrupted kind swept nothing.
    expect(await removedInMirror(harness.mirror, SOURCE)).toEqual({
      users: kind === 'users' ? {} : { [deletedUser]: 'missingFromFullRound' },
      groups: {},
    });

    const mark = harness.graph.requests.length;
    const resumed = await harness.pull();

    expect(skipTokenOf(cursor?.nextLink)).toEqual(expect.any(String));
    expect(deltaRequestsSince(harness.graph, mark, kind)[0]?.query.$skiptoken).toBe(skipTokenOf(cursor?.nextLink));
    expect(resumed.status).toBe('completed');
    expect(resumed[kind]).toMatchObject({ roundKind: 'full', resumed: true, completed: true, swept: 1 });
    await expectMirrorEqualsTenant(harness);
    expect(await removedInMirror(harness.mirror, SOURCE)).toEqual({
      users: { [deletedUser]: 'missingFromFullRound' },
      // forceFull applied to the failed pull only: after finishing the users round, groups go incremental and see @removed.
      groups: { [deletedGroup]: kind === 'users' ? 'deleted' : 'missingFromFullRound' },
    });
  });

  it('starts the round over when Graph no longer knows the saved nextLink', async () => {
    const { harness, deletedUser } = await syncedMirrorWithDeletions();
    await expectRejection(harness.pull({ forceFull: true, reader: crashAfterPages(harness.reader(), 'users', 2) }));
    harness.graph.expireTokens();

    const restarted = await harness.pull();

    expect(restarted.users).toMatchObject({ roundKind: 'full', resumed: false, restartedAfterExpiry: true, completed: true, swept: 1 });
    await expectMirrorEqualsTenant(harness);
    expect((await removedInMirror(harness.mirror, SOURCE)).users).toEqual({ [deletedUser]: 'missingFromFullRound' });
  });
});

describe('a Graph page failing mid-round', () => {
  it.each([
    { kind: 'users' as const, page: 3, fault: { status: 500 }, what: 'HTTP 500' },
    { kind: 'groups' as const, page: 2, fault: { malformedJson: true }, what: 'a cut-off JSON body' },
  ])('fails the pull on $what at $kind page $page without sweeping, and the next pull resumes at that page', async ({ kind, page, fault }) => {
    const { harness, deletedUser, deletedGroup } = await syncedMirrorWithDeletions();
    const mark = harness.graph.requests.length;
    faultOnRequest(harness.graph, kind, page, fault);

    expect(await expectRejection(harness.pull({ forceFull: true }))).toBeInstanceOf(GraphRequestError);

    const failed = deltaRequestsSince(harness.graph, mark, kind);
    expect(failed).toHaveLength(page);
    const failedPageToken = failed[page - 1]?.query.$skiptoken;
    expect(failedPageToken).toEqual(expect.any(String));
    const cursor = await harness.cursors.get(SOURCE, kind);
    // The last checkpoint is page k-1's nextLink, i.e. the link of the page that failed.
    expect(skipTokenOf(cursor?.nextLink)).toBe(failedPageToken);
    expect(cursor?.round).toMatchObject({ kind: 'full', pages: page - 1 });
    expect((await removedInMirror(harness.mirror, SOURCE))[kind]).toEqual({});

    const resumeMark = harness.graph.requests.length;
    const resumed = await harness.pull();

    expect(deltaRequestsSince(harness.graph, resumeMark, kind)[0]?.query.$skiptoken).toBe(failedPageToken);
    expect(resumed[kind]).toMatchObject({ roundKind: 'full', resumed: true, completed: true, swept: 1 });
    await expectMirrorEqualsTenant(harness);
    expect(await removedInMirror(harness.mirror, SOURCE)).toEqual({
      users: { [deletedUser]: 'missingFromFullRound' },
      // forceFull applied to the failed pull only: after finishing the users round, groups go incremental and see @removed.
      groups: { [deletedGroup]: kind === 'users' ? 'deleted' : 'missingFromFullRound' },
    });
  });
});

describe('the mirror failing to store a page', () => {
  it('leaves the checkpoint before that page, so the next pull reads the page again', async () => {
    const { harness, deletedUser } = await syncedMirrorWithDeletions();
    const mark = harness.graph.requests.length;

    const failure = await expectRejection(harness.pull({ forceFull: true, mirror: failingUserWrite(harness.mirror, 3) }));

    expect(failure).toBeInstanceOf(SimulatedStorageFailure);
    const thirdPageToken = deltaRequestsSince(harness.graph, mark, 'users')[2]?.query.$skiptoken;
    const cursor = await harness.cursors.get(SOURCE, 'users');
    expect(skipTokenOf(cursor?.nextLink)).toBe(thirdPageToken);
    expect(cursor?.round).toMatchObject({ kind: 'full', pages: 2 });

    const resumeMark = harness.graph.requests.length;
    await harness.pull();

    expect(deltaRequestsSince(harness.graph, resumeMark, 'users')[0]?.query.$skiptoken).toBe(thirdPageToken);
    await expectMirrorEqualsTenant(harness);
    expect((await removedInMirror(harness.mirror, SOURCE)).users).toEqual({ [deletedUser]: 'missingFromFullRound' });
  });
});

describe('a pull that reaches its deadline', () => {
  it('stops after one page as partial with a checkpoint, and the next pull resumes and completes', async () => {
    const harness = await startEngineHarness({ users: USERS, groups: GROUPS, seed: 9 });
    h = harness;

    const partial = await harness.pull({ deadlineAt: Date.now() - 1 });

    expect(partial.status).toBe('partial');
    expect(partial.users).toMatchObject({ roundKind: 'full', pages: 1, added: PAGE_SIZE, completed: false });
    expect(partial.groups).toBeUndefined();
    const cursor = await harness.cursors.get(SOURCE, 'users');
    expect(cursor).toMatchObject({ deltaLink: null, round: { kind: 'full', pages: 1 } });
    expect(cursor?.nextLink).toContain('$skiptoken=');
    expect(harness.graph.deltaRequests('groups')).toHaveLength(0);

    const resumed = await harness.pull();

    expect(resumed.status).toBe('completed');
    expect(resumed.users).toMatchObject({
      resumed: true, completed: true, pages: Math.ceil(USERS / PAGE_SIZE) - 1, added: USERS - PAGE_SIZE, swept: 0,
    });
    await expectMirrorEqualsTenant(harness);
    expect(await removedInMirror(harness.mirror, SOURCE)).toEqual({ users: {}, groups: {} });
  });
});
