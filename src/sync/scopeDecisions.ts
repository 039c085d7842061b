/**
 * What a plan decides for one destination and kind, from the objects it looked at: per object,
 * send, wait, forget or stage a deletion (objectPlan.ts); then the deletion gate over every due
 * deletion of that destination and kind (deletionGate.ts); then, for a destination in quarantine,
 * nothing sent and everything owed made due when the quarantine ends. The result is the work for
 * the upload executor, the summary for people, and the hold to record or clear.
 *
 * The gate must see every due deletion or none. A whole-source plan read every bucket; a
 * change-driven plan reads, when the gate has anything to decide, the buckets whose summary says
 * they hold a deletion past its grace period.
 */
import { planRow } from './auditRows';
import { decideDeletions, ROLLING_WINDOW_IN_MS, type DeletionGateResult, type DeletionGateStatus } from './deletionGate';
import { bucketOfId } from './bucketOf';
import { graceEndsAt, HOLD_RECHECK_IN_MS, outcomePatch } from './ledgerPolicy';
import type { Logger } from './logger';
import { decideObject, inFlightOrBackingOff } from './objectPlan';
import type { ConnectorOptions } from '../config/types';
import type { DeletionApproval, DeletionHold, DeletionStateStore, DestinationHealth, LedgerEntryPatch, LedgerStore, ObjectAuditRow } from './ports';
import { isQuarantined } from './quarantine';
import { entryOf, type ScopePlan } from './planTargets';
import type { KindWork, SendItem } from './uploadWork';

export interface KindPlanSummary {
  upserts: number;
  /** Deletions that go out now (under dry run: would go out). */
  deletes: number;
  unchanged: number;
  /** Left scope, still inside the grace period (among the objects this plan looked at). */
  waitingDeletes: number;
  /** Due, but held by the deletion gate. */
  heldDeletes: number;
  gate: DeletionGateStatus;
  gateReason?: string;
  /** Names the held set; `deletions approve` approves it. */
  holdId?: string;
  /** What the destination holds of this source and kind (acknowledged), before this plan. */
  destinationSize: number;
  deletedLast24h: number;
  /** Deletions allowed within 24 hours without approval; null when Options.DeleteThreshold is "off". */
  threshold: number | null;
  /** The first few UPNs (users) or display names (groups) of each list, sorted by id. */
  sample: { upserts: string[]; deletes: string[]; held: string[] };
}

export function emptyKindSummary(): KindPlanSummary {
  return {
    upserts: 0, deletes: 0, unchanged: 0, waitingDeletes: 0, heldDeletes: 0, gate: 'noChanges', destinationSize: 0, deletedLast24h: 0,
    threshold: null, sample: { upserts: [], deletes: [], held: [] },
  };
}

/** What the plan does about the hold of one destination, source and kind. */
export type HoldWrite = { put: DeletionHold } | { clear: true } | { clearApproval: true };

export interface ScopeDecisionContext {
  source: string;
  runId: string;
  now: Date;
  options: Pick<ConnectorOptions, 'deleteAfterDays' | 'deleteThreshold' | 'deleteThresholdMax'>;
  dryRun: boolean;
  approval: DeletionApproval | undefined;
  previousHold: DeletionHold | undefined;
  /** LimitToGroups of this destination that are not in the mirror: deletions wait. */
  missingGroups: readonly string[];
  sampleSize: number;
  logger: Logger;
  ledger: Pick<LedgerStore, 'read'>;
  deletions: Pick<DeletionStateStore, 'countExecutedSince'>;
  /** The destination's health, read once per plan. */
  health(): Promise<DestinationHealth | undefined>;
}

export interface ScopeDecision {
  /** Undefined when nothing is to be written or sent. */
  work?: KindWork;
  summary: KindPlanSummary;
  holdWrites: HoldWrite[];
  /** Set when the destination is in quarantine and nothing was sent. */
  skippedBecause?: string;
  /**
   * The plan's audit trail rows (auditRows.ts): staged deletes, first holds, objects that left
   * scope before they were acknowledged. To be recorded once the patches are written.
   */
  audit: ObjectAuditRow[];
}

function addPatch(patches: Map<string, Map<string, LedgerEntryPatch>>, id: string, patch: LedgerEntryPatch): void {
  const bucket = bucketOfId(id);
  const map = patches.get(bucket) ?? new Map<string, LedgerEntryPatch>();
  patches.set(bucket, map);
  map.set(id, { ...(map.get(id) ?? {}), ...patch });
}

export async function decideScope(plan: ScopePlan, context: ScopeDecisionContext): Promise<ScopeDecision> {
  const { scope } = plan;
  const { now, options, dryRun, approval, previousHold } = context;
  const log = context.logger.child({ destination: scope.destination, kind: scope.kind });
  const patches = new Map<string, Map<string, LedgerEntryPatch>>();
  const sends: SendItem[] = [];
  const summary = emptyKindSummary();
  const upsertLabels: string[] = [];
  const candidates: { id: string; leftScopeAt: string }[] = [];
  const holdWrites: HoldWrite[] = [];
  let wantedDelta = 0;
  let touchedPending = false;
  const audit: ObjectAuditRow[] = [];
  const auditContext = { runId: context.runId, at: now, scope };
  const outOfScope = plan.mapped ? 'left scope (filters, exclusions, groups or options)' : `left scope: no mapping of source ${context.source} names this destination any more`;
  /** Objects that left scope in this plan while the destination holds them: a staged delete each, unless the gate lets them go now. */
  const leaving: string[] = [];

  for (const [id, desired] of plan.desired) {
    const entry = entryOf(plan.read, id);
    if (entry !== undefined && graceEndsAt(entry, options.deleteAfterDays) !== null) touchedPending = true;
    const decision = decideObject(desired, entry, now);
    if (decision.patch !== undefined) {
      addPatch(patches, id, decision.patch);
      if (decision.patch.w === 1) wantedDelta += 1;
      if (decision.patch.w === null && entry?.w === 1) wantedDelta -= 1;
    }
    if (decision.send && desired !== undefined) {
      sends.push({ id, op: 'upsert', hash: desired.hash, ...(desired.baseHash !== undefined ? { baseHash: desired.baseHash } : {}), ...(desired.record !== undefined ? { record: desired.record } : {}) });
      upsertLabels.push(desired.label);
    } else if (desired !== undefined && !decision.waiting) {
      summary.unchanged += 1;
    }
    if (decision.deletionCandidate !== undefined) {
      candidates.push({ id, leftScopeAt: decision.deletionCandidate });
      if (entry?.w === 1) leaving.push(id);
    } else if (desired === undefined && entry?.w === 1 && entry.a === undefined) {
      audit.push(planRow(auditContext, id, 'skip', `${outOfScope} before the destination acknowledged it; not sent`));
    }
  }
  summary.upserts = sends.length;

  const graceOver = (leftScopeAt: string) => now.getTime() - Date.parse(leftScopeAt) >= options.deleteAfterDays * 86_400_000;
  const gateNeeded = plan.summaries === undefined || approval !== undefined || touchedPending || candidates.some((candidate) => graceOver(candidate.leftScopeAt));
  // What the destination holds, and how much would be wanted after this plan (the empty-scope guard).
  let destinationSize = 0;
  let wantedAfter = 0;
  if (plan.summaries === undefined) {
    for (const entries of plan.read.buckets.values()) for (const entry of entries.values()) if (entry.a !== undefined) destinationSize += 1;
    for (const desired of plan.desired.values()) if (desired !== undefined) wantedAfter += 1;
  } else {
    for (const bucket of plan.summaries.values()) {
      destinationSize += bucket.held;
      wantedAfter += bucket.wanted;
    }
    wantedAfter += wantedDelta;
    if (gateNeeded) {
      const pendingBuckets = [...plan.summaries].filter(([, bucket]) => bucket.pendingDue !== null && Date.parse(bucket.pendingDue) <= now.getTime()).map(([bucket]) => bucket);
      plan.read = await context.ledger.read(scope, pendingBuckets, { extend: plan.read });
      for (const bucket of pendingBuckets) {
        for (const [id, entry] of plan.read.buckets.get(bucket) ?? []) {
          if (plan.desired.has(id) || entry.l === undefined || graceEndsAt(entry, options.deleteAfterDays) === null) continue;
          candidates.push({ id, leftScopeAt: entry.l });
        }
      }
    }
  }

  let gate: DeletionGateResult | undefined;
  let deletedLast24h = 0;
  if (gateNeeded) {
    const holdReasons: string[] = [];
    if (context.missingGroups.length > 0) {
      holdReasons.push(`LimitToGroups ${context.missingGroups.join(', ')} not found in the mirror of source ${context.source}; deletions wait until the scope is whole`);
    } else if (plan.mapped && scope.kind === 'users' && wantedAfter === 0) {
      holdReasons.push(`the scope of ${scope.destination} reads empty; an empty scope is never taken as "delete everyone"`);
    }
    deletedLast24h = candidates.some((candidate) => graceOver(candidate.leftScopeAt))
      ? await context.deletions.countExecutedSince(scope.destination, context.source, scope.kind, new Date(now.getTime() - ROLLING_WINDOW_IN_MS))
      : 0;
    gate = decideDeletions({
      candidates, now, deleteAfterDays: options.deleteAfterDays, destinationSize, deletedLast24h,
      threshold: options.deleteThreshold, thresholdMax: options.deleteThresholdMax, holdReasons, dryRun,
      ...(approval !== undefined ? { approval } : {}),
    });
    for (const id of gate.approved) {
      if (!inFlightOrBackingOff(entryOf(plan.read, id), 'delete', now)) sends.push({ id, op: 'delete', hash: 'delete' });
    }
    // A held deletion is looked at again in an hour: the 24-hour window moves on.
    const recheck = new Date(now.getTime() + HOLD_RECHECK_IN_MS).toISOString();
    for (const id of gate.held) {
      const entry = entryOf(plan.read, id);
      if (entry?.h === undefined || Date.parse(entry.h) <= now.getTime()) addPatch(patches, id, { h: recheck });
      // Recorded when first held, not at every hourly re-check.
      if (entry?.h === undefined) audit.push(planRow(auditContext, id, 'skip', `deletion held by the deletion gate: ${gate.reason ?? gate.status}`));
    }
    if (gate.status === 'held' && gate.holdId !== undefined && gate.leftScopeCutoff !== undefined) {
      holdWrites.push({ put: {
        destination: scope.destination, source: context.source, kind: scope.kind, holdId: gate.holdId, held: gate.held.length,
        destinationSize: gate.counts.destinationSize, deletedLast24h, threshold: gate.counts.threshold, reason: gate.reason ?? '',
        leftScopeCutoff: gate.leftScopeCutoff, heldSince: previousHold?.heldSince ?? now.toISOString(), plannedAt: now.toISOString(), runId: context.runId,
      } });
    } else if (previousHold !== undefined && gate.status !== 'error') {
      // The cause went away (objects came back, the group reappeared) or an approval let them through.
      holdWrites.push({ clear: true });
      log.info('deletions.holdCleared', { holdId: previousHold.holdId, status: gate.status });
    }
    // An approval is used up once nothing it could cover is due any more.
    if (approval !== undefined && gate.counts.due === 0) holdWrites.push({ clearApproval: true });
    if (gate.status === 'held') log.warn('deletions.held', { held: gate.held.length, threshold: gate.counts.threshold, destinationSize, deletedLast24h, holdId: gate.holdId, reason: gate.reason });
    if (gate.status === 'error') log.error('deletions.error', { held: gate.held.length, reason: gate.reason });
    if (gate.approvedByAdministrator === true) log.info('deletions.approvedByAdministrator', { deletes: gate.approved.length, holdId: approval?.holdId, approvedBy: approval?.approvedBy });
  }

  const goingNow = new Set(gate?.approved ?? []);
  for (const id of leaving) {
    if (goingNow.has(id)) continue;
    const graceEnd = new Date(now.getTime() + options.deleteAfterDays * 86_400_000).toISOString();
    audit.push(planRow(auditContext, id, 'staged delete', `${outOfScope}; deleted after ${graceEnd} (DeleteAfterDays ${options.deleteAfterDays}) unless it comes back`));
  }
  const label = (id: string) => plan.desired.get(id)?.label ?? id;
  summary.deletes = gate?.approved.length ?? 0;
  summary.waitingDeletes = gate?.waiting.length ?? candidates.filter((candidate) => !graceOver(candidate.leftScopeAt)).length;
  summary.heldDeletes = gate?.held.length ?? 0;
  summary.gate = gate?.status ?? (dryRun ? 'dryRun' : 'noChanges');
  if (gate?.reason !== undefined) summary.gateReason = gate.reason;
  if (gate?.holdId !== undefined) summary.holdId = gate.holdId;
  summary.destinationSize = destinationSize;
  summary.deletedLast24h = deletedLast24h;
  summary.threshold = gate?.counts.threshold ?? null;
  summary.sample = {
    upserts: upsertLabels.slice(0, context.sampleSize),
    deletes: (gate?.approved ?? []).slice(0, context.sampleSize).map(label),
    held: (gate?.held ?? []).slice(0, context.sampleSize).map(label),
  };

  // A destination in quarantine gets nothing now: what it is owed comes due when the quarantine ends.
  let toSend = sends.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let skippedBecause: string | undefined;
  if (sends.length > 0) {
    const health = await context.health();
    if (isQuarantined(health, now)) {
      const until = health?.retryAfter ?? now.toISOString();
      for (const item of sends) {
        addPatch(patches, item.id, outcomePatch(entryOf(plan.read, item.id), item, { kind: 'deferred', until }, now));
        audit.push(planRow(auditContext, item.id, 'skip', `not sent: the destination is in quarantine (${health?.reason ?? 'unhealthy'}) until ${until}`));
      }
      skippedBecause = `destination unhealthy until ${until}: ${health?.lastError ?? ''}`;
      toSend = [];
    }
  }
  const work = patches.size > 0 || toSend.length > 0 ? { scope, patches, sends: toSend, preloaded: plan.read } : undefined;
  return { ...(work !== undefined ? { work } : {}), summary, holdWrites, ...(skippedBecause !== undefined ? { skippedBecause } : {}), audit };
}
