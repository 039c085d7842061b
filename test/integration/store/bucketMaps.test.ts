import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TableConflictStore } from '../../../src/store/conflictStore';
import { TableReportsIndex } from '../../../src/store/reportsIndex';
import type { StorageTarget } from '../../../src/store/storageAccount';
import type { RecordedConflict } from '../../../src/sync/ports';
import { isolatedStorage } from '../../support/storage';
import { rawRows, requestCounter } from './storeFixtures';

/** A fresh object id in the given bucket (the bucket is the id's first two hex digits). */
const idIn = (bucket: string): string => `${bucket}${randomUUID().slice(2)}`;

/** Row key → ETag of every row of one source, to see which bucket rows a write touched. */
async function etags(target: StorageTarget, table: string, source: string): Promise<Map<string, unknown>> {
  const rows = (await rawRows(target, table)).filter((row) => row.partitionKey === source);
  return new Map(rows.map((row) => [String(row.rowKey), row.etag]));
}

function changedRows(before: ReadonlyMap<string, unknown>, after: ReadonlyMap<string, unknown>): string[] {
  return [...after].filter(([rowKey, etag]) => before.get(rowKey) !== etag).map(([rowKey]) => rowKey).sort();
}

async function reportsOnFreshStorage(): Promise<{ index: TableReportsIndex; target: StorageTarget; requests: ReturnType<typeof requestCounter> }> {
  const target = isolatedStorage();
  const requests = requestCounter();
  const index = new TableReportsIndex(target, { additionalPolicies: [requests.policy] });
  await index.initialize();
  requests.reset();
  return { index, target, requests };
}

async function conflictsOnFreshStorage(): Promise<{ conflicts: TableConflictStore; target: StorageTarget }> {
  const target = isolatedStorage();
  const conflicts = new TableConflictStore(target);
  await conflicts.initialize();
  return { conflicts, target };
}

describe('TableReportsIndex', () => {
  it('moves users between managers in different buckets and in the same bucket', async () => {
    const { index } = await reportsOnFreshStorage();
    const [alice, aliceNeighbour, bob, nobody] = [idIn('1a'), idIn('1a'), idIn('e0'), idIn('77')];
    const [u1, u2, u3] = [idIn('50'), idIn('20'), idIn('90')];

    await index.move('contoso', [
      { userId: u1, from: [], to: alice },
      { userId: u2, from: [], to: alice },
      { userId: u3, from: [], to: bob },
    ]);

    expect(await index.reportsOf('contoso', [alice, bob, nobody])).toEqual(new Map([[alice, [u1, u2].sort()], [bob, [u3]]]));

    // To a manager in another bucket, and to one in the same bucket.
    await index.move('contoso', [
      { userId: u1, from: [alice], to: bob },
      { userId: u2, from: [alice], to: aliceNeighbour },
    ]);

    expect(await index.reportsOf('contoso', [alice, aliceNeighbour, bob])).toEqual(new Map([[aliceNeighbour, [u2]], [bob, [u1, u3].sort()]]));

    // Losing a manager; a `from` that does not list the user changes nothing.
    await index.move('contoso', [
      { userId: u3, from: [bob], to: null },
      { userId: u2, from: [nobody, aliceNeighbour], to: alice },
    ]);

    expect(await index.reportsOf('contoso', [alice, aliceNeighbour, bob, nobody])).toEqual(new Map([[alice, [u2]], [bob, [u1]]]));
  });

  it('applies several moves of one user in order', async () => {
    const { index } = await reportsOnFreshStorage();
    const [first, second, third] = [idIn('01'), idIn('02'), idIn('01')];
    const user = idIn('aa');

    await index.move('contoso', [
      { userId: user, from: [], to: first },
      { userId: user, from: [first], to: second },
      { userId: user, from: [second], to: third },
    ]);

    expect(await index.reportsOf('contoso', [first, second, third])).toEqual(new Map([[third, [user]]]));
  });

  it('makes the stored index equal to the given map with replace, writing only the buckets that differ', async () => {
    const { index, target, requests } = await reportsOnFreshStorage();
    const [same, grown, emptied, added, empty] = [idIn('1a'), idIn('e0'), idIn('77'), idIn('33'), idIn('44')];
    const [u1, u3, u4, u5, u9] = [idIn('51'), idIn('53'), idIn('54'), idIn('55'), idIn('59')];
    await index.replace('contoso', new Map([[same, new Set([u1])], [grown, new Set([u3])], [emptied, new Set([u9])]]));
    const before = await etags(target, 'Reports', 'contoso');

    await index.replace('contoso', new Map([
      [same, new Set([u1])],
      [grown, new Set([u4, u3])],
      [added, new Set([u5])],
      [empty, new Set<string>()],
    ]));

    const everyone = [same, grown, emptied, added, empty];
    expect(await index.reportsOf('contoso', everyone)).toEqual(new Map([[same, [u1]], [grown, [u3, u4].sort()], [added, [u5]]]));
    expect(changedRows(before, await etags(target, 'Reports', 'contoso'))).toEqual(['33', '77', 'e0']);
    requests.reset();

    // The same map again: one read, nothing written.
    await index.replace('contoso', new Map([[same, new Set([u1])], [grown, new Set([u3, u4])], [added, new Set([u5])]]));

    expect(requests.writes()).toBe(0);
    expect(requests.reads()).toBe(1);

    await index.replace('contoso', new Map());

    expect(await index.reportsOf('contoso', everyone)).toEqual(new Map());
  });

  it('answers reportsOf for more managers than one query can name', async () => {
    const { index } = await reportsOnFreshStorage();
    const managers = Array.from({ length: 40 }, (_, n) => idIn((n * 6).toString(16).padStart(2, '0')));
    const reports = new Map(managers.map((manager) => [manager, new Set([idIn('00'), idIn('ff')])]));
    const asked = managers.filter((_, n) => n % 2 === 0);
    await index.replace('contoso', reports);

    const found = await index.reportsOf('contoso', [...asked, idIn('03')]);

    expect(found).toEqual(new Map(asked.map((manager) => [manager, [...(reports.get(manager) ?? [])].sort()])));
  });

  it('keeps sources apart', async () => {
    const { index } = await reportsOnFreshStorage();
    const manager = idIn('c0');
    const [ours, theirs] = [idIn('01'), idIn('02')];
    await index.move('contoso', [{ userId: ours, from: [], to: manager }]);
    await index.move('contoso2', [{ userId: theirs, from: [], to: manager }]);

    await index.replace('contos', new Map());

    expect(await index.reportsOf('contoso', [manager])).toEqual(new Map([[manager, [ours]]]));
    expect(await index.reportsOf('contoso2', [manager])).toEqual(new Map([[manager, [theirs]]]));
  });
});

function conflict(userId: string, destinations: string[], sentTo: string[] = destinations.slice(0, 1)): RecordedConflict {
  return { userId, upn: `${userId.slice(0, 8)}@contoso.test`, destinations, mappingIndexes: destinations.map((_, index) => index), sentTo };
}

const byUserId = (a: RecordedConflict, b: RecordedConflict): number => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0);

describe('TableConflictStore', () => {
  it('lists what replace recorded, sorted by user id, and a later replace drops what it leaves out', async () => {
    const { conflicts } = await conflictsOnFreshStorage();
    const recorded = [conflict(idIn('f0'), ['west', 'east']), conflict(idIn('0f'), ['west', 'north'], []), { ...conflict(idIn('80'), ['a', 'b', 'c']), upn: null }, conflict(idIn('0f'), ['x', 'y'])];

    await conflicts.replace('contoso', recorded);

    expect(await conflicts.list('contoso')).toEqual([...recorded].sort(byUserId));

    const next = [conflict(recorded[0]?.userId ?? '', ['west', 'south']), conflict(idIn('42'), ['east', 'north'])];
    await conflicts.replace('contoso', next);

    expect(await conflicts.list('contoso')).toEqual([...next].sort(byUserId));
  });

  it('update records or clears only the named users', async () => {
    const { conflicts } = await conflictsOnFreshStorage();
    const [changed, cleared, untouched, sameBucketAsChanged, neverNamed, fresh] = [idIn('10'), idIn('20'), idIn('30'), idIn('10'), idIn('50'), idIn('60')];
    await conflicts.replace('contoso', [
      conflict(changed, ['west', 'east']), conflict(cleared, ['west', 'east']), conflict(untouched, ['west', 'east']), conflict(sameBucketAsChanged, ['west', 'east']),
    ]);

    await conflicts.update('contoso', [changed, cleared, fresh, idIn('70')], [
      conflict(changed, ['west', 'north'], ['north']),
      conflict(fresh, ['east', 'north']),
      // Not among the re-planned users: not recorded.
      conflict(neverNamed, ['east', 'north']),
    ]);

    expect(await conflicts.list('contoso')).toEqual([
      conflict(changed, ['west', 'north'], ['north']),
      conflict(sameBucketAsChanged, ['west', 'east']),
      conflict(untouched, ['west', 'east']),
      conflict(fresh, ['east', 'north']),
    ].sort(byUserId));
  });

  it('keeps sources apart', async () => {
    const { conflicts } = await conflictsOnFreshStorage();
    const [ours, theirs] = [conflict(idIn('ab'), ['west', 'east']), conflict(idIn('ab'), ['west', 'east'])];
    await conflicts.replace('contoso', [ours]);
    await conflicts.replace('contoso2', [theirs]);

    await conflicts.replace('contos', []);
    await conflicts.update('contoso2', [ours.userId], []);

    expect(await conflicts.list('contoso')).toEqual([ours]);
    expect(await conflicts.list('contoso2')).toEqual([theirs]);
  });
});
