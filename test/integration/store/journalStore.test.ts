import { describe, expect, it } from 'vitest';
import { TableChangeJournal } from '../../../src/store/journalStore';
import { createTableClient, type StorageTarget } from '../../../src/store/storageAccount';
import type { DirectoryKind, GroupChangeReport, UserChangeReport } from '../../../src/sync/directory';
import type { JournalEntry, SeenInRound } from '../../../src/sync/ports';
import { isolatedStorage } from '../../support/storage';
import { newId, rawRows } from './storeFixtures';

async function journalOnFreshStorage(): Promise<{ journal: TableChangeJournal; target: StorageTarget }> {
  const target = isolatedStorage();
  const journal = new TableChangeJournal(target);
  await journal.initialize();
  return { journal, target };
}

function at(roundStartedAt: string, batch: number, kind: DirectoryKind = 'users', roundId = `round-${roundStartedAt.slice(0, 10)}`) {
  return { roundStartedAt, roundId, kind, batch };
}

function usersReport(changed: string[], overrides: Partial<UserChangeReport> = {}): UserChangeReport {
  return { changed, identityChanged: [], managerMoves: [], ...overrides };
}

function groupsReport(overrides: Partial<GroupChangeReport> = {}): GroupChangeReport {
  return { changed: [], lifecycle: [], members: [], ...overrides };
}

/** The entries without their row keys, to compare contents. */
function contents(entries: readonly JournalEntry[]): unknown[] {
  return entries.map((entry) => {
    const { rowKeys: _rowKeys, ...rest } = entry;
    return rest;
  });
}

function seenOf(ids: string[], members: Record<string, { users?: string[]; groups?: string[]; others?: string[] }> = {}): SeenInRound {
  return {
    ids: new Set(ids),
    members: new Map(Object.entries(members).map(([groupId, sets]) => [groupId, {
      users: new Set(sets.users ?? []), groups: new Set(sets.groups ?? []), others: new Set(sets.others ?? []),
    }])),
  };
}

/**
 * A users report of `count` ids, about 39 characters of JSON each: a row holds 420,000 characters,
 * so 15,000 ids take two rows and 60,000 six.
 */
function largeReport(count: number): UserChangeReport {
  const [user, manager] = [newId(), newId()];
  const ids = [user, manager, ...Array.from({ length: count - 2 }, () => newId())];
  return usersReport(ids, { identityChanged: ids.slice(0, 10), managerMoves: [[user, null, manager]] });
}

describe('TableChangeJournal', () => {
  it('returns pending change entries oldest first, with their reports', async () => {
    const { journal } = await journalOnFreshStorage();
    const [a, b, c, d, manager] = [newId(), newId(), newId(), newId(), newId()];
    const newest = usersReport([d]);
    const tenth = usersReport([c]);
    const second = usersReport([b], { identityChanged: [b], managerMoves: [[b, null, manager]] });
    const groups = groupsReport({ changed: [a], lifecycle: [a], members: [[a, b, 'user', 1], [a, c, 'group', 0]] });
    // Written out of order, batches 2 and 10 of one round included (10 sorts after 2).
    await journal.appendChanges('contoso', at('2030-01-03T00:00:00.000Z', 0), { users: newest });
    await journal.appendChanges('contoso', at('2030-01-01T00:00:00.000Z', 10), { users: tenth });
    await journal.appendChanges('contoso', at('2030-01-01T00:00:00.000Z', 2), { users: second });
    await journal.appendChanges('contoso', at('2030-01-02T00:00:00.000Z', 0, 'groups'), { groups });

    const pending = await journal.pending('contoso');

    expect(contents(pending)).toEqual([
      { kind: 'changes', users: second },
      { kind: 'changes', users: tenth },
      { kind: 'changes', groups },
      { kind: 'changes', users: newest },
    ]);
    for (const entry of pending) expect(entry.rowKeys).toHaveLength(1);
    expect(new Set(pending.flatMap((entry) => entry.rowKeys)).size).toBe(4);
  });

  it('keeps both reports of an entry that carries users and groups', async () => {
    const { journal } = await journalOnFreshStorage();
    const users = usersReport([newId()]);
    const groups = groupsReport({ changed: [newId()] });

    await journal.appendChanges('contoso', at('2030-01-01T00:00:00.000Z', 0), { users, groups });

    expect(contents(await journal.pending('contoso'))).toEqual([{ kind: 'changes', users, groups }]);
  });

  it('replaces an entry written again for the same round, kind and batch instead of adding another', async () => {
    const { journal } = await journalOnFreshStorage();
    const key = at('2030-01-01T00:00:00.000Z', 7);
    await journal.appendChanges('contoso', key, { users: usersReport([newId()]) });
    const replay = usersReport([newId(), newId()]);

    await journal.appendChanges('contoso', key, { users: replay });
    // The same batch number of another kind or round is another entry.
    const groups = groupsReport({ changed: [newId()] });
    await journal.appendChanges('contoso', { ...key, kind: 'groups' }, { groups });

    expect(contents(await journal.pending('contoso'))).toEqual([{ kind: 'changes', users: replay }, { kind: 'changes', groups }]);
  });

  it('spreads an entry larger than one row (a report of 60,000 ids) over several rows and returns it whole', async () => {
    const { journal, target } = await journalOnFreshStorage();
    const large = largeReport(60_000);

    await journal.appendChanges('contoso', at('2030-01-01T00:00:00.000Z', 0), { users: large });

    const pending = await journal.pending('contoso');
    expect(pending).toHaveLength(1);
    expect(contents(pending)).toEqual([{ kind: 'changes', users: large }]);
    const rows = await rawRows(target, 'Journal');
    expect(rows.length).toBeGreaterThanOrEqual(6);
    expect([...(pending[0]?.rowKeys ?? [])].sort()).toEqual(rows.map((row) => String(row.rowKey)).sort());
  });

  it('replaces a large entry written again with a larger one', async () => {
    const { journal } = await journalOnFreshStorage();
    const key = at('2030-01-01T00:00:00.000Z', 3);
    await journal.appendChanges('contoso', key, { users: largeReport(15_000) });
    const larger = largeReport(25_000);

    await journal.appendChanges('contoso', key, { users: larger });

    expect(contents(await journal.pending('contoso'))).toEqual([{ kind: 'changes', users: larger }]);
  });

  it('replaces a large entry written again with a smaller one (a replayed batch that changed less)', async () => {
    const { journal, target } = await journalOnFreshStorage();
    const key = at('2030-01-01T00:00:00.000Z', 3);
    await journal.appendChanges('contoso', key, { users: largeReport(15_000) });
    const smaller = usersReport([newId()]);

    await journal.appendChanges('contoso', key, { users: smaller });

    const pending = await journal.pending('contoso');
    expect(contents(pending)).toEqual([{ kind: 'changes', users: smaller }]);
    // Consuming the entry leaves nothing of it behind.
    await journal.consume('contoso', pending.flatMap((entry) => entry.rowKeys));
    expect(await rawRows(target, 'Journal')).toEqual([]);
  });

  it('returns an entry with a part missing (a write cut short) without its reports, only to be consumed, and the others whole', async () => {
    const { journal, target } = await journalOnFreshStorage();
    const small = usersReport([newId()]);
    await journal.appendChanges('contoso', at('2030-01-01T00:00:00.000Z', 0), { users: largeReport(15_000) });
    await journal.appendChanges('contoso', at('2030-01-01T00:00:00.000Z', 1), { users: small });
    const [large] = await journal.pending('contoso');
    const lost = large?.rowKeys[1];
    expect(lost).toBeDefined();

    await createTableClient(target, 'Journal').deleteEntity('contoso', lost ?? '');

    const pending = await journal.pending('contoso');
    expect(contents(pending)).toEqual([{ kind: 'changes' }, { kind: 'changes', users: small }]);
    // Consuming the cut-short entry removes what is left of it.
    await journal.consume('contoso', pending[0]?.rowKeys ?? []);
    expect(contents(await journal.pending('contoso'))).toEqual([{ kind: 'changes', users: small }]);
  });

  it('returns an entry whose first part is missing without its reports, only to be consumed', async () => {
    const { journal, target } = await journalOnFreshStorage();
    await journal.appendChanges('contoso', at('2030-01-01T00:00:00.000Z', 0), { users: largeReport(15_000) });
    const [large] = await journal.pending('contoso');
    expect(large?.rowKeys).toHaveLength(2);

    await createTableClient(target, 'Journal').deleteEntity('contoso', large?.rowKeys[0] ?? '');

    const pending = await journal.pending('contoso');
    expect(contents(pending)).toEqual([{ kind: 'changes' }]);
    await journal.consume('contoso', pending[0]?.rowKeys ?? []);
    expect(await journal.pending('contoso')).toEqual([]);
  });

  it('consumes exactly the given entries, all their rows, and consuming again is harmless', async () => {
    const { journal, target } = await journalOnFreshStorage();
    const first = usersReport([newId()]);
    const third = usersReport([newId()]);
    await journal.appendChanges('contoso', at('2030-01-01T00:00:00.000Z', 0), { users: first });
    await journal.appendChanges('contoso', at('2030-01-01T00:00:00.000Z', 1), { users: largeReport(15_000) });
    await journal.appendChanges('contoso', at('2030-01-01T00:00:00.000Z', 2), { users: third });
    const middle = (await journal.pending('contoso'))[1]?.rowKeys ?? [];
    expect(middle.length).toBeGreaterThan(1);

    await journal.consume('contoso', middle);

    expect(contents(await journal.pending('contoso'))).toEqual([{ kind: 'changes', users: first }, { kind: 'changes', users: third }]);
    expect(await rawRows(target, 'Journal')).toHaveLength(2);
    await journal.consume('contoso', middle);
    expect(await journal.pending('contoso')).toHaveLength(2);
  });

  it("records a request to plan the whole source as a 'wholePlan' entry", async () => {
    const { journal } = await journalOnFreshStorage();
    const changes = usersReport([newId()]);
    await journal.appendChanges('contoso', at('2030-01-01T00:00:00.000Z', 0), { users: changes });

    await journal.appendWholePlan('contoso', new Date('2030-01-01T01:00:00.000Z'), 'round-1', 'full round of users');

    const pending = await journal.pending('contoso');
    expect(contents(pending)).toEqual(expect.arrayContaining([
      { kind: 'changes', users: changes },
      { kind: 'wholePlan', reason: 'full round of users' },
    ]));
    expect(pending).toHaveLength(2);
    const wholePlan = pending.find((entry) => entry.kind === 'wholePlan');
    await journal.consume('contoso', wholePlan?.rowKeys ?? []);
    expect(contents(await journal.pending('contoso'))).toEqual([{ kind: 'changes', users: changes }]);
  });

  it('reads back what a round has seen over all its batches, per round and kind, apart from pending changes', async () => {
    const { journal } = await journalOnFreshStorage();
    const [u1, u2, u3, u4] = [newId(), newId(), newId(), newId()];
    const [g1, g2, g3] = [newId(), newId(), newId()];
    const [m1, m2, m3, nested, device] = [newId(), newId(), newId(), newId(), newId()];
    await journal.appendSeen('contoso', 'r1', 'users', 0, seenOf([u1, u2]));
    await journal.appendSeen('contoso', 'r1', 'users', 1, seenOf([u3]));
    await journal.appendSeen('contoso', 'r1', 'groups', 0, seenOf([g1], { [g1]: { users: [m1], groups: [nested], others: [device] } }));
    // A group's members may continue in the next batch.
    await journal.appendSeen('contoso', 'r1', 'groups', 1, seenOf([g2], { [g1]: { users: [m2] }, [g2]: { users: [m3] } }));
    await journal.appendSeen('contoso', 'r2', 'users', 0, seenOf([u4]));
    await journal.appendSeen('contoso', 'r10', 'users', 0, seenOf([g3]));

    expect(await journal.readSeen('contoso', 'r1', 'users')).toEqual(seenOf([u1, u2, u3]));
    expect(await journal.readSeen('contoso', 'r1', 'groups')).toEqual(seenOf([g1, g2], {
      [g1]: { users: [m1, m2], groups: [nested], others: [device] },
      [g2]: { users: [m3] },
    }));
    expect(await journal.readSeen('contoso', 'r2', 'users')).toEqual(seenOf([u4]));
    expect(await journal.readSeen('contoso', 'r2', 'groups')).toEqual(seenOf([]));
    expect(await journal.readSeen('contoso', 'r3', 'users')).toEqual(seenOf([]));
    expect(await journal.pending('contoso')).toEqual([]);
  });

  it('rewrites a seen batch written again instead of adding to it', async () => {
    const { journal } = await journalOnFreshStorage();
    const [first, replayed] = [newId(), newId()];
    await journal.appendSeen('contoso', 'r1', 'users', 4, seenOf([first]));

    await journal.appendSeen('contoso', 'r1', 'users', 4, seenOf([replayed]));

    expect(await journal.readSeen('contoso', 'r1', 'users')).toEqual(seenOf([replayed]));
  });

  it('rewrites a seen batch larger than one row written again with a smaller one', async () => {
    const { journal } = await journalOnFreshStorage();
    const group = newId();
    await journal.appendSeen('contoso', 'r1', 'groups', 0, seenOf([group], { [group]: { users: Array.from({ length: 15_000 }, () => newId()) } }));
    const replayed = seenOf([group], { [group]: { users: [newId()] } });

    await journal.appendSeen('contoso', 'r1', 'groups', 0, replayed);

    // Otherwise a resumed full round forgets the group it saw and its sweep marks it removed.
    expect(await journal.readSeen('contoso', 'r1', 'groups')).toEqual(replayed);
  });

  it('returns a seen batch larger than one row whole', async () => {
    const { journal, target } = await journalOnFreshStorage();
    const members = Array.from({ length: 30_000 }, () => newId());
    const group = newId();
    const seen = seenOf([group], { [group]: { users: members } });

    await journal.appendSeen('contoso', 'r1', 'groups', 0, seen);

    expect((await rawRows(target, 'Journal')).length).toBeGreaterThan(1);
    expect(await journal.readSeen('contoso', 'r1', 'groups')).toEqual(seen);
  });

  it('clears the seen sets of every round but the one to keep, and nothing else', async () => {
    const { journal } = await journalOnFreshStorage();
    const [old, older, kept, keptGroup] = [newId(), newId(), newId(), newId()];
    await journal.appendSeen('contoso', 'r1', 'users', 0, seenOf([old]));
    await journal.appendSeen('contoso', 'r10', 'groups', 0, seenOf([older]));
    await journal.appendSeen('contoso', 'r2', 'users', 0, seenOf([kept]));
    await journal.appendSeen('contoso', 'r2', 'groups', 3, seenOf([keptGroup]));
    const changes = usersReport([newId()]);
    await journal.appendChanges('contoso', at('2030-01-01T00:00:00.000Z', 0, 'users', 'r1'), { users: changes });

    await journal.clearSeen('contoso', 'r2');

    expect(await journal.readSeen('contoso', 'r1', 'users')).toEqual(seenOf([]));
    expect(await journal.readSeen('contoso', 'r10', 'groups')).toEqual(seenOf([]));
    expect(await journal.readSeen('contoso', 'r2', 'users')).toEqual(seenOf([kept]));
    expect(await journal.readSeen('contoso', 'r2', 'groups')).toEqual(seenOf([keptGroup]));
    expect(contents(await journal.pending('contoso'))).toEqual([{ kind: 'changes', users: changes }]);

    await journal.clearSeen('contoso');

    expect(await journal.readSeen('contoso', 'r2', 'users')).toEqual(seenOf([]));
    expect(await journal.readSeen('contoso', 'r2', 'groups')).toEqual(seenOf([]));
    expect(await journal.pending('contoso')).toHaveLength(1);
  });

  it('keeps sources apart', async () => {
    const { journal } = await journalOnFreshStorage();
    const sources = ['contoso', 'contoso2', 'contos'];
    const key = at('2030-01-01T00:00:00.000Z', 0);
    const reports = new Map(sources.map((source) => [source, usersReport([newId()])]));
    for (const source of sources) {
      await journal.appendChanges(source, key, { users: reports.get(source) ?? usersReport([]) });
      await journal.appendSeen(source, 'r1', 'users', 0, seenOf([`${source}-seen`]));
    }
    await journal.appendWholePlan('contoso2', new Date('2030-01-01T00:00:00.000Z'), 'r1', 'full round of users');

    expect(contents(await journal.pending('contoso'))).toEqual([{ kind: 'changes', users: reports.get('contoso') }]);
    expect(contents(await journal.pending('contos'))).toEqual([{ kind: 'changes', users: reports.get('contos') }]);
    expect(await journal.pending('contoso2')).toHaveLength(2);
    expect(await journal.readSeen('contoso', 'r1', 'users')).toEqual(seenOf(['contoso-seen']));

    await journal.consume('contoso', ((await journal.pending('contoso'))[0]?.rowKeys ?? []));
    await journal.clearSeen('contoso');

    expect(await journal.pending('contoso')).toEqual([]);
    expect(await journal.readSeen('contoso', 'r1', 'users')).toEqual(seenOf([]));
    expect(contents(await journal.pending('contos'))).toEqual([{ kind: 'changes', users: reports.get('contos') }]);
    expect(await journal.pending('contoso2')).toHaveLength(2);
    expect(await journal.readSeen('contoso2', 'r1', 'users')).toEqual(seenOf(['contoso2-seen']));
    expect(await journal.readSeen('contos', 'r1', 'users')).toEqual(seenOf(['contos-seen']));
  });
});
