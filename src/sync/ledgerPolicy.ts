/**
 * The rules for ledger entries, pure: how a patch applies, when an entry next needs the planner,
 * what a bucket's summary says, and how long a failed object waits. The stores only persist what
 * these functions return.
 *
 * When an entry is due (the earliest of):
 * - `r`: a retry after a failure (the next run, then 1 minute doubling to 24 hours) or the end of a quarantine;
 * - `q` + 30 minutes: queued work not acknowledged by then is queued again (a poisoned message);
 * - a pending deletion's grace end (`l` + DeleteAfterDays), or, once the gate held it, `h`;
 * - at once (epoch 0) when its fields say work is owed but nothing is scheduled: wanted, not held,
 *   and neither queued nor retrying; or held, unwanted, and no leave time. Writers that interleave
 *   (a plan's patch decided on a read that an acknowledgement overtook) can leave that; the next
 *   plan looks at the object again instead of never.
 * An entry that is acknowledged and wanted, with nothing failed or queued, is never due.
 */
import type { LedgerBucketSummary, LedgerEntry, LedgerEntryPatch } from './ports';

/** Queued work not acknowledged within this is queued again. */
export const REQUEUE_AFTER_IN_MS = 30 * 60_000;
/** A held deletion is looked at again this often: the 24-hour window moves on. */
export const HOLD_RECHECK_IN_MS = 3_600_000;
const RETRY_FIRST_IN_MS = 60_000;
const RETRY_CAP_IN_MS = 24 * 3_600_000;

/**
 * How long a failed object waits before the next attempt: the first failure is tried again by the
 * next run, then 1 minute, doubling, at most 24 hours (a record the destination keeps refusing is
 * not sent every run).
 */
export function retryDelayInMs(failures: number): number {
  if (failures <= 1) return 0;
  return Math.min(RETRY_FIRST_IN_MS * 2 ** Math.min(failures - 2, 30), RETRY_CAP_IN_MS);
}

/** The entry with the patch applied; undefined when nothing is left worth keeping. */
export function applyEntryPatch(entry: LedgerEntry | undefined, patch: LedgerEntryPatch): LedgerEntry | undefined {
  const next: Record<string, unknown> = { ...(entry ?? {}) };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete next[key];
    else if (value !== undefined) next[key] = value;
  }
  const result = next as LedgerEntry;
  // Neither held by the destination nor wanted there: nothing to remember.
  if (result.a === undefined && result.w !== 1) return undefined;
  // A deletion is pending only while the destination holds the object and it is not wanted.
  if (result.w === 1 || result.a === undefined) {
    delete result.l;
    delete result.h;
  }
  return result;
}

/** Applies a patch to one entry of a bucket's entry map (removing the entry when it empties). */
export function patchEntries(entries: Map<string, LedgerEntry>, id: string, patch: LedgerEntryPatch): void {
  const next = applyEntryPatch(entries.get(id), patch);
  if (next === undefined) entries.delete(id);
  else entries.set(id, next);
}

export function isPendingDeletion(entry: LedgerEntry): boolean {
  return entry.a !== undefined && entry.w !== 1 && entry.l !== undefined;
}

/** When a pending deletion's grace period ends (ms since epoch), or null. */
export function graceEndsAt(entry: LedgerEntry, deleteAfterDays: number): number | null {
  if (!isPendingDeletion(entry)) return null;
  const left = Date.parse(entry.l ?? '');
  return Number.isFinite(left) ? left + deleteAfterDays * 86_400_000 : 0;
}

/** When the entry next needs the planner (ms since epoch), or null when never. */
export function entryDueAt(entry: LedgerEntry, deleteAfterDays: number): number | null {
  const times: number[] = [];
  const retry = entry.r === undefined ? Number.NaN : Date.parse(entry.r);
  if (Number.isFinite(retry)) times.push(retry);
  const queued = entry.q === undefined ? Number.NaN : Date.parse(entry.q);
  if (Number.isFinite(queued)) times.push(queued + REQUEUE_AFTER_IN_MS);
  const unscheduled = entry.q === undefined && entry.r === undefined
    && (entry.w === 1 ? entry.a === undefined : entry.a !== undefined && entry.l === undefined);
  if (unscheduled) times.push(0);
  const grace = graceEndsAt(entry, deleteAfterDays);
  if (grace !== null) {
    const recheck = entry.h === undefined ? Number.NaN : Date.parse(entry.h);
    times.push(Number.isFinite(recheck) ? Math.max(grace, recheck) : grace);
  }
  return times.length === 0 ? null : Math.min(...times);
}

export function summarizeEntries(entries: ReadonlyMap<string, LedgerEntry>, deleteAfterDays: number): LedgerBucketSummary {
  let due: number | null = null;
  let pendingDue: number | null = null;
  const summary: LedgerBucketSummary = { due: null, pendingDue: null, held: 0, wanted: 0, owed: 0, pending: 0, failed: 0 };
  for (const entry of entries.values()) {
    if (entry.a !== undefined) summary.held += 1;
    if (entry.w === 1) summary.wanted += 1;
    if (entry.w === 1 && (entry.a === undefined || entry.q !== undefined || entry.r !== undefined)) summary.owed += 1;
    if ((entry.f ?? 0) > 0) summary.failed += 1;
    const grace = graceEndsAt(entry, deleteAfterDays);
    if (grace !== null) {
      summary.pending += 1;
      pendingDue = pendingDue === null ? grace : Math.min(pendingDue, grace);
    }
    const at = entryDueAt(entry, deleteAfterDays);
    if (at !== null) due = due === null ? at : Math.min(due, at);
  }
  summary.due = due === null ? null : new Date(due).toISOString();
  summary.pendingDue = pendingDue === null ? null : new Date(pendingDue).toISOString();
  return summary;
}

/**
 * The planner's patch for an entry marked queued at `q` by a dispatch that crashed before sending
 * its messages (a dispatch marker was left): the mark is dated back by the re-queue time, so the
 * entry is due now and no longer counts as in flight, and the next plan queues its work again
 * instead of waiting 30 minutes. Undefined for an entry not marked at `q` (acknowledged or failed
 * since, or marked by a later dispatch).
 */
export function unsentDispatchPatch(entry: LedgerEntry, q: string): LedgerEntryPatch | undefined {
  if (entry.q !== q) return undefined;
  const at = Date.parse(q);
  return { q: new Date((Number.isFinite(at) ? at : 0) - REQUEUE_AFTER_IN_MS).toISOString() };
}

/** How one sent (or deferred) item ended, for the ledger. */
export type ItemOutcome =
  | { kind: 'acknowledged' }
  | { kind: 'failed'; error: string }
  /** Not sent: the destination is in quarantine until `until`. */
  | { kind: 'deferred'; until: string };

/**
 * The upload side's patch for one item, from the entry as it is now (another writer may have
 * changed it since the item was planned). `item.hash` is the record hash sent, or "delete";
 * `item.fp` the sent record's field fingerprints (fieldFingerprints.ts), kept with `a` and its time `t`.
 */
export function outcomePatch(entry: LedgerEntry | undefined, item: { op: 'upsert' | 'delete'; hash: string; baseHash?: string; fp?: string }, outcome: ItemOutcome, now: Date): LedgerEntryPatch {
  // The queued marker belongs to what was queued: a newer record queued since keeps its own, and
  // its message will send it; a failure of the older one is recorded but does not delay it.
  const ours = entry?.qh === undefined || entry.qh === item.hash;
  const clearQueued: LedgerEntryPatch = entry?.qh === item.hash ? { q: null, qh: null } : {};
  switch (outcome.kind) {
    case 'acknowledged':
      // The fingerprints and time go with `a`: a record acknowledged without them (fp unknown)
      // must not keep the previous record's, which would name the wrong fields next time.
      if (item.op === 'upsert') return { ...clearQueued, a: item.hash, b: item.baseHash ?? null, fp: item.fp ?? null, t: now.toISOString(), f: null, e: null, r: null };
      // Gone from the destination. Wanted again meanwhile (it came back into scope): due at once.
      return { ...clearQueued, a: null, b: null, fp: null, t: null, l: null, h: null, f: null, e: null, r: entry?.w === 1 ? now.toISOString() : null };
    case 'failed': {
      const failures = (entry?.f ?? 0) + 1;
      if (!ours) return { f: failures, e: outcome.error.slice(0, 300) };
      return { ...clearQueued, qh: item.hash, f: failures, e: outcome.error.slice(0, 300), r: new Date(now.getTime() + retryDelayInMs(failures)).toISOString() };
    }
    case 'deferred':
      return ours ? { ...clearQueued, qh: item.hash, r: outcome.until } : {};
  }
}
