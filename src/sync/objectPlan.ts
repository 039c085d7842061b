/**
 * What the planner decides for one object at one destination, from what the scope wants there
 * now (`desired`, undefined when the object should not be there) and the object's ledger entry.
 * Pure; the same function serves the change-driven and the whole-source plan, which is what makes
 * them agree.
 *
 * - Wanted, and the destination acknowledged this exact record: nothing to do.
 * - Wanted, and not acknowledged (new, changed, or failed): send it, unless the same record is in
 *   flight (queued less than 30 minutes ago) or failed and waits out its backoff.
 * - Not wanted, never acknowledged: forget the entry.
 * - Not wanted, acknowledged: a deletion candidate from the moment it left scope (`l`); the
 *   deletion gate decides when it goes (see deletionGate.ts).
 */
import { REQUEUE_AFTER_IN_MS } from './ledgerPolicy';
import type { LedgerEntry, LedgerEntryPatch } from './ports';

export interface DesiredObject {
  hash: string;
  /** Users: the base hash (recorded with the acknowledgement). */
  baseHash?: string;
}

export interface ObjectDecision {
  /** The planner's own fields to change (w, l, h), if any. */
  patch?: LedgerEntryPatch;
  /** The record is owed and goes out now. */
  send: boolean;
  /** Owed, but in flight or backing off; it comes due by itself. */
  waiting: boolean;
  /** Acknowledged but no longer wanted: when it left scope. */
  deletionCandidate?: string;
}

/** True while work for `what` (a hash or "delete") was queued or attempted recently enough to wait for. */
export function inFlightOrBackingOff(entry: LedgerEntry | undefined, what: string, now: Date): boolean {
  if (entry === undefined || entry.qh !== what) return false;
  const queued = entry.q === undefined ? Number.NaN : Date.parse(entry.q);
  if (Number.isFinite(queued) && now.getTime() - queued < REQUEUE_AFTER_IN_MS) return true;
  const retry = entry.r === undefined ? Number.NaN : Date.parse(entry.r);
  return Number.isFinite(retry) && retry > now.getTime();
}

export function decideObject(desired: DesiredObject | undefined, entry: LedgerEntry | undefined, now: Date): ObjectDecision {
  if (desired !== undefined) {
    const patch: LedgerEntryPatch = {};
    if (entry?.w !== 1) patch.w = 1;
    if (entry?.l !== undefined) patch.l = null;
    if (entry?.h !== undefined) patch.h = null;
    const hasPatch = Object.keys(patch).length > 0;
    if (entry?.a === desired.hash) return { ...(hasPatch ? { patch } : {}), send: false, waiting: false };
    const waiting = inFlightOrBackingOff(entry, desired.hash, now);
    return { ...(hasPatch ? { patch } : {}), send: !waiting, waiting };
  }
  if (entry === undefined) return { send: false, waiting: false };
  if (entry.a === undefined) {
    // Never reached the destination and no longer wanted: just forget the wish. The leave time
    // goes with it: should an acknowledgement land between the plan's read and its write (the
    // write is then applied to the row as the worker left it), the entry is a pending deletion
    // instead of an object the destination holds and nothing ever deletes. Without `a`, the
    // patch removes the entry (applyEntryPatch).
    return { patch: { w: null, l: now.toISOString() }, send: false, waiting: false };
  }
  const leftScopeAt = entry.w !== 1 && entry.l !== undefined ? entry.l : now.toISOString();
  const patch: LedgerEntryPatch = {};
  if (entry.w === 1) patch.w = null;
  if (entry.l !== leftScopeAt) patch.l = leftScopeAt;
  return { ...(Object.keys(patch).length > 0 ? { patch } : {}), send: false, waiting: false, deletionCandidate: leftScopeAt };
}
