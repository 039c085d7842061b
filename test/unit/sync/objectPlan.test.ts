import { describe, expect, it } from 'vitest';
import { applyEntryPatch } from '../../../src/sync/ledgerPolicy';
import { decideObject, inFlightOrBackingOff, type DesiredObject } from '../../../src/sync/objectPlan';
import type { LedgerEntry } from '../../../src/sync/ports';

const NOW = new Date('2025-03-10T12:00:00.000Z');
const MINUTE_IN_MS = 60_000;
const DAY_IN_MS = 86_400_000;
const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * MINUTE_IN_MS).toISOString();
const minutesFromNow = (minutes: number) => minutesAgo(-minutes);
const daysAgo = (days: number) => minutesAgo((days * DAY_IN_MS) / MINUTE_IN_MS);

const want = (hash: string): DesiredObject => ({ hash });
/** An object the destination acknowledged with `hash` and that is still wanted there. */
const synced = (hash: string, fields: LedgerEntry = {}): LedgerEntry => ({ a: hash, w: 1, ...fields });
/** An acknowledged object that left scope `days` days ago: a pending deletion. */
const leftDaysAgo = (hash: string, days: number, fields: LedgerEntry = {}): LedgerEntry => ({ a: hash, l: daysAgo(days), ...fields });

describe('decideObject: a wanted object', () => {
  it('does nothing when the destination acknowledged this exact record', () => {
    expect(decideObject(want('h1'), synced('h1'), NOW)).toEqual({ send: false, waiting: false });
  });

  it('sends a new object and marks it wanted', () => {
    expect(decideObject(want('h1'), undefined, NOW)).toEqual({ patch: { w: 1 }, send: true, waiting: false });
  });

  it('sends a changed object, leaving the acknowledgement to the upload side', () => {
    expect(decideObject(want('h2'), synced('h1'), NOW)).toEqual({ send: true, waiting: false });
  });

  it('marks an object that comes back wanted again and cancels its pending deletion, without sending it', () => {
    const held = leftDaysAgo('h1', 9, { h: minutesFromNow(30) });
    expect(decideObject(want('h1'), held, NOW)).toEqual({ patch: { w: 1, l: null, h: null }, send: false, waiting: false });
  });

  it('sends an object that comes back with a changed record', () => {
    expect(decideObject(want('h2'), leftDaysAgo('h1', 3), NOW)).toEqual({ patch: { w: 1, l: null }, send: true, waiting: false });
  });

  it('sends an object whose deletion the destination acknowledged and that is wanted again', () => {
    // What outcomePatch leaves when a delete is acknowledged for an object wanted meanwhile.
    expect(decideObject(want('h1'), { w: 1, r: NOW.toISOString() }, NOW)).toEqual({ send: true, waiting: false });
  });

  describe('in flight', () => {
    it('waits for the same record queued less than 30 minutes ago: a backlog is not multiplied by every run', () => {
      const queued = synced('h1', { q: minutesAgo(29), qh: 'h2' });
      expect(decideObject(want('h2'), queued, NOW)).toEqual({ send: false, waiting: true });
    });

    it('sends it again once it was queued 30 minutes ago (a lost or poisoned message is re-driven)', () => {
      const queued = synced('h1', { q: minutesAgo(30), qh: 'h2' });
      expect(decideObject(want('h2'), queued, NOW)).toEqual({ send: true, waiting: false });
    });

    it('sends a newer record at once although an older one is queued', () => {
      const queued = synced('h1', { q: minutesAgo(1), qh: 'h2' });
      expect(decideObject(want('h3'), queued, NOW)).toEqual({ send: true, waiting: false });
    });

    it('waits for a new object queued a moment ago, still marking it wanted', () => {
      expect(decideObject(want('h1'), { q: minutesAgo(1), qh: 'h1' }, NOW)).toEqual({ patch: { w: 1 }, send: false, waiting: true });
    });
  });

  describe('after a failure', () => {
    const failed = synced('h1', { qh: 'h2', f: 3, e: '400: bad mail', r: minutesFromNow(2) });

    it('waits out the backoff of the record that failed', () => {
      expect(decideObject(want('h2'), failed, NOW)).toEqual({ send: false, waiting: true });
    });

    it('sends a different record at once: the backoff belongs to the record that failed', () => {
      expect(decideObject(want('h3'), failed, NOW)).toEqual({ send: true, waiting: false });
    });

    it('sends the record again once its retry time has come', () => {
      expect(decideObject(want('h2'), { ...failed, r: NOW.toISOString() }, NOW)).toEqual({ send: true, waiting: false });
    });

    it('does nothing for a failed record that was acknowledged after all', () => {
      expect(decideObject(want('h2'), { ...failed, a: 'h2' }, NOW)).toEqual({ send: false, waiting: false });
    });
  });
});

describe('decideObject: an object no longer wanted', () => {
  it('does nothing for an object the ledger does not know', () => {
    expect(decideObject(undefined, undefined, NOW)).toEqual({ send: false, waiting: false });
  });

  it('forgets the wish for an object the destination never acknowledged, failures and all', () => {
    const neverAcknowledged: LedgerEntry = { w: 1, f: 2, e: '400', r: minutesFromNow(5), q: minutesAgo(3), qh: 'h1' };
    const decision = decideObject(undefined, neverAcknowledged, NOW);
    expect(decision).toEqual({ patch: { w: null, l: NOW.toISOString() }, send: false, waiting: false });
    expect(applyEntryPatch(neverAcknowledged, decision.patch ?? {})).toBeUndefined();
  });

  it('turns "forget" into a pending deletion when an acknowledgement landed after the plan read the entry', () => {
    const read: LedgerEntry = { w: 1, q: minutesAgo(1), qh: 'h1' };
    const decision = decideObject(undefined, read, NOW);
    // What the worker left by the time the plan's write is applied (the ETag made it read again).
    const acknowledged: LedgerEntry = { w: 1, a: 'h1' };
    expect(applyEntryPatch(acknowledged, decision.patch ?? {})).toEqual({ a: 'h1', l: NOW.toISOString() });
  });

  it('makes an acknowledged object a deletion candidate from the moment it left scope: now', () => {
    const decision = decideObject(undefined, synced('h1'), NOW);
    expect(decision).toEqual({ patch: { w: null, l: NOW.toISOString() }, send: false, waiting: false, deletionCandidate: NOW.toISOString() });
    expect(applyEntryPatch(synced('h1'), decision.patch ?? {})).toEqual({ a: 'h1', l: NOW.toISOString() });
  });

  it('keeps the moment it left while the deletion waits, and patches nothing', () => {
    const waiting = leftDaysAgo('h1', 3, { h: minutesFromNow(10) });
    expect(decideObject(undefined, waiting, NOW)).toEqual({ send: false, waiting: false, deletionCandidate: daysAgo(3) });
  });

  it('starts the clock now for an acknowledged object that is neither wanted nor marked as left', () => {
    expect(decideObject(undefined, { a: 'h1' }, NOW)).toEqual({ patch: { l: NOW.toISOString() }, send: false, waiting: false, deletionCandidate: NOW.toISOString() });
  });

  it('does not take a leftover leave time on a wanted entry: it left now', () => {
    expect(decideObject(undefined, synced('h1', { l: daysAgo(30) }), NOW)).toEqual({
      patch: { w: null, l: NOW.toISOString() }, send: false, waiting: false, deletionCandidate: NOW.toISOString(),
    });
  });
});

describe('decideObject planned twice', () => {
  const cases: [string, DesiredObject | undefined, LedgerEntry | undefined][] = [
    ['new', want('h1'), undefined],
    ['changed', want('h2'), synced('h1')],
    ['unchanged', want('h1'), synced('h1')],
    ['back in scope', want('h1'), leftDaysAgo('h1', 3, { h: minutesFromNow(5) })],
    ['back in scope, changed', want('h2'), leftDaysAgo('h1', 3)],
    ['in flight', want('h2'), synced('h1', { q: minutesAgo(5), qh: 'h2' })],
    ['left scope', undefined, synced('h1')],
    ['left scope earlier', undefined, leftDaysAgo('h1', 3)],
    ['never acknowledged', undefined, { w: 1, f: 1 }],
  ];

  it.each(cases)('writes nothing the second time over the first plan\'s entry (%s)', (_name, desired, entry) => {
    const first = decideObject(desired, entry, NOW);
    const after = first.patch === undefined ? entry : applyEntryPatch(entry, first.patch);
    const later = new Date(NOW.getTime() + MINUTE_IN_MS);
    const second = decideObject(desired, after, later);
    expect(second.patch).toBeUndefined();
    expect(second.send).toBe(first.send);
    expect(second.deletionCandidate).toBe(first.deletionCandidate);
  });
});

describe('inFlightOrBackingOff', () => {
  it('holds for the work last queued within 30 minutes, and only for it', () => {
    const queued: LedgerEntry = { a: 'h1', q: minutesAgo(10), qh: 'delete' };
    expect(inFlightOrBackingOff(queued, 'delete', NOW)).toBe(true);
    expect(inFlightOrBackingOff(queued, 'h2', NOW)).toBe(false);
    expect(inFlightOrBackingOff({ ...queued, q: minutesAgo(30) }, 'delete', NOW)).toBe(false);
  });

  it('holds while a retry time is ahead, for the work that failed', () => {
    expect(inFlightOrBackingOff({ qh: 'h2', r: minutesFromNow(1) }, 'h2', NOW)).toBe(true);
    expect(inFlightOrBackingOff({ qh: 'h2', r: NOW.toISOString() }, 'h2', NOW)).toBe(false);
    expect(inFlightOrBackingOff({ r: minutesFromNow(1) }, 'h2', NOW)).toBe(false);
  });

  it('does not hold for an unknown entry, or times it cannot read', () => {
    expect(inFlightOrBackingOff(undefined, 'h1', NOW)).toBe(false);
    expect(inFlightOrBackingOff({ qh: 'h1', q: 'not a date', r: 'soon' }, 'h1', NOW)).toBe(false);
  });
});
