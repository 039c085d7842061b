/**
 * The one place that decides whether a destination may delete objects. Pure: the planner hands
 * it the candidates, it answers which removals go through now.
 *
 * Today it applies the grace period (Options.DeleteAfterDays) and holds everything when the
 * planner found a reason the scope itself cannot be trusted (e.g. a LimitToGroups group missing
 * from the mirror). Thresholds and approvals belong here too, not in the planner.
 */
export interface DeletionCandidate {
  id: string;
  /** When the object left scope; the grace period runs from here. */
  leftScopeAt: string;
}

export interface DeletionGateInput {
  candidates: readonly DeletionCandidate[];
  now: Date;
  deleteAfterDays: number;
  /** When set, no deletion goes through and this is the reason reported. */
  holdReason?: string;
}

export type DeletionGateStatus = 'ok' | 'held' | 'noChanges';

export interface DeletionGateResult {
  status: DeletionGateStatus;
  /** Removals that go through now. */
  approved: string[];
  /** Still inside the grace period. */
  waiting: string[];
  /** Due, but held (see reason). */
  held: string[];
  reason?: string;
}

export function decideDeletions(input: DeletionGateInput): DeletionGateResult {
  const graceInMs = input.deleteAfterDays * 86_400_000;
  const due: string[] = [];
  const waiting: string[] = [];
  for (const candidate of input.candidates) {
    const leftAt = Date.parse(candidate.leftScopeAt);
    if (Number.isFinite(leftAt) && input.now.getTime() - leftAt >= graceInMs) due.push(candidate.id);
    else waiting.push(candidate.id);
  }
  due.sort();
  waiting.sort();
  if (due.length === 0) return { status: 'noChanges', approved: [], waiting, held: [] };
  if (input.holdReason !== undefined) return { status: 'held', approved: [], waiting, held: due, reason: input.holdReason };
  return { status: 'ok', approved: due, waiting, held: [] };
}
