/**
 * The ledger under the interleavings issue 16 names, on Azurite, driven step by step: each writer
 * reads its buckets (the read it decides from, with the ETags), another writer lands, then the
 * first writes with that stale read. Bucket writes are ETag-conditional: the stale write fails,
 * the rows are read again and the writer's patch is applied to what the other left. These tests
 * prove that no acknowledgement is lost and that nothing ends in a state no plan ever looks at.
 *
 * The patches are the real ones: the planner's from `decideObject` (computed on the stale read, as
 * the plan would), the worker's from `outcomePatch` (computed on the rows as they are when written,
 * as processUpload and the in-process executor do).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TableLedgerStore } from '../../../src/store/ledgerStore';
import { entryDueAt, outcomePatch, patchEntries, summarizeEntries } from '../../../src/sync/ledgerPolicy';
import { decideObject } from '../../../src/sync/objectPlan';
import type { LedgerEntry, LedgerEntryPatch, LedgerRead, LedgerScope } from '../../../src/sync/ports';
import { isolatedStorage } from '../../support/storage';

const DELETE_AFTER_DAYS = 7;
const NOW = new Date('2026-03-01T12:00:00.000Z');
const LATER = new Date(NOW.getTime() + 60_000);
const USERS: LedgerScope = { destination: 'west', source: 'contoso', kind: 'users' };
const summarize = (entries: ReadonlyMap<string, LedgerEntry>) => summarizeEntries(entries, DELETE_AFTER_DAYS);

/** Two ids in one bucket, so every writer below contends for the same row. */
const bucket = 'a7';
const idIn = (): string => `${bucket}${randomUUID().slice(2)}`;

async function store(): Promise<TableLedgerStore> {
  const ledger = new TableLedgerStore(isolatedStorage());
  await ledger.initialize();
  return ledger;
}

async function seed(ledger: TableLedgerStore, entries: Record<string, LedgerEntry>): Promise<void> {
  await ledger.update(USERS, [bucket], (_b, map) => { for (const [id, entry] of Object.entries(entries)) map.set(id, entry); }, summarize);
}

async function entryOf(ledger: TableLedgerStore, id: string): Promise<LedgerEntry | undefined> {
  return (await ledger.read(USERS, [bucket])).buckets.get(bucket)?.get(id);
}

const readEntry = (read: LedgerRead, id: string) => read.buckets.get(bucket)?.get(id);

/** The planner's write: patches decided on `read`, written with `read` as the preloaded rows (its ETags). */
async function planWrites(ledger: TableLedgerStore, read: LedgerRead, patches: Record<string, LedgerEntryPatch>): Promise<void> {
  await ledger.update(USERS, [bucket], (_b, map) => { for (const [id, patch] of Object.entries(patches)) patchEntries(map, id, patch); }, summarize, { preloaded: read });
}

/** The worker's write of an acknowledgement, from the rows as they are then (`read`: its own earlier read, maybe stale). */
async function workerAcknowledges(ledger: TableLedgerStore, read: LedgerRead | undefined, id: string, item: { op: 'upsert' | 'delete'; hash: string }, at = NOW): Promise<void> {
  await ledger.update(USERS, [bucket], (_b, map) => patchEntries(map, id, outcomePatch(map.get(id), item, { kind: 'acknowledged' }, at)), summarize,
    read === undefined ? {} : { preloaded: read });
}

describe('ledger writes that interleave', () => {
  it('plan reads, worker acknowledges, plan writes "left scope": the entry keeps the acknowledgement and owes a delete', async () => {
    const ledger = await store();
    const user = idIn();
    await seed(ledger, { [user]: { w: 1, q: NOW.toISOString(), qh: 'H' } });

    const planRead = await ledger.read(USERS, [bucket]);
    await workerAcknowledges(ledger, undefined, user, { op: 'upsert', hash: 'H' });
    // The user left scope; the plan decides from what it read: never acknowledged, so "forget".
    const decision = decideObject(undefined, readEntry(planRead, user), NOW);
    await planWrites(ledger, planRead, { [user]: decision.patch ?? {} });

    const entry = await entryOf(ledger, user);
    expect(entry?.a).toBe('H');
    expect(entry?.w).toBeUndefined();
    // A pending deletion: it comes due when the grace period ends, and the deletion gate sees it.
    expect(entry?.l).toBe(NOW.toISOString());
    expect(entryDueAt(entry ?? {}, DELETE_AFTER_DAYS)).toBe(NOW.getTime() + DELETE_AFTER_DAYS * 86_400_000);
  });

  it('plan reads, worker acknowledges the delete, plan writes "back in scope": the entry is due at once, so the record is sent again', async () => {
    const ledger = await store();
    const user = idIn();
    await seed(ledger, { [user]: { a: 'H', l: NOW.toISOString(), q: NOW.toISOString(), qh: 'delete' } });

    const planRead = await ledger.read(USERS, [bucket]);
    await workerAcknowledges(ledger, undefined, user, { op: 'delete', hash: 'delete' });
    // Back in scope with the same record: the plan read "acknowledged H", so it sends nothing.
    const decision = decideObject({ hash: 'H' }, readEntry(planRead, user), NOW);
    expect(decision.send).toBe(false);
    await planWrites(ledger, planRead, { [user]: decision.patch ?? {} });

    const entry = await entryOf(ledger, user);
    expect(entry).toMatchObject({ w: 1 });
    expect(entry?.a).toBeUndefined();
    // Wanted and not held, with nothing queued: due now, so the next plan sends it.
    const due = entryDueAt(entry ?? {}, DELETE_AFTER_DAYS);
    expect(due).not.toBeNull();
    expect(due ?? Infinity).toBeLessThanOrEqual(LATER.getTime());
    expect(decideObject({ hash: 'H' }, entry, LATER).send).toBe(true);
  });

  it('worker reads, plan writes, worker writes: the plan\'s newer wish and the acknowledgement both stay', async () => {
    const ledger = await store();
    const user = idIn();
    await seed(ledger, { [user]: { w: 1, q: NOW.toISOString(), qh: 'H1' } });

    const workerRead = await ledger.read(USERS, [bucket]);
    // A newer record is queued while H1 is on the wire.
    await ledger.update(USERS, [bucket], (_b, map) => patchEntries(map, user, { q: LATER.toISOString(), qh: 'H2' }), summarize);
    await workerAcknowledges(ledger, workerRead, user, { op: 'upsert', hash: 'H1' });

    expect(await entryOf(ledger, user)).toMatchObject({ a: 'H1', w: 1, qh: 'H2', q: LATER.toISOString() });
  });

  it('plan and plan with stale reads: both plans\' patches land, and an acknowledgement neither wrote stays', async () => {
    const ledger = await store();
    const [held, joiner, leaver] = [idIn(), idIn(), idIn()];
    await seed(ledger, { [held]: { a: 'H', w: 1 }, [leaver]: { a: 'L', w: 1 } });

    const readA = await ledger.read(USERS, [bucket]);
    const readB = await ledger.read(USERS, [bucket]);
    await planWrites(ledger, readA, { [joiner]: decideObject({ hash: 'J' }, readEntry(readA, joiner), NOW).patch ?? {} });
    await planWrites(ledger, readB, { [leaver]: decideObject(undefined, readEntry(readB, leaver), NOW).patch ?? {} });

    const read = (await ledger.read(USERS, [bucket])).buckets.get(bucket);
    expect(read?.get(held)).toEqual({ a: 'H', w: 1 });
    expect(read?.get(joiner)).toEqual({ w: 1 });
    expect(read?.get(leaver)).toEqual({ a: 'L', l: NOW.toISOString() });
  });

  it('worker and worker with stale reads: both acknowledgements land, and a duplicate delivery changes nothing', async () => {
    const ledger = await store();
    const [first, second] = [idIn(), idIn()];
    await seed(ledger, { [first]: { w: 1, q: NOW.toISOString(), qh: 'F' }, [second]: { w: 1, q: NOW.toISOString(), qh: 'S' } });

    const readOne = await ledger.read(USERS, [bucket]);
    const readTwo = await ledger.read(USERS, [bucket]);
    await workerAcknowledges(ledger, readOne, first, { op: 'upsert', hash: 'F' });
    await workerAcknowledges(ledger, readTwo, second, { op: 'upsert', hash: 'S' });
    // The first message delivered again (at-least-once), with its own stale read.
    await workerAcknowledges(ledger, readOne, first, { op: 'upsert', hash: 'F' });

    const read = (await ledger.read(USERS, [bucket])).buckets.get(bucket);
    expect(read?.get(first)).toMatchObject({ a: 'F', w: 1 });
    expect(read?.get(second)).toMatchObject({ a: 'S', w: 1 });
    expect(Object.keys(read?.get(first) ?? {}).sort()).toEqual(['a', 't', 'w']);
  });
});
