import { describe, expect, it } from 'vitest';
import type { UploadRow } from '../../../src/sync/ports';
import { planDestination, type DeletionPolicy, type DesiredRecord, type DestinationPlanInput } from '../../../src/sync/uploadPlan';

const NOW = new Date('2025-03-10T12:00:00.000Z');
const DAY_IN_MS = 86_400_000;
const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY_IN_MS).toISOString();

/** The record for hash `h`: the plan copies it into the ledger row, so it is derived from the hash. */
const want = (hash: string): DesiredRecord => ({ hash, record: `{"v":"${hash}"}` });
/** The marker a plan leaves on work it queues now. */
const sentNow = (what: string) => ({ what, at: NOW.toISOString() });

/** A ledger row the destination acknowledged with `hash` and still should hold. */
function synced(id: string, hash: string, fields: Partial<UploadRow> = {}): UploadRow {
  return { id, desiredHash: hash, desiredRecord: want(hash).record, ackHash: hash, leftScopeAt: null, deleteApproved: false, failures: 0, lastError: null, dispatched: null, ...fields };
}

/** No threshold: these cases are about the ledger; the gate's own table is in deletionGate.test.ts. */
const NO_THRESHOLD: DeletionPolicy = { deletedLast24h: 0, threshold: { kind: 'off' }, thresholdMax: 500 };

function plan(desired: Record<string, DesiredRecord>, ledger: UploadRow[], fields: Partial<DestinationPlanInput> = {}) {
  return planDestination({
    desired: new Map(Object.entries(desired)),
    ledger: new Map(ledger.map((row) => [row.id, row])),
    now: NOW,
    deleteAfterDays: 7,
    deletionPolicy: NO_THRESHOLD,
    ...fields,
  });
}

describe('planDestination', () => {
  it('sends a new object and records the wish with no acknowledgement yet', () => {
    const result = plan({ u1: want('h1') }, []);
    expect(result.upserts).toEqual(['u1']);
    expect(result.rowsToWrite).toEqual([
      { id: 'u1', desiredHash: 'h1', desiredRecord: '{"v":"h1"}', ackHash: null, leftScopeAt: null, deleteApproved: false, failures: 0, lastError: null, dispatched: sentNow('h1') },
    ]);
  });

  it('sends a changed object and keeps the old acknowledgement until the destination confirms the new one', () => {
    const result = plan({ u1: want('h2') }, [synced('u1', 'h1')]);
    expect(result.upserts).toEqual(['u1']);
    expect(result.rowsToWrite).toEqual([synced('u1', 'h1', { desiredHash: 'h2', desiredRecord: '{"v":"h2"}', dispatched: sentNow('h2') })]);
  });

  it('neither sends nor writes anything for an unchanged object', () => {
    const result = plan({ u1: want('h1'), u2: want('h2') }, [synced('u1', 'h1'), synced('u2', 'h2')]);
    expect(result).toMatchObject({ upserts: [], deletes: [], unchanged: 2, rowsToWrite: [] });
    expect(result.gate.status).toBe('noChanges');
  });

  it('writes zero rows when planned twice: the second plan of the first plan\'s ledger is a no-op', () => {
    const first = plan({ u1: want('h1'), u2: want('h2') }, [synced('gone', 'h9')]);
    const ledgerAfterFirst = new Map<string, UploadRow>([['gone', synced('gone', 'h9')]]);
    for (const row of first.rowsToWrite) ledgerAfterFirst.set(row.id, row);
    const second = plan({ u1: want('h1'), u2: want('h2') }, [...ledgerAfterFirst.values()]);
    expect(first.rowsToWrite.length).toBeGreaterThan(0);
    expect(second.rowsToWrite).toEqual([]);
    // Not yet acknowledged: still owed, so still sent (a lost message is healed by the next plan).
    expect(second.upserts).toEqual(['u1', 'u2']);
  });

  it('queues again an object whose last upload failed (the failure cleared its dispatch marker)', () => {
    const failed = synced('u1', 'h1', { desiredHash: 'h2', desiredRecord: '{"v":"h2"}', failures: 1, lastError: '400: bad mail' });
    const result = plan({ u1: want('h2') }, [failed]);
    expect(result.upserts).toEqual(['u1']);
    expect(result.dispatch).toEqual(['u1']);
    expect(result.rowsToWrite).toEqual([{ ...failed, dispatched: sentNow('h2') }]);
  });

  it('does not queue again work dispatched less than 30 minutes ago: a backlog is not multiplied by every timer tick', () => {
    const queued = synced('u1', 'h1', { desiredHash: 'h2', desiredRecord: '{"v":"h2"}', dispatched: { what: 'h2', at: new Date(NOW.getTime() - 29 * 60_000).toISOString() } });
    const result = plan({ u1: want('h2') }, [queued]);
    expect(result).toMatchObject({ upserts: ['u1'], dispatch: [], inFlight: 1, rowsToWrite: [] });
  });

  it('queues again once the dispatch is 30 minutes old (a lost or poisoned message is re-driven), and at once when the record changed', () => {
    const old = synced('u1', 'h1', { desiredHash: 'h2', desiredRecord: '{"v":"h2"}', dispatched: { what: 'h2', at: new Date(NOW.getTime() - 30 * 60_000).toISOString() } });
    expect(plan({ u1: want('h2') }, [old]).dispatch).toEqual(['u1']);
    const recent = { ...old, dispatched: { what: 'h2', at: NOW.toISOString() } };
    expect(plan({ u1: want('h3') }, [recent]).dispatch).toEqual(['u1']);
  });

  it('marks nothing as dispatched when the planner will not dispatch (dry run, quarantine)', () => {
    const result = plan({ u1: want('h1') }, [], { dispatching: false });
    expect(result.dispatch).toEqual(['u1']);
    expect(result.rowsToWrite[0]?.dispatched).toBeNull();
  });

  describe('an object that left scope', () => {
    it('starts its grace period now and waits under DeleteAfterDays 7', () => {
      const result = plan({}, [synced('u1', 'h1')]);
      expect(result.deletes).toEqual([]);
      expect(result.gate.waiting).toEqual(['u1']);
      expect(result.rowsToWrite).toEqual([synced('u1', 'h1', { desiredHash: null, desiredRecord: null, leftScopeAt: NOW.toISOString() })]);
    });

    it('is deleted at once under DeleteAfterDays 0', () => {
      const result = plan({}, [synced('u1', 'h1')], { deleteAfterDays: 0 });
      expect(result.deletes).toEqual(['u1']);
      expect(result.rowsToWrite).toEqual([
        synced('u1', 'h1', { desiredHash: null, desiredRecord: null, leftScopeAt: NOW.toISOString(), deleteApproved: true, dispatched: sentNow('delete') }),
      ]);
    });

    it('keeps the moment it left while waiting, and writes nothing on the next plan', () => {
      const waiting = synced('u1', 'h1', { desiredHash: null, desiredRecord: null, leftScopeAt: daysAgo(3) });
      const result = plan({}, [waiting]);
      expect(result.gate.waiting).toEqual(['u1']);
      expect(result.rowsToWrite).toEqual([]);
    });

    it('is approved for deletion once the grace period has passed', () => {
      const waiting = synced('u1', 'h1', { desiredHash: null, desiredRecord: null, leftScopeAt: daysAgo(8) });
      const result = plan({}, [waiting]);
      expect(result.deletes).toEqual(['u1']);
      expect(result.rowsToWrite).toEqual([{ ...waiting, deleteApproved: true, dispatched: sentNow('delete') }]);
    });

    it('comes back within the grace period without any upload: the pending deletion is cancelled', () => {
      const waiting = synced('u1', 'h1', { desiredHash: null, desiredRecord: null, leftScopeAt: daysAgo(3) });
      const result = plan({ u1: want('h1') }, [waiting]);
      expect(result).toMatchObject({ upserts: [], deletes: [], unchanged: 1 });
      expect(result.rowsToWrite).toEqual([synced('u1', 'h1')]);
    });

    it('comes back after its deletion was approved but not yet carried out: approval withdrawn, nothing sent', () => {
      const approved = synced('u1', 'h1', { desiredHash: null, desiredRecord: null, leftScopeAt: daysAgo(9), deleteApproved: true });
      const result = plan({ u1: want('h1') }, [approved]);
      expect(result).toMatchObject({ upserts: [], deletes: [] });
      expect(result.rowsToWrite).toEqual([synced('u1', 'h1')]);
    });

    it('is held, not deleted, when the planner says the scope cannot be trusted', () => {
      const due = synced('u1', 'h1', { desiredHash: null, desiredRecord: null, leftScopeAt: daysAgo(30) });
      const result = plan({}, [due], { deletionPolicy: { ...NO_THRESHOLD, holdReasons: ['group missing'] }, deleteAfterDays: 0 });
      expect(result.deletes).toEqual([]);
      expect(result.gate).toMatchObject({ status: 'held', held: ['u1'], reason: 'group missing' });
      expect(result.rowsToWrite).toEqual([]);
    });

    it('withdraws an approval when a hold appears before the deletion went out', () => {
      const approved = synced('u1', 'h1', { desiredHash: null, desiredRecord: null, leftScopeAt: daysAgo(9), deleteApproved: true });
      const result = plan({}, [approved], { deletionPolicy: { ...NO_THRESHOLD, holdReasons: ['scope reads empty'] } });
      expect(result.deletes).toEqual([]);
      expect(result.rowsToWrite).toEqual([{ ...approved, deleteApproved: false }]);
    });
  });

  it('measures the destination by its acknowledged rows: 11 of 12 leaving is held under "20%", the one staying is still sent', () => {
    const leaving = Array.from({ length: 11 }, (_, i) => synced(`gone${String(i).padStart(2, '0')}`, 'h', { desiredHash: null, desiredRecord: null, leftScopeAt: daysAgo(30) }));
    const neverAcknowledged = synced('new', 'h0', { ackHash: null });
    const result = plan({ stays: want('h2'), new: want('h0') }, [...leaving, synced('stays', 'h1'), neverAcknowledged], {
      deletionPolicy: { ...NO_THRESHOLD, threshold: { kind: 'percent', percent: 20 } },
    });
    expect(result.gate.counts).toMatchObject({ destinationSize: 12, threshold: 10, held: 11 });
    expect(result.gate.status).toBe('held');
    expect(result.deletes).toEqual([]);
    expect(result.upserts).toEqual(['new', 'stays']);
  });

  it('forgets the wish for an object that never reached the destination and is no longer wanted', () => {
    const neverSent = synced('u1', 'h1', { ackHash: null, failures: 2, lastError: '400' });
    const result = plan({}, [neverSent]);
    expect(result).toMatchObject({ upserts: [], deletes: [] });
    expect(result.gate.waiting).toEqual([]);
    expect(result.rowsToWrite).toEqual([{ ...neverSent, desiredHash: null, desiredRecord: null }]);
  });

  it('ignores rows of objects already deleted at the destination', () => {
    const deleted: UploadRow = { id: 'u1', desiredHash: null, desiredRecord: null, ackHash: null, leftScopeAt: null, deleteApproved: false, failures: 0, lastError: null, dispatched: null };
    expect(plan({}, [deleted])).toMatchObject({ upserts: [], deletes: [], rowsToWrite: [], unchanged: 0 });
  });
});
