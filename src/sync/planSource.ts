/**
 * After a pull: works out, per destination of one source, what must be sent or deleted, and hands
 * it to the upload executor. A plan costs what changed, not what exists:
 *
 * - Change-driven (the usual run): the objects the journal says changed, the objects a change
 *   reaches (changeImpact.ts), and the ledger entries that came due (a retry, a grace period's end,
 *   a held deletion to look at again, queued work never acknowledged). A run with nothing changed
 *   and nothing due reads one projected summary per destination and kind, and nothing else.
 * - Whole-source, only when needed: after a full round, when the mappings or options changed
 *   (a hash of them is kept), on `--replan`, the first time, or when a change reaches more than a
 *   quarter of the source. Users are streamed page by page; a record's JSON is kept only when its
 *   base changed (see payload.ts), so memory stays bounded.
 * planTargets.ts chooses the objects either way; scopeDecisions.ts decides each destination and
 * kind the same way for both (objectPlan.ts, the deletion gate), and a property test checks they agree.
 *
 * Every destination in the config is planned, not only those with a mapping from this source: when
 * a mapping is removed, what that destination still holds becomes deletion candidates and goes
 * through the deletion gate like any other removal. A destination that holds objects of this source
 * but is gone from the config cannot be reached (no token); it is reported, never an error.
 *
 * Order of writes: the executor first (records sent and acknowledged, or queued), then the derived
 * indexes (reports, conflicts), the holds, the plan state, and last the journal entries are removed.
 * A crash anywhere before the last step plans the same entries again, which is idempotent.
 *
 * Dry run: the same plan, with nothing written and nothing sent.
 *
 * Paused pairs (pauses.ts): a destination paused for this source is left out of the plan entirely:
 * its ledger is not read or written, nothing is sent or queued, its deletions are neither staged,
 * held nor approved, and it is not taken for a destination gone from the config. The scope model
 * still holds every mapping, so what other destinations receive (conflicts, OnConflict) does not
 * change with a pause. The paused set is part of the configHash: the plan that follows a pause or a
 * resume is a whole-source one, so the changes the journal recorded while a pair was paused (and
 * consumed by plans that skipped it) reach it at the first plan after the resume. When every
 * destination of the source is paused, nothing is planned and the journal is not consumed: the
 * first plan after the resume works from all of it, as if the pause had been one long pull.
 *
 * Run budget: with `deadlineAt` (the Functions run's), a plan that has not finished by then stops
 * at its next checkpoint: before it writes anything, between destinations and kinds of the queue
 * executor, or after a ledger write of the in-process executor. What it recorded stands, the
 * journal is kept, and the next run plans the rest (queued work already marked is not queued twice).
 *
 * A queue dispatch that crashed between marking entries queued and sending their messages left a
 * dispatch marker (queueUploads.ts): the plan first makes those marks due, so their work is queued
 * again now rather than after the 30-minute re-queue check.
 */
import { createHash } from 'node:crypto';
import { conflictSkipRows } from './auditRows';
import { recordAudit } from './auditWriter';
import type { ConnectorConfig } from '../config/types';
import { isEmpty, mergeJournal } from './changeImpact';
import type { Logger } from './logger';
import type {
  ChangeJournal, ConflictStore, DeletionApproval, DeletionStateStore, DestinationHealth, DestinationHealthStore, DirectoryReader, DispatchMarkerStore, JournalEntry,
  LedgerBucketSummary, LedgerStore, MirrorStore, ObjectAuditLog, ObjectAuditRow, PauseStore, PlanStateStore, ReportsIndex, UploadKind,
} from './ports';
import { mappingsBetween, pausedDestinations, pausedHashPart } from './pauses';
import type { MailboxTypeReads } from './mailboxTypes';
import { patchEntries, summarizeEntries, unsentDispatchPatch } from './ledgerPolicy';
import { PLANNED_KINDS, loadDirectoryGraph, planFromChanges, planWholeSource, type PlannedTargets } from './planTargets';
import { emptyKindSummary, decideScope, type HoldWrite, type KindPlanSummary } from './scopeDecisions';
import { buildScopeModel, type ScopeModel } from './scopeModel';
import type { ExecutionSummary, KindWork, UploadExecutor } from './uploadWork';

export type { KindPlanSummary } from './scopeDecisions';
export { loadDirectoryGraph } from './planTargets';

export interface PlanDependencies {
  mirror: MirrorStore;
  ledger: LedgerStore;
  journal: ChangeJournal;
  reports: ReportsIndex;
  conflicts: ConflictStore;
  planState: PlanStateStore;
  health: DestinationHealthStore;
  deletions: DeletionStateStore;
  executor: UploadExecutor;
  /** Where the queue executor leaves a dispatch under way; absent: no recovery (nothing writes one). */
  dispatches?: DispatchMarkerStore;
  /** Reads users' mailbox types (mailboxTypes.ts); absent: the types stay as the mirror holds them. */
  mailboxReader?: Pick<DirectoryReader, 'readMailboxTypes'>;
  /** The audit trail: the plan's rows (staged deletes, skips) once its patches are written; absent: none. */
  audit?: ObjectAuditLog;
  /** The administrator's pauses (pauses.ts); absent: nothing is paused. */
  pauses?: Pick<PauseStore, 'list'>;
  logger: Logger;
  now?: () => Date;
}

/** The plan ran out of its run budget and stopped at a checkpoint; the next run plans the rest. */
export class PlanDeadlineReached extends Error {
  override readonly name = 'PlanDeadlineReached';
}

export function isPlanDeadlineReached(error: unknown): boolean {
  return error instanceof Error && error.name === 'PlanDeadlineReached';
}

/** Makes the marks of a dispatch that crashed before sending its messages due now (see the header). */
async function recoverUnsentDispatch(source: string, deps: PlanDependencies & { dispatches: DispatchMarkerStore }, deleteAfterDays: number, logger: Logger): Promise<void> {
  const marker = await deps.dispatches.getDispatch(source);
  if (marker === undefined) return;
  let entries = 0;
  for (const { destination, kind, buckets } of marker.scopes) {
    await deps.ledger.update({ destination, source, kind }, buckets, (_bucket, bucketEntries) => {
      for (const [id, entry] of [...bucketEntries]) {
        const patch = unsentDispatchPatch(entry, marker.q);
        if (patch === undefined) continue;
        patchEntries(bucketEntries, id, patch);
        entries += 1;
      }
    }, (bucketEntries) => summarizeEntries(bucketEntries, deleteAfterDays));
  }
  await deps.dispatches.clearDispatch(source, marker.q);
  logger.warn('plan.unsentDispatchRecovered', { queuedAt: marker.q, entries, why: 'a dispatch stopped between marking work queued and sending its messages; it is queued again now' });
}

export interface PlanOptions {
  /** Work the plan out and report it; write nothing, send nothing. */
  dryRun?: boolean;
  /** Plan the whole source even if nothing asks for it (`--replan`). */
  replan?: boolean;
  /** How many names (UPNs, group names) each summary lists per list. Default 10. */
  sampleSize?: number;
  /** Checks the source lock between steps of long work (throws when it was lost). */
  keepAlive?: () => Promise<void>;
  /** Stop at the next checkpoint once this time (ms since epoch) has passed (see the header). */
  deadlineAt?: number;
}

export interface DestinationPlanSummary {
  destination: string;
  users: KindPlanSummary;
  groups: KindPlanSummary;
  /** Batches sent or messages queued for this destination. */
  messages: number;
  /** False when no mapping of this source names the destination (what it holds is being removed). */
  mapped: boolean;
  /** Set when the destination is in quarantine and nothing was sent. */
  skippedBecause?: string;
  missingGroups: string[];
}

/** A destination that holds objects of this source but is no longer in the config: nothing can reach it. */
export interface UnreachableDestination {
  destination: string;
  users: number;
  groups: number;
}

export interface ScopeConflict {
  userId: string;
  upn: string | null;
  /** Destinations whose mappings hold the user, in the order of their first matching mapping. */
  destinations: string[];
  /** Every mapping that holds the user, ascending. */
  mappingIndexes: number[];
}

export type PlanMode = 'idle' | 'changes' | 'whole';

/** A destination paused for this source: the plan left it alone. */
export interface PausedDestination {
  destination: string;
  /** `all` when every mapping is paused (`pause --all`). */
  scope: 'all' | 'pair';
  pausedAt: string;
  pausedBy: string;
  reason: string;
  /** Mappings indexes between this source and destination (0-based). */
  mappings: number[];
}

export interface SourcePlanSummary {
  source: string;
  dryRun: boolean;
  /** `idle`: nothing changed and nothing was due; `changes`: change-driven; `whole`: whole-source. */
  mode: PlanMode;
  /** Why a whole-source plan ran. */
  reason?: string;
  /** Objects looked at. */
  evaluated: { users: number; groups: number };
  destinations: DestinationPlanSummary[];
  /** The conflicts among the users this plan looked at (whole-source: all of them). */
  conflicts: ScopeConflict[];
  unreachable: UnreachableDestination[];
  /** Destinations paused for this source: not planned (absent or empty: none). */
  paused?: PausedDestination[];
  /** What the executor did (absent under dry run). */
  uploads?: ExecutionSummary;
}

/** Bumped when what a plan computes changes (record format, hashing): the next plan is whole. */
const PLAN_FORMAT = 2;

/**
 * Hash of everything a plan's desired state depends on besides the directory itself, and of the
 * destinations paused for the source (`paused`, sorted): a pause or resume makes the next plan whole.
 */
export function planConfigHash(config: Pick<ConnectorConfig, 'mappings' | 'options' | 'destinations'>, source: string, paused: readonly string[] = []): string {
  const mappings = config.mappings
    .filter((mapping) => mapping.source === source)
    .sort((a, b) => a.index - b.index)
    .map((mapping) => [mapping.index, mapping.destination, mapping.limitToGroups, mapping.exclude, mapping.include, ...(mapping.filter === null ? [] : [mapping.filter.text])]);
  const { includeDisabledUsers, includeGuests, requireMail, licensedUsersOnly, onConflict, deleteAfterDays } = config.options;
  const text = JSON.stringify([
    PLAN_FORMAT, mappings, config.destinations.map((d) => d.name).sort(), includeDisabledUsers, includeGuests, requireMail, onConflict, deleteAfterDays,
    // Appended only when on, so a config without the new keys keeps its hash and plans nothing again.
    ...(licensedUsersOnly ? ['licensedUsersOnly'] : []),
    ...(paused.length > 0 ? [['paused', ...paused]] : []),
  ]);
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}

function holdsAnything(summary: DestinationPlanSummary): boolean {
  return summary.users.destinationSize + summary.groups.destinationSize + summary.users.upserts + summary.groups.upserts > 0;
}

/** Why the whole source is planned this time, or undefined when a change-driven plan will do. */
function wholePlanReason(options: PlanOptions, state: Awaited<ReturnType<PlanStateStore['getPlanState']>>, configHash: string, journal: readonly JournalEntry[]): string | undefined {
  if (options.replan === true) return 'asked for (--replan)';
  if (state === undefined) return 'first plan of this source';
  if (state.configHash !== configHash) return 'the mappings or options changed';
  return journal.find((entry): entry is Extract<JournalEntry, { kind: 'wholePlan' }> => entry.kind === 'wholePlan')?.reason;
}

export async function planSource(
  source: string,
  config: Pick<ConnectorConfig, 'mappings' | 'options' | 'destinations'>,
  deps: PlanDependencies,
  runId: string,
  options: PlanOptions = {},
): Promise<SourcePlanSummary> {
  const now = (deps.now ?? (() => new Date()))();
  const dryRun = options.dryRun === true;
  const logger = deps.logger.child({ source, runId, ...(dryRun ? { dryRun } : {}) });
  const checkDeadline = () => {
    if (options.deadlineAt !== undefined && Date.now() >= options.deadlineAt) {
      throw new PlanDeadlineReached(`The plan of source ${source} ran out of its run budget; the next run plans the rest`);
    }
  };
  checkDeadline();
  if (!dryRun && deps.dispatches !== undefined) await recoverUnsentDispatch(source, { ...deps, dispatches: deps.dispatches }, config.options.deleteAfterDays, logger);
  const journal = await deps.journal.pending(source);
  const allConfigured = config.destinations.map((destination) => destination.name);
  const paused = pausedDestinations(deps.pauses === undefined ? [] : await deps.pauses.list(), source, allConfigured);
  // Everything below plans these; a paused destination is not looked at (see the header).
  const configured = allConfigured.filter((destination) => !paused.has(destination));
  const configHash = planConfigHash(config, source, pausedHashPart(paused));
  const state = await deps.planState.getPlanState(source);
  let reason = wholePlanReason(options, state, configHash, journal);
  const pausedSummary: PausedDestination[] = [...paused].map(([destination, pause]) => ({
    destination, scope: pause.pair === 'all' ? 'all' : 'pair', pausedAt: pause.pausedAt, pausedBy: pause.pausedBy, reason: pause.reason,
    mappings: mappingsBetween(config, { source, destination }),
  }));
  for (const pause of pausedSummary) logger.info('plan.destinationPaused', { destination: pause.destination, scope: pause.scope, pausedAt: pause.pausedAt, pausedBy: pause.pausedBy });
  const withPaused = pausedSummary.length > 0 ? { paused: pausedSummary } : {};
  if (configured.length === 0 && allConfigured.length > 0) {
    // Every destination of the source is paused: nothing to plan, and the journal is kept whole, so
    // the plan after the resume works from every change since (no whole-source plan needed).
    return { source, dryRun, mode: 'idle', evaluated: { users: 0, groups: 0 }, destinations: [], conflicts: [], unreachable: state?.unreachable ?? [], ...withPaused };
  }

  const holds = (await deps.deletions.listHolds()).filter((hold) => hold.source === source && !paused.has(hold.destination));
  const approvals = new Map<string, DeletionApproval>();
  for (const hold of holds) {
    const approval = await deps.deletions.getApproval(hold.destination, hold.source, hold.kind);
    if (approval !== undefined) approvals.set(`${hold.destination}|${hold.kind}`, approval);
  }

  const mailboxTypes: MailboxTypeReads | undefined = dryRun || deps.mailboxReader === undefined ? undefined : {
    reader: deps.mailboxReader, mirror: deps.mirror, source, logger, denied: false, asked: 0,
    refreshAll: journal.some((entry) => entry.kind === 'wholePlan' && entry.reason.startsWith('full round')),
  };
  const targetDeps = { ...deps, ...(mailboxTypes !== undefined ? { mailboxTypes } : {}) };

  // Choose what to look at: nothing, what changed or came due, or the whole source.
  let planned: PlannedTargets;
  let model: ScopeModel;
  let mode: PlanMode = 'whole';
  if (reason === undefined) {
    const changes = mergeJournal(journal);
    const summaries = new Map<string, Map<string, LedgerBucketSummary>>();
    for (const destination of configured) {
      for (const kind of PLANNED_KINDS) summaries.set(`${destination}|${kind}`, await deps.ledger.summaries({ destination, source, kind }));
    }
    const due = [...summaries.values()].some((map) => [...map.values()].some((summary) => summary.due !== null && Date.parse(summary.due) <= now.getTime()));
    if (isEmpty(changes) && !due && approvals.size === 0) {
      logger.debug('plan.idle', { journalEntries: journal.length });
      if (!dryRun && journal.length > 0) await deps.journal.consume(source, journal.flatMap((entry) => entry.rowKeys));
      return { source, dryRun, mode: 'idle', evaluated: { users: 0, groups: 0 }, destinations: [], conflicts: [], unreachable: state?.unreachable ?? [], ...withPaused };
    }
    mode = 'changes';
    model = buildScopeModel(await loadDirectoryGraph(deps.mirror, source), config, source);
    const fromChanges = await planFromChanges(source, configured, model, changes, summaries, targetDeps, now, config.options.deleteAfterDays, state?.users ?? 0);
    if (fromChanges === 'tooLarge') {
      reason = 'a change reached more than a quarter of the source';
      mode = 'whole';
      planned = await planWholeSource(source, configured, model, targetDeps);
    } else {
      planned = fromChanges;
    }
  } else {
    model = buildScopeModel(await loadDirectoryGraph(deps.mirror, source), config, source);
    planned = await planWholeSource(source, configured, model, targetDeps);
  }
  if (mode === 'whole') logger.info('plan.whole', { reason });
  if (mailboxTypes !== undefined && mailboxTypes.asked > 0) {
    logger.info('plan.mailboxTypes', { asked: mailboxTypes.asked, denied: mailboxTypes.denied, refreshAll: mailboxTypes.refreshAll });
  }
  checkDeadline();

  // Decide per destination and kind.
  const works: KindWork[] = [];
  const summaries = new Map<string, DestinationPlanSummary>();
  const holdWrites: { destination: string; kind: UploadKind; write: HoldWrite }[] = [];
  const auditRows: ObjectAuditRow[] = [];
  const health = new Map<string, Promise<DestinationHealth | undefined>>();
  for (const plan of planned.scopes) {
    checkDeadline();
    const { destination, kind } = plan.scope;
    const missingGroups = plan.mapped ? [...(model.missingGroupsByDestination.get(destination) ?? [])] : [];
    const displayName = config.destinations.find((candidate) => candidate.name === destination)?.displayName;
    const decision = await decideScope(plan, {
      source, runId, now, options: config.options, dryRun, missingGroups, sampleSize: options.sampleSize ?? 10,
      logger: displayName === undefined ? logger : logger.child({ destinationName: displayName }),
      ledger: deps.ledger, deletions: deps.deletions,
      approval: approvals.get(`${destination}|${kind}`),
      previousHold: holds.find((hold) => hold.destination === destination && hold.kind === kind),
      health: () => {
        let read = health.get(destination);
        if (read === undefined) {
          read = deps.health.get(destination);
          health.set(destination, read);
        }
        return read;
      },
    });
    if (decision.work !== undefined) works.push(decision.work);
    auditRows.push(...decision.audit);
    for (const write of decision.holdWrites) holdWrites.push({ destination, kind, write });
    const summary = summaries.get(destination) ?? {
      destination, users: emptyKindSummary(), groups: emptyKindSummary(), messages: 0, mapped: plan.mapped, missingGroups,
    };
    summary[kind] = decision.summary;
    if (decision.skippedBecause !== undefined) summary.skippedBecause = decision.skippedBecause;
    summaries.set(destination, summary);
  }

  // Destinations gone from the config that still hold something of this source (the config, and so
  // this list, can only change with a whole plan; other plans repeat what it found).
  const unreachable: UnreachableDestination[] = mode === 'whole' ? [] : [...(state?.unreachable ?? [])];
  const known = await deps.deletions.knownDestinations(source);
  if (mode === 'whole') {
    for (const destination of known) {
      // A paused destination is still configured: not planned now, not gone.
      if (allConfigured.includes(destination)) continue;
      const held = async (kind: UploadKind) => [...(await deps.ledger.summaries({ destination, source, kind })).values()].reduce((sum, s) => sum + s.held, 0);
      const gone: UnreachableDestination = { destination, users: await held('users'), groups: await held('groups') };
      if (gone.users + gone.groups === 0) continue;
      logger.warn('destination.unreachable', { ...gone, reason: 'not in the configuration any more; nothing can be sent or deleted there without its token' });
      unreachable.push(gone);
    }
  }

  for (const conflict of planned.conflicts) {
    logger.info('scope.conflict', { userId: conflict.userId, destinations: conflict.destinations, sentTo: conflict.sentTo, mappings: conflict.mappingIndexes, policy: config.options.onConflict });
  }
  const result: SourcePlanSummary = {
    source, dryRun, mode, ...(reason !== undefined ? { reason } : {}),
    evaluated: { users: planned.evaluatedUsers.size, groups: planned.evaluatedGroups },
    destinations: [...summaries.values()].filter((summary) => summary.mapped || holdsAnything(summary)),
    conflicts: planned.conflicts.map(({ sentTo: _sentTo, ...conflict }) => conflict), unreachable, ...withPaused,
  };
  if (dryRun) return result;

  // Records first, then what derives from this plan, then the journal.
  checkDeadline();
  const keepAlive = async () => {
    await options.keepAlive?.();
    checkDeadline();
  };
  const destinationNames = new Map(config.destinations.flatMap((d) => (d.displayName === undefined ? [] : [[d.name, d.displayName] as const])));
  result.uploads = await deps.executor.execute(works, { runId, deleteAfterDays: config.options.deleteAfterDays, logger, keepAlive, destinationNames });
  for (const work of works) {
    const summary = summaries.get(work.scope.destination);
    if (summary !== undefined) summary.messages += Math.ceil(work.sends.length / 100);
  }
  // After the executor: the ledger holds the patches these rows describe (see auditWriter.ts).
  if (deps.audit !== undefined) {
    // A whole-source plan looks at every user: only conflicts that are new or changed are decisions worth a row.
    const previousConflicts = mode === 'whole' && planned.conflicts.length > 0 ? await deps.conflicts.list(source).catch(() => []) : undefined;
    await recordAudit(deps.audit, [...auditRows, ...conflictSkipRows(runId, now, source, planned.conflicts, previousConflicts)], logger);
  }
  if (planned.reports !== undefined) await deps.reports.replace(source, planned.reports);
  if (planned.moves !== undefined && planned.moves.length > 0) await deps.reports.move(source, planned.moves);
  if (mode === 'whole') await deps.conflicts.replace(source, planned.conflicts);
  else if (planned.evaluatedUsers.size > 0) await deps.conflicts.update(source, [...planned.evaluatedUsers], planned.conflicts);
  for (const { destination, kind, write } of holdWrites) {
    if ('put' in write) await deps.deletions.putHold(write.put);
    else if ('clear' in write) await deps.deletions.clearHold(destination, source, kind);
    else await deps.deletions.clearApproval(destination, source, kind);
  }
  for (const summary of summaries.values()) {
    if (holdsAnything(summary) && !known.includes(summary.destination)) await deps.deletions.rememberDestination(source, summary.destination, now);
  }
  if (mode === 'whole') {
    await deps.planState.putPlanState(source, { configHash, users: planned.liveUsers ?? state?.users ?? 0, groups: planned.liveGroups, lastWholePlanAt: now.toISOString(), unreachable });
  }
  if (journal.length > 0) await deps.journal.consume(source, journal.flatMap((entry) => entry.rowKeys));
  for (const summary of summaries.values()) {
    // Counts only: the samples hold UPNs, which stay out of the logs.
    const counts = (kind: KindPlanSummary) => ({ upserts: kind.upserts, deletes: kind.deletes, unchanged: kind.unchanged, waitingDeletes: kind.waitingDeletes, heldDeletes: kind.heldDeletes, gate: kind.gate, destinationSize: kind.destinationSize });
    logger.info('plan.destination', { destination: summary.destination, mode, users: counts(summary.users), groups: counts(summary.groups), mapped: summary.mapped, skipped: summary.skippedBecause !== undefined });
  }
  return result;
}
