/**
 * The one place that decides whether a destination may delete objects, per destination, source
 * and kind. Pure: the planner hands it the candidates and the facts (what the destination holds,
 * what was deleted in the last 24 hours, the options, an administrator's approval), it answers
 * which removals go through now and why the others wait. Nothing here reads storage.
 *
 * The rules, in order:
 * 1. Grace period: a candidate is due once Options.DeleteAfterDays have passed since it left
 *    scope (0 = at once). Not yet due: `waiting`. Coming back cancels (the planner drops it).
 * 2. Planner holds: a reason the scope itself cannot be trusted (a LimitToGroups group missing,
 *    the scope reads empty) holds every due candidate.
 * 3. Threshold: deletions within a rolling 24 hours (already done + due now) above the threshold
 *    hold every due candidate. Percentage form: `min(DeleteThresholdMax, max(10, p% of base))`,
 *    where base = what the destination holds now + what it deleted in the window (its size when
 *    the window began, so a run of small deletions cannot shrink its own limit); "0%" is 0.
 *    Count form: the count as written. 0 = every deletion needs approval. "off": no limit.
 * 4. Approval: an administrator's approval of a hold lets its deletions through, over any hold
 *    reason, as long as the due set is still within the hold as it stood (no candidate left scope
 *    after the hold's newest one, and no more of them). A grown set is held again.
 * 5. Dry run: everything above is worked out, status `dryRun`, and the caller changes nothing.
 * Inconsistent facts (negative counts, a destination smaller than its own candidates) are an
 * `error`: nothing is deleted.
 */
import { createHash } from 'node:crypto';
import type { DeleteThreshold } from '../config/types';

/** The percentage form never holds fewer than this many deletions: small tenants still lose a leaver or two without a page. */
export const DELETE_THRESHOLD_FLOOR = 10;
export const ROLLING_WINDOW_IN_MS = 24 * 3_600_000;

export interface DeletionCandidate {
  id: string;
  /** When the object left scope; the grace period runs from here. */
  leftScopeAt: string;
}

/** An administrator's approval of a hold, as stored when it was given. */
export interface DeletionApprovalGrant {
  holdId: string;
  /** The newest leftScopeAt among the held candidates: anything that left later is not covered. */
  leftScopeCutoff: string;
  /** How many were held: a due set larger than this is not covered. */
  count: number;
}

export interface DeletionGateInput {
  candidates: readonly DeletionCandidate[];
  now: Date;
  deleteAfterDays: number;
  /** Objects the destination holds for this source and kind (acknowledged ledger rows), candidates included. */
  destinationSize: number;
  /** Deletions the destination acknowledged for this source and kind in the last 24 hours. */
  deletedLast24h: number;
  threshold: DeleteThreshold;
  /** Upper bound of a percentage threshold (Options.DeleteThresholdMax). */
  thresholdMax: number;
  approval?: DeletionApprovalGrant;
  dryRun?: boolean;
  /** Planner reasons the scope cannot be trusted (missing groups, empty scope): every due deletion is held. */
  holdReasons?: readonly string[];
}

export type DeletionGateStatus = 'ok' | 'held' | 'dryRun' | 'noChanges' | 'error';

export interface DeletionGateCounts {
  candidates: number;
  due: number;
  waiting: number;
  approved: number;
  held: number;
  destinationSize: number;
  deletedLast24h: number;
  /** Deletions allowed within 24 hours without approval; null when the threshold is off. */
  threshold: number | null;
}

export interface DeletionGateResult {
  status: DeletionGateStatus;
  /** Removals that go through now (under dryRun: would go through). */
  approved: string[];
  /** Still inside the grace period. */
  waiting: string[];
  /** Due, but held (see reason). */
  held: string[];
  counts: DeletionGateCounts;
  reason?: string;
  /** Identifies the held set (hash of its ids): an approval names it. Set when something is held. */
  holdId?: string;
  /** The newest leftScopeAt among the held candidates (what an approval of this hold covers). */
  leftScopeCutoff?: string;
  /** True when an administrator's approval let the deletions through. */
  approvedByAdministrator?: boolean;
}

/** Deletions allowed within 24 hours without approval, or null when the check is off. */
export function deletionThreshold(threshold: DeleteThreshold, thresholdMax: number, base: number): number | null {
  switch (threshold.kind) {
    case 'off':
      return null;
    case 'count':
      return threshold.count;
    case 'percent':
      if (threshold.percent === 0) return 0;
      return Math.min(thresholdMax, Math.max(DELETE_THRESHOLD_FLOOR, Math.floor((base * threshold.percent) / 100)));
  }
}

export function describeThreshold(threshold: DeleteThreshold): string {
  switch (threshold.kind) {
    case 'off': return '"off"';
    case 'count': return String(threshold.count);
    case 'percent': return `"${threshold.percent}%"`;
  }
}

/** A short, stable name for a set of ids (order does not matter). */
export function holdIdOf(ids: readonly string[]): string {
  return createHash('sha256').update([...ids].sort().join('\n')).digest('hex').slice(0, 16);
}

function isCount(value: number): boolean {
  return Number.isInteger(value) && value >= 0;
}

function inconsistency(input: DeletionGateInput): string | undefined {
  if (!isCount(input.destinationSize)) return `destination size ${input.destinationSize} is not a count`;
  if (!isCount(input.deletedLast24h)) return `deletions in the last 24 hours ${input.deletedLast24h} is not a count`;
  if (input.destinationSize < input.candidates.length) {
    return `the destination holds ${input.destinationSize} objects but ${input.candidates.length} are candidates for deletion`;
  }
  if (!Number.isFinite(input.deleteAfterDays) || input.deleteAfterDays < 0) return `DeleteAfterDays ${input.deleteAfterDays} is not valid`;
  return undefined;
}

function covers(approval: DeletionApprovalGrant | undefined, due: readonly DeletionCandidate[]): boolean {
  if (approval === undefined || due.length === 0 || due.length > approval.count) return false;
  const cutoff = Date.parse(approval.leftScopeCutoff);
  if (!Number.isFinite(cutoff)) return false;
  return due.every((candidate) => Date.parse(candidate.leftScopeAt) <= cutoff);
}

export function decideDeletions(input: DeletionGateInput): DeletionGateResult {
  const graceInMs = input.deleteAfterDays * 86_400_000;
  const due: DeletionCandidate[] = [];
  const waiting: string[] = [];
  for (const candidate of input.candidates) {
    const leftAt = Date.parse(candidate.leftScopeAt);
    if (Number.isFinite(leftAt) && input.now.getTime() - leftAt >= graceInMs) due.push(candidate);
    else waiting.push(candidate.id);
  }
  const dueIds = due.map((candidate) => candidate.id).sort();
  waiting.sort();
  const base = input.destinationSize + input.deletedLast24h;
  const threshold = deletionThreshold(input.threshold, input.thresholdMax, base);
  const counts = (approved: number, held: number): DeletionGateCounts => ({
    candidates: input.candidates.length, due: due.length, waiting: waiting.length, approved, held,
    destinationSize: input.destinationSize, deletedLast24h: input.deletedLast24h, threshold,
  });

  const problem = inconsistency(input);
  if (problem !== undefined) {
    return { status: 'error', approved: [], waiting, held: dueIds, counts: counts(0, dueIds.length), reason: `deletions stopped: ${problem}` };
  }
  if (due.length === 0) {
    return { status: input.dryRun === true ? 'dryRun' : 'noChanges', approved: [], waiting, held: [], counts: counts(0, 0) };
  }

  const reasons = [...(input.holdReasons ?? [])];
  const total = input.deletedLast24h + due.length;
  if (threshold !== null && total > threshold) {
    const already = input.deletedLast24h > 0 ? ` (${due.length} now, ${input.deletedLast24h} already in the last 24 hours)` : '';
    reasons.push(
      `${total} deletions${already} of ${base} would exceed the threshold of ${threshold} ` +
        `(DeleteThreshold ${describeThreshold(input.threshold)}, DeleteThresholdMax ${input.thresholdMax})`,
    );
  }

  const dryRun = input.dryRun === true;
  if (reasons.length === 0) {
    return { status: dryRun ? 'dryRun' : 'ok', approved: dueIds, waiting, held: [], counts: counts(dueIds.length, 0) };
  }
  if (covers(input.approval, due)) {
    return {
      status: dryRun ? 'dryRun' : 'ok', approved: dueIds, waiting, held: [], counts: counts(dueIds.length, 0),
      reason: `approved by an administrator (hold ${input.approval?.holdId ?? ''}) over: ${reasons.join('; ')}`, approvedByAdministrator: true,
    };
  }
  const leftScopeCutoff = due.reduce((newest, candidate) => (Date.parse(candidate.leftScopeAt) > Date.parse(newest) ? candidate.leftScopeAt : newest), due[0]?.leftScopeAt ?? '');
  return {
    status: dryRun ? 'dryRun' : 'held', approved: [], waiting, held: dueIds, counts: counts(0, dueIds.length),
    reason: reasons.join('; '), holdId: holdIdOf(dueIds), leftScopeCutoff,
  };
}
