import { describe, expect, it } from 'vitest';
import {
  applyEntryPatch, entryDueAt, graceEndsAt, isPendingDeletion, outcomePatch, patchEntries, REQUEUE_AFTER_IN_MS, retryDelayInMs,
  summarizeEntries, unsentDispatchPatch,
} from '../../../src/sync/ledgerPolicy';
import { decideObject } from '../../../src/sync/objectPlan';
import type { LedgerEntry } from '../../../src/sync/ports';

const NOW = new Date('2025-03-10T12:00:00.000Z');
const MINUTE_IN_MS = 60_000;
const HOUR_IN_MS = 3_600_000;
const DAY_IN_MS = 86_400_000;
const at = (offsetInMs: number) => new Date(NOW.getTime() + offsetInMs).toISOString();
const minutesAgo = (minutes: number) => at(-minutes * MINUTE_IN_MS);
const minutesFromNow = (minutes: number) => at(minutes * MINUTE_IN_MS);
const daysAgo = (days: number) => at(-days * DAY_IN_MS);
const ms = (iso: string) => Date.parse(iso);

describe('applyEntryPatch', () => {
  it('sets the fields given, removes those set to null and leaves the others alone', () => {
    const entry: LedgerEntry = { a: 'h1', b: 'b1', w: 1, f: 2, e: '500' };
    expect(applyEntryPatch(entry, { a: 'h2', f: null, e: null, b: undefined })).toEqual({ a: 'h2', b: 'b1', w: 1 });
  });

  it('does not change the entry it was given', () => {
    const entry: LedgerEntry = { a: 'h1', w: 1 };
    applyEntryPatch(entry, { a: null, q: NOW.toISOString() });
    expect(entry).toEqual({ a: 'h1', w: 1 });
  });

  it('creates the entry of an object wanted for the first time', () => {
    expect(applyEntryPatch(undefined, { w: 1 })).toEqual({ w: 1 });
  });

  it('drops an entry that is neither acknowledged nor wanted, whatever else it carried', () => {
    expect(applyEntryPatch(undefined, {})).toBeUndefined();
    expect(applyEntryPatch(undefined, { f: 1, e: '400' })).toBeUndefined();
    expect(applyEntryPatch({ w: 1, f: 2, e: '400', q: minutesAgo(1), qh: 'h1' }, { w: null })).toBeUndefined();
    expect(applyEntryPatch({ a: 'h1', l: daysAgo(9), q: minutesAgo(1), qh: 'delete' }, { a: null })).toBeUndefined();
  });

  it('keeps an acknowledged object that left scope, with its pending deletion', () => {
    expect(applyEntryPatch({ a: 'h1', w: 1 }, { w: null, l: NOW.toISOString() })).toEqual({ a: 'h1', l: NOW.toISOString() });
    expect(applyEntryPatch({ a: 'h1', l: daysAgo(9) }, { h: minutesFromNow(60) })).toEqual({ a: 'h1', l: daysAgo(9), h: minutesFromNow(60) });
  });

  it('clears the pending deletion (l, h) when the object is wanted again', () => {
    expect(applyEntryPatch({ a: 'h1', l: daysAgo(9), h: minutesFromNow(60) }, { w: 1 })).toEqual({ a: 'h1', w: 1 });
  });

  it('clears the pending deletion once the destination no longer holds the object', () => {
    expect(applyEntryPatch({ a: 'h1', l: daysAgo(9), h: minutesFromNow(60) }, { a: null, w: 1 })).toEqual({ w: 1 });
  });
});

describe('patchEntries', () => {
  it('writes the patched entry into the map, and removes it when nothing is left', () => {
    const entries = new Map<string, LedgerEntry>([['u1', { a: 'h1', w: 1 }], ['u2', { w: 1 }]]);
    patchEntries(entries, 'u1', { a: 'h2' });
    patchEntries(entries, 'u2', { w: null });
    patchEntries(entries, 'u3', { w: 1 });
    expect([...entries]).toEqual([['u1', { a: 'h2', w: 1 }], ['u3', { w: 1 }]]);
  });
});

describe('pending deletions', () => {
  it('are acknowledged objects no longer wanted, with the time they left', () => {
    expect(isPendingDeletion({ a: 'h1', l: daysAgo(1) })).toBe(true);
    expect(isPendingDeletion({ a: 'h1', w: 1, l: daysAgo(1) })).toBe(false);
    expect(isPendingDeletion({ l: daysAgo(1) })).toBe(false);
    expect(isPendingDeletion({ a: 'h1' })).toBe(false);
  });

  it('end their grace period DeleteAfterDays after they left', () => {
    expect(graceEndsAt({ a: 'h1', l: daysAgo(3) }, 7)).toBe(NOW.getTime() + 4 * DAY_IN_MS);
    expect(graceEndsAt({ a: 'h1', l: daysAgo(3) }, 0)).toBe(ms(daysAgo(3)));
    expect(graceEndsAt({ a: 'h1', w: 1 }, 7)).toBeNull();
  });
});

describe('entryDueAt', () => {
  it('is due at once when work is owed but nothing is scheduled (left by interleaved writers)', () => {
    expect(entryDueAt({ w: 1 }, 7)).toBe(0);
    expect(entryDueAt({ a: 'h1' }, 7)).toBe(0);
    expect(entryDueAt({ w: 1, q: minutesAgo(10), qh: 'h1' }, 7)).toBe(ms(minutesFromNow(20)));
    expect(entryDueAt({ a: 'h1', l: daysAgo(3) }, 7)).toBe(NOW.getTime() + 4 * DAY_IN_MS);
  });

  it('is never for an acknowledged, wanted entry with nothing failed or queued', () => {
    expect(entryDueAt({ a: 'h1', b: 'b1', w: 1 }, 7)).toBeNull();
  });

  it('is the retry time after a failure or a quarantine', () => {
    expect(entryDueAt({ a: 'h1', w: 1, qh: 'h2', f: 3, r: minutesFromNow(4) }, 7)).toBe(ms(minutesFromNow(4)));
  });

  it('is 30 minutes after queued work was queued', () => {
    expect(REQUEUE_AFTER_IN_MS).toBe(30 * MINUTE_IN_MS);
    expect(entryDueAt({ w: 1, q: minutesAgo(10), qh: 'h1' }, 7)).toBe(ms(minutesFromNow(20)));
  });

  it('is the end of the grace period for a pending deletion', () => {
    expect(entryDueAt({ a: 'h1', l: daysAgo(3) }, 7)).toBe(NOW.getTime() + 4 * DAY_IN_MS);
    expect(entryDueAt({ a: 'h1', l: daysAgo(3) }, 0)).toBe(ms(daysAgo(3)));
  });

  it('is the later of the grace end and the hold re-check for a held deletion', () => {
    expect(entryDueAt({ a: 'h1', l: daysAgo(30), h: minutesFromNow(60) }, 7)).toBe(ms(minutesFromNow(60)));
    expect(entryDueAt({ a: 'h1', l: daysAgo(3), h: minutesFromNow(60) }, 7)).toBe(NOW.getTime() + 4 * DAY_IN_MS);
  });

  it('is the earliest of everything that applies', () => {
    expect(entryDueAt({ a: 'h1', w: 1, q: minutesAgo(20), qh: 'h2', r: minutesFromNow(2) }, 7)).toBe(ms(minutesFromNow(2)));
    expect(entryDueAt({ a: 'h1', l: daysAgo(3), q: minutesAgo(20), qh: 'delete' }, 7)).toBe(ms(minutesFromNow(10)));
    expect(entryDueAt({ a: 'h1', l: daysAgo(30), q: minutesAgo(20), qh: 'delete', r: minutesFromNow(2) }, 7)).toBe(ms(daysAgo(23)));
  });
});

describe('summarizeEntries', () => {
  it('is empty for an empty bucket', () => {
    expect(summarizeEntries(new Map(), 7)).toEqual({ due: null, pendingDue: null, held: 0, wanted: 0, owed: 0, pending: 0, failed: 0 });
  });

  it('counts held, wanted, owed, pending and failed entries, with the earliest due time and grace end', () => {
    const entries = new Map<string, LedgerEntry>([
      ['synced', { a: 'h1', b: 'b1', w: 1 }],
      ['new', { w: 1, q: minutesAgo(10), qh: 'h1' }],
      ['changed', { a: 'h1', w: 1, q: minutesAgo(40), qh: 'h2' }],
      ['failed', { a: 'h1', w: 1, qh: 'h2', f: 2, e: '500', r: minutesFromNow(1) }],
      ['deferred', { a: 'h1', w: 1, qh: 'h2', r: minutesFromNow(90) }],
      ['leaving', { a: 'h1', l: daysAgo(3) }],
      ['held', { a: 'h1', l: daysAgo(30), h: minutesFromNow(60) }],
    ]);
    expect(summarizeEntries(entries, 7)).toEqual({
      // "changed" was queued 40 minutes ago: due for re-queueing 10 minutes ago.
      due: minutesAgo(10),
      // "held" is rechecked in an hour, but its grace period ended 23 days ago.
      pendingDue: daysAgo(23),
      held: 6,
      wanted: 5,
      owed: 4,
      pending: 2,
      failed: 1,
    });
  });

  it('leaves due times to the entries that have them', () => {
    const summary = summarizeEntries(new Map([['synced', { a: 'h1', w: 1 as const }], ['leaving', { a: 'h1', l: daysAgo(1) }]]), 7);
    expect(summary).toMatchObject({ due: at(6 * DAY_IN_MS), pendingDue: at(6 * DAY_IN_MS), pending: 1, owed: 0 });
  });
});

describe('retryDelayInMs', () => {
  it('retries the first failure at the next run, then after 1 minute doubling, at most 24 hours', () => {
    expect([0, 1, 2, 3, 4, 5].map(retryDelayInMs)).toEqual([0, 0, MINUTE_IN_MS, 2 * MINUTE_IN_MS, 4 * MINUTE_IN_MS, 8 * MINUTE_IN_MS]);
    expect(retryDelayInMs(12)).toBe(1024 * MINUTE_IN_MS);
    expect(retryDelayInMs(13)).toBe(24 * HOUR_IN_MS);
    expect(retryDelayInMs(1_000)).toBe(24 * HOUR_IN_MS);
  });
});

describe('outcomePatch', () => {
  const upsert = (hash: string, baseHash?: string) => ({ op: 'upsert' as const, hash, ...(baseHash !== undefined ? { baseHash } : {}) });
  const remove = { op: 'delete' as const, hash: 'delete' };
  const apply = (entry: LedgerEntry | undefined, patch: ReturnType<typeof outcomePatch>) => applyEntryPatch(entry, patch);

  describe('acknowledged', () => {
    it('records the upsert\'s hash and base hash, and clears its failures and queued marker', () => {
      const entry: LedgerEntry = { a: 'h1', b: 'b1', w: 1, q: minutesAgo(2), qh: 'h2', f: 2, e: '500', r: minutesAgo(1) };
      const patch = outcomePatch(entry, upsert('h2', 'b2'), { kind: 'acknowledged' }, NOW);
      expect(patch).toEqual({ q: null, qh: null, a: 'h2', b: 'b2', fp: null, t: NOW.toISOString(), f: null, e: null, r: null });
      const after = apply(entry, patch);
      expect(after).toEqual({ a: 'h2', b: 'b2', w: 1, t: NOW.toISOString() });
      expect(after !== undefined && entryDueAt(after, 7)).toBeNull();
      expect(decideObject({ hash: 'h2' }, after, NOW)).toEqual({ send: false, waiting: false });
    });

    it('records no base hash for a group', () => {
      expect(apply({ w: 1, q: minutesAgo(1), qh: 'g1' }, outcomePatch({ w: 1, q: minutesAgo(1), qh: 'g1' }, upsert('g1'), { kind: 'acknowledged' }, NOW)))
        .toEqual({ a: 'g1', w: 1, t: NOW.toISOString() });
    });

    it('keeps the acknowledged record\'s field fingerprints, and drops an earlier record\'s when the new one has none', () => {
      const entry: LedgerEntry = { a: 'h1', fp: 'old', t: minutesAgo(60), w: 1 };
      expect(apply(entry, outcomePatch(entry, { ...upsert('h2'), fp: 'new' }, { kind: 'acknowledged' }, NOW))).toEqual({ a: 'h2', fp: 'new', t: NOW.toISOString(), w: 1 });
      expect(apply(entry, outcomePatch(entry, upsert('h3'), { kind: 'acknowledged' }, NOW))).toEqual({ a: 'h3', t: NOW.toISOString(), w: 1 });
    });

    it('forgets an object whose deletion the destination acknowledged', () => {
      const entry: LedgerEntry = { a: 'h1', b: 'b1', l: daysAgo(9), h: minutesAgo(5), q: minutesAgo(1), qh: 'delete', f: 1, e: '503' };
      const patch = outcomePatch(entry, remove, { kind: 'acknowledged' }, NOW);
      expect(patch).toEqual({ q: null, qh: null, a: null, b: null, fp: null, t: null, l: null, h: null, f: null, e: null, r: null });
      expect(apply(entry, patch)).toBeUndefined();
    });

    it('makes an object wanted again since its deletion was queued due at once, to be sent again', () => {
      const entry: LedgerEntry = { a: 'h1', b: 'b1', w: 1, q: minutesAgo(1), qh: 'delete' };
      const after = apply(entry, outcomePatch(entry, remove, { kind: 'acknowledged' }, NOW));
      expect(after).toEqual({ w: 1, r: NOW.toISOString() });
      expect(after !== undefined && entryDueAt(after, 7)).toBe(NOW.getTime());
      expect(decideObject({ hash: 'h1' }, after, NOW)).toEqual({ send: true, waiting: false });
    });
  });

  describe('failed', () => {
    it('counts the failure, keeps the error and backs off the record that failed', () => {
      const entry: LedgerEntry = { a: 'h1', w: 1, q: minutesAgo(1), qh: 'h2', f: 2, e: 'old' };
      const patch = outcomePatch(entry, upsert('h2', 'b2'), { kind: 'failed', error: '400: bad mail' }, NOW);
      expect(patch).toEqual({ q: null, qh: 'h2', f: 3, e: '400: bad mail', r: at(2 * MINUTE_IN_MS) });
      const after = apply(entry, patch);
      expect(after).toEqual({ a: 'h1', w: 1, qh: 'h2', f: 3, e: '400: bad mail', r: at(2 * MINUTE_IN_MS) });
      expect(decideObject({ hash: 'h2' }, after, NOW)).toEqual({ send: false, waiting: true });
      expect(decideObject({ hash: 'h3' }, after, NOW)).toEqual({ send: true, waiting: false });
      expect(decideObject({ hash: 'h2' }, after, new Date(NOW.getTime() + 2 * MINUTE_IN_MS))).toEqual({ send: true, waiting: false });
    });

    it('retries a first failure at the next run', () => {
      const entry: LedgerEntry = { w: 1, q: minutesAgo(1), qh: 'h1' };
      const after = apply(entry, outcomePatch(entry, upsert('h1', 'b1'), { kind: 'failed', error: '503' }, NOW));
      expect(after).toEqual({ w: 1, qh: 'h1', f: 1, e: '503', r: NOW.toISOString() });
      expect(decideObject({ hash: 'h1' }, after, NOW)).toEqual({ send: true, waiting: false });
    });

    it('keys the backoff to the record when nothing was queued (the in-process path)', () => {
      expect(outcomePatch({ w: 1 }, upsert('h1'), { kind: 'failed', error: '500' }, NOW)).toEqual({ qh: 'h1', f: 1, e: '500', r: NOW.toISOString() });
    });

    it('keeps at most 300 characters of the error', () => {
      const patch = outcomePatch({ w: 1 }, upsert('h1'), { kind: 'failed', error: 'x'.repeat(1_000) }, NOW);
      expect(patch.e).toBe('x'.repeat(300));
    });
  });

  describe('deferred', () => {
    it('waits for the end of the quarantine without counting a failure', () => {
      const entry: LedgerEntry = { a: 'h1', w: 1, q: minutesAgo(1), qh: 'h2', f: 1, e: '500' };
      const until = minutesFromNow(45);
      const patch = outcomePatch(entry, upsert('h2'), { kind: 'deferred', until }, NOW);
      expect(patch).toEqual({ q: null, qh: 'h2', r: until });
      const after = apply(entry, patch);
      expect(after).toEqual({ a: 'h1', w: 1, qh: 'h2', f: 1, e: '500', r: until });
      expect(after !== undefined && entryDueAt(after, 7)).toBe(ms(until));
      expect(decideObject({ hash: 'h2' }, after, NOW)).toEqual({ send: false, waiting: true });
    });
  });

  it('does not clear the queued marker of a newer record when an older one is acknowledged', () => {
    const entry: LedgerEntry = { a: 'h0', w: 1, q: minutesAgo(1), qh: 'h2' };
    const patch = outcomePatch(entry, upsert('h1', 'b1'), { kind: 'acknowledged' }, NOW);
    expect(patch).not.toHaveProperty('q');
    expect(patch).not.toHaveProperty('qh');
    const after = apply(entry, patch);
    expect(after).toEqual({ a: 'h1', b: 'b1', t: NOW.toISOString(), w: 1, q: minutesAgo(1), qh: 'h2' });
    expect(decideObject({ hash: 'h2' }, after, NOW)).toEqual({ send: false, waiting: true });
  });

  it('does not take over the queued marker of a newer record when an older one fails or is deferred', () => {
    const entry: LedgerEntry = { a: 'h0', w: 1, q: minutesAgo(1), qh: 'h2' };
    const failed = apply(entry, outcomePatch(entry, upsert('h1', 'b1'), { kind: 'failed', error: '500' }, NOW));
    expect(failed).toMatchObject({ qh: 'h2', q: minutesAgo(1), f: 1, e: '500' });
    expect(failed?.r).toBeUndefined();
    // The newer record's message still finds it queued and owed, and sends it.
    expect(decideObject({ hash: 'h2' }, failed, NOW)).toEqual({ send: false, waiting: true });
    const deferred = apply(entry, outcomePatch(entry, upsert('h1', 'b1'), { kind: 'deferred', until: NOW.toISOString() }, NOW));
    expect(deferred).toEqual(entry);
  });
});

describe('unsentDispatchPatch', () => {
  const q = '2030-01-01T10:00:00.000Z';
  const now = new Date('2030-01-01T10:02:00.000Z');

  it('dates a mark left by a crashed dispatch back, so the entry is due now and no longer in flight', () => {
    const entry: LedgerEntry = { w: 1, q, qh: 'h2', a: 'h1' };
    const patch = unsentDispatchPatch(entry, q);
    const next = applyEntryPatch(entry, patch ?? {});
    if (next === undefined) throw new Error('entry vanished');
    expect(next.qh).toBe('h2');
    expect(entryDueAt(next, 30)).toBeLessThanOrEqual(now.getTime());
    expect(decideObject({ hash: 'h2' }, next, now)).toMatchObject({ send: true, waiting: false });
    // Without the patch the same entry waits for the 30-minute re-queue check.
    expect(decideObject({ hash: 'h2' }, entry, now)).toMatchObject({ send: false, waiting: true });
  });

  it('leaves an entry marked by another dispatch, or acknowledged since, alone', () => {
    expect(unsentDispatchPatch({ w: 1, q: '2030-01-01T10:01:00.000Z', qh: 'h2' }, q)).toBeUndefined();
    expect(unsentDispatchPatch({ w: 1, a: 'h2' }, q)).toBeUndefined();
  });
});
