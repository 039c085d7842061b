/**
 * A full round that holds rows back to fill transactions (PullOptions.fillTransactions): the
 * checkpoint never passes a page whose users are not all written, so a crash in the middle of
 * the round loses nobody, and the resumed round starts from that checkpoint, not from page 1.
 * Every user of this tenant falls in one partition (ids starting 00), so each batch of 150 users
 * writes one transaction of 100 and holds the rest back.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createGraphDirectoryReader } from '../../../src/graph';
import { TableCursorStore, TableLockStore, TableMirrorStore } from '../../../src/store';
import { TableChangeJournal } from '../../../src/store/journalStore';
import { silentLogger } from '../../../src/sync/logger';
import type { DirectoryReader } from '../../../src/sync/ports';
import { pullSource } from '../../../src/sync/pullSource';
import { FakeTenant, startFakeGraph, type FakeGraph } from '../../fakes/graph';
import { SimulatedCrash, crashAfterPages, deltaRequestsSince, skipTokenOf } from '../../support/engineHarness';
import { expectedDirectory, readMirrorDirectory, removedInMirror } from '../../support/mirrorSnapshot';
import { isolatedStorage } from '../../support/storage';

const SOURCE = 'Default';
const USERS = 400;
const PAGE_SIZE = 50;
const BATCH = 150;

let graph: FakeGraph | undefined;
afterEach(async () => {
  await graph?.close();
  graph = undefined;
});

describe('a full round holding rows back to fill its transactions', () => {
  it('checkpoints before the first page with a row not written, and a crash then resumes there without losing anyone', async () => {
    const tenant = new FakeTenant({ seed: 3 });
    for (let i = 0; i < USERS; i += 1) {
      tenant.addUser({ id: `00${i.toString(16).padStart(6, '0')}-0000-4000-8000-${randomUUID().slice(-12)}`, userType: 'Member', accountEnabled: true });
    }
    graph = await startFakeGraph({ tenant, clientSecret: 'held-back-secret', maxPageSize: { users: PAGE_SIZE, groups: PAGE_SIZE } });
    const storage = isolatedStorage();
    const mirror = new TableMirrorStore(storage);
    const cursors = new TableCursorStore(storage);
    const locks = new TableLockStore(storage);
    const journal = new TableChangeJournal(storage);
    await Promise.all([mirror.initialize(), cursors.initialize(), locks.initialize(), journal.initialize()]);
    const source = graph.sourceConfig(undefined, SOURCE);
    const pull = (reader: DirectoryReader = createGraphDirectoryReader(source, { pageSize: PAGE_SIZE })) =>
      pullSource(SOURCE, { reader, mirror, cursors, journal, locks, logger: silentLogger }, {
        fullReconcileHours: 24, holder: `test:${randomUUID()}`, batchObjects: BATCH, fillTransactions: true,
      });

    // Batch 1 is pages 1-3 (150 users): 100 written, the last 50 (page 3) held back. The crash comes
    // after page 5, inside batch 2.
    const crashing = crashAfterPages(createGraphDirectoryReader(source, { pageSize: PAGE_SIZE }), 'users', 5);
    await expect(pull(crashing)).rejects.toBeInstanceOf(SimulatedCrash);

    const cursor = await cursors.get(SOURCE, 'users');
    // The checkpoint stays before page 3, the first page with a user not written.
    expect(cursor?.round).toMatchObject({ kind: 'full', pages: 2 });
    expect((await readMirrorDirectory(mirror, SOURCE)).users).toHaveLength(100);
    const page3 = deltaRequestsSince(graph, 0, 'users')[2]?.query.$skiptoken;
    expect(skipTokenOf(cursor?.nextLink)).toBe(page3);

    const mark = graph.requests.length;
    const resumed = await pull();
    expect(deltaRequestsSince(graph, mark, 'users')[0]?.query.$skiptoken).toBe(page3);
    expect(resumed.users).toMatchObject({ roundKind: 'full', resumed: true, pages: USERS / PAGE_SIZE - 2, completed: true, swept: 0 });
    expect(await readMirrorDirectory(mirror, SOURCE)).toEqual(expectedDirectory(tenant));
    expect(await removedInMirror(mirror, SOURCE)).toEqual({ users: {}, groups: {} });
  });
});
