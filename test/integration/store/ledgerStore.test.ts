import { randomUUID } from 'node:crypto';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { describe, expect, it } from 'vitest';
import { TableLedgerStore } from '../../../src/store/ledgerStore';
import type { StorageTarget } from '../../../src/store/storageAccount';
import { patchEntries, summarizeEntries } from '../../../src/sync/ledgerPolicy';
import type { LedgerBucketSummary, LedgerEntry, LedgerRead, LedgerScope } from '../../../src/sync/ports';
import { isolatedStorage } from '../../support/storage';
import { rawRows } from './storeFixtures';

const DELETE_AFTER_DAYS = 30;
const summarize = (entries: ReadonlyMap<string, LedgerEntry>): LedgerBucketSummary => summarizeEntries(entries, DELETE_AFTER_DAYS);
const USERS: LedgerScope = { destination: 'west', source: 'contoso', kind: 'users' };

/** A fresh object id in the given bucket (the bucket is the id's first two hex digits). */
const idIn = (bucket: string): string => `${bucket}${randomUUID().slice(2)}`;
const bucketOf = (id: string): string => id.slice(0, 2);

/** Every request the store sends: method and, for queries, the $filter. */
interface RequestLog {
  policy: PipelinePolicy;
  gets(): number;
  writes(): number;
  filters(): string[];
  reset(): void;
}

function requestLog(): RequestLog {
  let log: { method: string; filter: string | null }[] = [];
  return {
    policy: {
      name: 'ledgerRequestLog',
      async sendRequest(request, next) {
        log.push({ method: request.method, filter: new URL(request.url).searchParams.get('$filter') });
        return next(request);
      },
    },
    gets: () => log.filter((entry) => entry.method === 'GET').length,
    writes: () => log.filter((entry) => entry.method !== 'GET').length,
    filters: () => log.flatMap((entry) => (entry.filter === null ? [] : [entry.filter])),
    reset: () => { log = []; },
  };
}

/**
 * Holds the first `parties` reads until all of them have their answer, so concurrent writers are
 * sure to read the same version of a row (as two processes may) before either writes.
 */
function readBarrier(parties: number): PipelinePolicy {
  let arrived = 0;
  let release = (): void => undefined;
  const everyoneRead = new Promise<void>((resolve) => { release = resolve; });
  return {
    name: 'readBarrier',
    async sendRequest(request, next) {
      const response = await next(request);
      if (request.method === 'GET' && arrived < parties) {
        arrived += 1;
        if (arrived === parties) release();
        await everyoneRead;
      }
      return response;
    },
  };
}

async function ledgerOnFreshStorage(): Promise<{ store: TableLedgerStore; target: StorageTarget; requests: RequestLog }> {
  const target = isolatedStorage();
  const requests = requestLog();
  const store = new TableLedgerStore(target, { additionalPolicies: [requests.policy] });
  await store.initialize();
  requests.reset();
  return { store, target, requests };
}

/** Sets the given entries (merged into what their buckets hold), one update over every bucket they touch. */
async function put(store: TableLedgerStore, scope: LedgerScope, entries: ReadonlyMap<string, LedgerEntry>, options: { preloaded?: LedgerRead } = {}): Promise<void> {
  const buckets = [...new Set([...entries.keys()].map(bucketOf))];
  await store.update(scope, buckets, (bucket, current) => {
    for (const [id, entry] of entries) if (bucketOf(id) === bucket) current.set(id, entry);
  }, summarize, options);
}

/** Entries by id over every bucket of a read. */
function flatten(read: LedgerRead): Map<string, LedgerEntry> {
  const out = new Map<string, LedgerEntry>();
  for (const entries of read.buckets.values()) for (const [id, entry] of entries) out.set(id, entry);
  return out;
}

async function ledgerRow(target: StorageTarget, scope: LedgerScope, bucket: string): Promise<Record<string, unknown> | undefined> {
  const partitionKey = `${scope.destination}|${scope.source}|${scope.kind}`;
  return (await rawRows(target, 'Ledger')).find((row) => row.partitionKey === partitionKey && row.rowKey === bucket);
}

const acknowledged = (hash: string): LedgerEntry => ({ a: hash, b: `base-${hash}`, w: 1 });
const retrying = (at: string): LedgerEntry => ({ w: 1, f: 2, e: 'HTTP 500 from the destination', r: at });
const pendingDeletion = (leftAt: string): LedgerEntry => ({ a: 'gone', l: leftAt });

describe('TableLedgerStore', () => {
  it('keeps each entry in the row of its bucket (the first two hex digits of the id) and reads it back by bucket', async () => {
    const { store, target } = await ledgerOnFreshStorage();
    const [low, mid1, mid2, high] = [idIn('00'), idIn('3a'), idIn('3a'), idIn('ff')];
    const entries = new Map<string, LedgerEntry>([
      [low, acknowledged('h-low')], [mid1, retrying('2030-01-01T00:00:00.000Z')], [mid2, acknowledged('h-mid2')], [high, pendingDeletion('2030-01-01T00:00:00.000Z')],
    ]);

    await put(store, USERS, entries);

    const read = await store.read(USERS, ['00', '3a', 'ff', '42']);
    expect(read.buckets.get('00')).toEqual(new Map([[low, entries.get(low)]]));
    expect(read.buckets.get('3a')).toEqual(new Map([[mid1, entries.get(mid1)], [mid2, entries.get(mid2)]]));
    expect(read.buckets.get('ff')).toEqual(new Map([[high, entries.get(high)]]));
    // A bucket never written reads as empty.
    expect(read.buckets.get('42')).toEqual(new Map());
    const rows = await rawRows(target, 'Ledger');
    expect(rows.map((row) => `${String(row.partitionKey)} ${String(row.rowKey)}`).sort()).toEqual(['west|contoso|users 00', 'west|contoso|users 3a', 'west|contoso|users ff']);
  });

  it("reads every bucket with read(scope, 'all') in one query, the absent ones as empty", async () => {
    const { store, requests } = await ledgerOnFreshStorage();
    const ids = ['01', '80', 'c4', 'fe'].map(idIn);
    await put(store, USERS, new Map(ids.map((id) => [id, acknowledged(id)])));
    requests.reset();

    const read = await store.read(USERS, 'all');

    expect(requests.gets()).toBe(1);
    expect(read.buckets.size).toBe(256);
    expect([...read.buckets].filter(([, entries]) => entries.size > 0).map(([bucket]) => bucket).sort()).toEqual(['01', '80', 'c4', 'fe']);
    expect(flatten(read)).toEqual(new Map(ids.map((id) => [id, acknowledged(id)])));
  });

  it('knows the absent buckets after a whole read: writing one of them with that read costs no further read', async () => {
    const { store, requests } = await ledgerOnFreshStorage();
    await put(store, USERS, new Map([[idIn('10'), acknowledged('x')]]));
    const all = await store.read(USERS, 'all');
    requests.reset();

    const fresh = idIn('b7');
    await put(store, USERS, new Map([[fresh, acknowledged('y')]]), { preloaded: all });

    expect(requests.gets()).toBe(0);
    expect(requests.writes()).toBe(1);
    expect((await store.read(USERS, ['b7'])).buckets.get('b7')).toEqual(new Map([[fresh, acknowledged('y')]]));
  });

  it('extends an earlier read with only the buckets it does not hold yet', async () => {
    const { store, requests } = await ledgerOnFreshStorage();
    const [a, b, c] = [idIn('00'), idIn('01'), idIn('02')];
    await put(store, USERS, new Map([[a, acknowledged('a')], [b, acknowledged('b')], [c, acknowledged('c')]]));
    requests.reset();

    const first = await store.read(USERS, ['00', '01']);
    expect(requests.gets()).toBe(1);
    requests.reset();

    const second = await store.read(USERS, ['01', '02'], { extend: first });

    expect(requests.gets()).toBe(1);
    const [filter] = requests.filters();
    expect(filter).toContain("'02'");
    expect(filter).not.toContain("'01'");
    expect(filter).not.toContain("'00'");
    expect(flatten(second)).toEqual(new Map([[a, acknowledged('a')], [b, acknowledged('b')], [c, acknowledged('c')]]));
    requests.reset();

    const third = await store.read(USERS, ['00', '02'], { extend: second });

    expect(requests.gets()).toBe(0);
    expect([...third.buckets.keys()].sort()).toEqual(['00', '01', '02']);
  });

  it('reads more buckets than one query can name, and only those', async () => {
    const { store } = await ledgerOnFreshStorage();
    const every = Array.from({ length: 40 }, (_, n) => idIn((n * 6).toString(16).padStart(2, '0')));
    await put(store, USERS, new Map(every.map((id) => [id, acknowledged(id)])));
    const asked = every.filter((_, n) => n % 2 === 0);

    const read = await store.read(USERS, [...asked.map(bucketOf), 'ff']);

    expect([...read.buckets.keys()].sort()).toEqual([...asked.map(bucketOf), 'ff'].sort());
    expect(flatten(read)).toEqual(new Map(asked.map((id) => [id, acknowledged(id)])));
  });

  it('writes all 256 buckets in one update, at most 100 rows a transaction', async () => {
    const { store, requests } = await ledgerOnFreshStorage();
    const ids = Array.from({ length: 256 }, (_, n) => idIn(n.toString(16).padStart(2, '0')));

    await put(store, USERS, new Map(ids.map((id) => [id, acknowledged(id)])));

    expect(requests.writes()).toBe(3);
    expect(flatten(await store.read(USERS, 'all'))).toEqual(new Map(ids.map((id) => [id, acknowledged(id)])));
    expect((await store.summaries(USERS)).size).toBe(256);
  });

  it('writes only the buckets whose entries changed, and nothing for a mutation that changes nothing', async () => {
    const { store, target, requests } = await ledgerOnFreshStorage();
    const [kept, changed] = [idIn('aa'), idIn('bb')];
    await put(store, USERS, new Map([[kept, acknowledged('k1')], [changed, acknowledged('c1')]]));
    const keptBefore = await ledgerRow(target, USERS, 'aa');
    const changedBefore = await ledgerRow(target, USERS, 'bb');
    requests.reset();

    await store.update(USERS, ['aa', 'bb'], (bucket, entries) => {
      if (bucket === 'bb') patchEntries(entries, changed, { a: 'c2' });
    }, summarize);

    expect(requests.writes()).toBe(1);
    expect((await ledgerRow(target, USERS, 'aa'))?.etag).toBe(keptBefore?.etag);
    expect((await ledgerRow(target, USERS, 'bb'))?.etag).not.toBe(changedBefore?.etag);
    expect(flatten(await store.read(USERS, ['aa', 'bb']))).toEqual(new Map([[kept, acknowledged('k1')], [changed, { ...acknowledged('c1'), a: 'c2' }]]));
    requests.reset();

    // The same entries set again, their fields in another order, and an absent bucket left empty.
    await store.update(USERS, ['aa', 'cc'], (bucket, entries) => {
      if (bucket === 'aa') entries.set(kept, { w: 1, b: 'base-k1', a: 'k1' });
    }, summarize);

    expect(requests.writes()).toBe(0);
    expect(await ledgerRow(target, USERS, 'cc')).toBeUndefined();
    expect((await ledgerRow(target, USERS, 'aa'))?.etag).toBe(keptBefore?.etag);
  });

  it('stores the summary as columns; summaries() returns them all, and with dueBy only the buckets due by then', async () => {
    const { store, target } = await ledgerOnFreshStorage();
    const january = idIn('0a');
    const february = idIn('0b');
    const deletion = idIn('0c');
    const settled = idIn('0d');
    const entries = new Map<string, LedgerEntry>([
      [january, retrying('2030-01-10T00:00:00.000Z')],
      [idIn('0a'), acknowledged('in-january-bucket')],
      [february, retrying('2030-02-10T00:00:00.000Z')],
      // Left scope on 2029-12-20: its 30-day grace ends 2030-01-19.
      [deletion, pendingDeletion('2029-12-20T00:00:00.000Z')],
      [settled, acknowledged('settled')],
    ]);
    await put(store, USERS, entries);

    const janBucket = new Map([...entries].filter(([id]) => bucketOf(id) === '0a'));
    expect(await ledgerRow(target, USERS, '0a')).toMatchObject({ due: '2030-01-10T00:00:00.000Z', pd: '', n: 1, w: 2, o: 1, p: 0, x: 1 });
    expect(await ledgerRow(target, USERS, '0c')).toMatchObject({ due: '2030-01-19T00:00:00.000Z', pd: '2030-01-19T00:00:00.000Z', n: 1, w: 0, o: 0, p: 1, x: 0 });
    expect(await ledgerRow(target, USERS, '0d')).toMatchObject({ due: '', pd: '', n: 1, w: 1, o: 0, p: 0, x: 0 });

    const all = await store.summaries(USERS);
    expect([...all.keys()].sort()).toEqual(['0a', '0b', '0c', '0d']);
    expect(all.get('0a')).toEqual(summarize(janBucket));
    expect(all.get('0a')).toEqual({ due: '2030-01-10T00:00:00.000Z', pendingDue: null, held: 1, wanted: 2, owed: 1, pending: 0, failed: 1 });
    expect(all.get('0d')).toEqual({ due: null, pendingDue: null, held: 1, wanted: 1, owed: 0, pending: 0, failed: 0 });

    expect([...(await store.summaries(USERS, { dueBy: new Date('2030-01-01T00:00:00.000Z') })).keys()]).toEqual([]);
    expect([...(await store.summaries(USERS, { dueBy: new Date('2030-01-10T00:00:00.000Z') })).keys()]).toEqual(['0a']);
    expect([...(await store.summaries(USERS, { dueBy: new Date('2030-01-31T00:00:00.000Z') })).keys()].sort()).toEqual(['0a', '0c']);
    const dueInMarch = await store.summaries(USERS, { dueBy: new Date('2030-03-01T00:00:00.000Z') });
    expect([...dueInMarch.keys()].sort()).toEqual(['0a', '0b', '0c']);
    expect(dueInMarch.get('0b')).toEqual(all.get('0b'));

    // Once the retry is acknowledged the bucket's summary is rewritten: nothing is due there any more.
    await store.update(USERS, ['0a'], (_bucket, current) => patchEntries(current, january, { a: 'h', f: null, e: null, r: null }), summarize);

    expect([...(await store.summaries(USERS, { dueBy: new Date('2030-01-31T00:00:00.000Z') })).keys()]).toEqual(['0c']);
    expect((await store.summaries(USERS)).get('0a')).toEqual({ due: null, pendingDue: null, held: 2, wanted: 2, owed: 0, pending: 0, failed: 0 });
  });

  it('keeps destinations, sources and kinds apart', async () => {
    const { store } = await ledgerOnFreshStorage();
    const scopes: LedgerScope[] = [
      USERS,
      { ...USERS, kind: 'groups' },
      { ...USERS, destination: 'west2' },
      { ...USERS, destination: 'wes' },
      { ...USERS, source: 'contoso2' },
    ];
    const id = idIn('5c');
    for (const [index, scope] of scopes.entries()) await put(store, scope, new Map([[id, acknowledged(`hash-${index}`)], [idIn(`6${index}`), acknowledged('other')]]));

    for (const [index, scope] of scopes.entries()) {
      const read = await store.read(scope, 'all');
      expect(read.buckets.get('5c')).toEqual(new Map([[id, acknowledged(`hash-${index}`)]]));
      expect(flatten(read).size).toBe(2);
      expect([...(await store.summaries(scope)).keys()].sort()).toEqual(['5c', `6${index}`]);
    }
    await store.update(scopes[1] ?? USERS, ['5c'], (_bucket, entries) => entries.delete(id), summarize);
    expect((await store.read(USERS, ['5c'])).buckets.get('5c')).toEqual(new Map([[id, acknowledged('hash-0')]]));
  });

  it('round-trips a bucket too large for one column (1,500 entries with long errors), and shrinks it again', async () => {
    const { store, target } = await ledgerOnFreshStorage();
    const error = `Signature 365 answered 422: ${'the record was refused because a field failed validation; '.repeat(3)}`;
    const entries = new Map<string, LedgerEntry>();
    for (let index = 0; index < 1_500; index += 1) entries.set(idIn('7c'), { w: 1, f: 3, e: `${error}#${index}`, r: '2030-01-01T00:00:00.000Z', qh: `hash-${index}` });

    await put(store, USERS, entries);

    const row = await ledgerRow(target, USERS, '7c');
    expect(row?.e).toMatch(/^#chunks:\d+$/);
    expect((await store.read(USERS, ['7c'])).buckets.get('7c')).toEqual(entries);
    expect((await store.summaries(USERS)).get('7c')).toMatchObject({ wanted: 1_500, failed: 1_500, owed: 1_500 });

    const [survivor] = entries.keys();
    await store.update(USERS, ['7c'], (_bucket, current) => {
      for (const id of [...current.keys()]) if (id !== survivor) current.delete(id);
    }, summarize);

    const shrunk = await ledgerRow(target, USERS, '7c');
    expect(shrunk?.e).not.toMatch(/^#chunks:/);
    expect(Object.keys(shrunk ?? {}).filter((column) => column.startsWith('e__'))).toEqual([]);
    expect([...((await store.read(USERS, ['7c'])).buckets.get('7c')?.keys() ?? [])]).toEqual([survivor]);
  });

  it('loses no update when two writers change the same bucket at once', async () => {
    const { store, target, requests } = await ledgerOnFreshStorage();
    const existing = idIn('9d');
    await put(store, USERS, new Map([[existing, acknowledged('old')]]));
    const [first, second] = [idIn('9d'), idIn('9d')];
    const barrier = readBarrier(2);
    const writer = (): TableLedgerStore => new TableLedgerStore(target, { additionalPolicies: [barrier, requests.policy] });
    requests.reset();

    await Promise.all([
      put(writer(), USERS, new Map([[first, acknowledged('first')]])),
      put(writer(), USERS, new Map([[second, acknowledged('second')]])),
    ]);

    // Both read the same row version: one write was refused by its ETag, read again and retried.
    expect(requests.writes()).toBe(3);

    expect((await store.read(USERS, ['9d'])).buckets.get('9d')).toEqual(new Map([
      [existing, acknowledged('old')], [first, acknowledged('first')], [second, acknowledged('second')],
    ]));
  });

  it('loses no update when several writers create the same bucket at once', async () => {
    const { store, target, requests } = await ledgerOnFreshStorage();
    const ids = Array.from({ length: 4 }, () => idIn('e1'));
    const barrier = readBarrier(ids.length);

    await Promise.all(ids.map((id) => put(new TableLedgerStore(target, { additionalPolicies: [barrier, requests.policy] }), USERS, new Map([[id, acknowledged(id)]]))));

    // All four found no row and tried to create it; only one create can win, the others read the row again and updated it.
    expect(requests.writes()).toBeGreaterThan(ids.length);

    expect((await store.read(USERS, ['e1'])).buckets.get('e1')).toEqual(new Map(ids.map((id) => [id, acknowledged(id)])));
  });

  it('saves the read with `preloaded` when nothing changed meanwhile, and reads again (losing nothing) when it did', async () => {
    const { store, requests } = await ledgerOnFreshStorage();
    const [mine, theirs, later] = [idIn('3f'), idIn('3f'), idIn('3f')];
    await put(store, USERS, new Map([[mine, acknowledged('v1')]]));
    const read = await store.read(USERS, ['3f']);
    requests.reset();

    await store.update(USERS, ['3f'], (_bucket, entries) => patchEntries(entries, mine, { a: 'v2' }), summarize, { preloaded: read });

    expect(requests.gets()).toBe(0);
    expect(requests.writes()).toBe(1);

    // Another writer changes the bucket; a write from the now stale read must not undo that.
    await put(store, USERS, new Map([[theirs, acknowledged('theirs')]]));
    requests.reset();
    let runs = 0;

    await store.update(USERS, ['3f'], (_bucket, entries) => {
      runs += 1;
      entries.set(later, acknowledged('later'));
    }, summarize, { preloaded: read });

    expect(runs).toBe(2);
    expect(requests.gets()).toBe(1);
    expect(requests.writes()).toBe(2);
    expect((await store.read(USERS, ['3f'])).buckets.get('3f')).toEqual(new Map([
      [mine, { ...acknowledged('v1'), a: 'v2' }], [theirs, acknowledged('theirs')], [later, acknowledged('later')],
    ]));
  });

  it('writes again every bucket of a transaction refused because one of them changed meanwhile', async () => {
    const { store } = await ledgerOnFreshStorage();
    const [quiet, busy, theirs] = [idIn('20'), idIn('21'), idIn('21')];
    await put(store, USERS, new Map([[quiet, acknowledged('q1')], [busy, acknowledged('b1')]]));
    const read = await store.read(USERS, ['20', '21']);
    await put(store, USERS, new Map([[theirs, acknowledged('theirs')]]));

    await store.update(USERS, ['20', '21'], (bucket, entries) => {
      if (bucket === '20') patchEntries(entries, quiet, { a: 'q2' });
      else patchEntries(entries, busy, { a: 'b2' });
    }, summarize, { preloaded: read });

    expect(flatten(await store.read(USERS, ['20', '21']))).toEqual(new Map([
      [quiet, { ...acknowledged('q1'), a: 'q2' }], [busy, { ...acknowledged('b1'), a: 'b2' }], [theirs, acknowledged('theirs')],
    ]));
  });

  it('creates a bucket another writer created since a whole read without overwriting it', async () => {
    const { store } = await ledgerOnFreshStorage();
    const all = await store.read(USERS, 'all');
    const [theirs, mine] = [idIn('c9'), idIn('c9')];
    await put(store, USERS, new Map([[theirs, acknowledged('theirs')]]));

    await put(store, USERS, new Map([[mine, acknowledged('mine')]]), { preloaded: all });

    expect((await store.read(USERS, ['c9'])).buckets.get('c9')).toEqual(new Map([[theirs, acknowledged('theirs')], [mine, acknowledged('mine')]]));
  });
});
