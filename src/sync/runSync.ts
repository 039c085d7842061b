/**
 * One sync run over the configured sources: for each source, under its lock, pull into the mirror,
 * then plan and carry out the uploads. The lock covers the plan too: a plan consumes the change
 * journal, so two plans of one source must never overlap. After a pull that completed a full round
 * (FullReconcileHours, `--full`), or when asked (`--reconcile-destinations`), the destinations are
 * reconciled against the ledger before the plan (destinationReconcile.ts), under the same lock. A source that fails does not stop the
 * others; its error is in the summary and the front turns it into a non-zero exit or a thrown
 * invocation.
 */
import { credentialExpiry, needsWarning } from '../graph/credentialExpiry';
import type { CredentialWatch } from './credentialWatch';
import type { ConnectorConfig } from '../config/types';
import type { Logger } from './logger';
import { errorFields } from './logger';
import { reconcileDestinations, type SourceReconcileSummary } from './destinationReconcile';
import { isPlanDeadlineReached, planSource, type SourcePlanSummary } from './planSource';
import type {
  ChangeJournal, ConflictStore, CursorStore, DeletionStateStore, DispatchMarkerStore, DestinationHealthStore, DestinationListing, DirectoryReader, HeldLock,
  LedgerStore, LockStore, MirrorStore, ObjectAuditLog, PauseStore, PlanStateStore, ReportsIndex, RunHistoryStore,
} from './ports';
import { acquireSourceLock, pullSource, SOURCE_LOCK_TTL_IN_MS, type PullSummary } from './pullSource';
import { isLockLost, keepLeaseFresh, type LeaseKeeper } from './leaseKeeper';
import type { SyncProgress } from './syncProgress';
import { recordRunHistory } from './runHistory';
import type { UploadExecutor } from './uploadWork';

export interface SyncDependencies {
  config: ConnectorConfig;
  mirror: MirrorStore;
  cursors: CursorStore;
  locks: LockStore;
  journal: ChangeJournal;
  ledger: LedgerStore;
  reports: ReportsIndex;
  conflicts: ConflictStore;
  planState: PlanStateStore;
  /** Where the queue executor leaves a dispatch under way (absent: nothing to recover, e.g. in-process only). */
  dispatches?: DispatchMarkerStore;
  health: DestinationHealthStore;
  deletions: DeletionStateStore;
  /** The administrator's pauses, read by the plan and the reconcile (absent: nothing is paused). */
  pauses?: Pick<PauseStore, 'list'>;
  readerFor(sourceName: string): DirectoryReader;
  /** What a configured destination holds, for the reconcile; undefined for a name not configured. */
  destinationListing(name: string): DestinationListing | undefined;
  executor: UploadExecutor;
  logger: Logger;
  now?: () => Date;
  /** Reads and remembers client secrets' end dates (absent: only what the config tells, certificates). */
  credentialWatch?: CredentialWatch;
  /** The audit trail (the plan's rows; purged here after Options.AuditRetentionDays). Absent: none. */
  audit?: ObjectAuditLog;
  /** Told of the pull's pages and rounds (the uploads tell the executor's own); absent: nobody is watching. */
  progress?: SyncProgress;
  /** Where each source's run is recorded for the status page (absent: not recorded). */
  runHistory?: RunHistoryStore;
}

export interface SyncOptions {
  runId: string;
  holder: string;
  /** See PullOptions.lockHolderIsGone. */
  lockHolderIsGone?: (holder: string) => boolean;
  forceFull?: boolean;
  /** Plan every source whole even when nothing asks for it. */
  replan?: boolean;
  /** Only these sources (names as written under EntraId, or their storage keys); default all. */
  sources?: readonly string[];
  deadlineAt?: number;
  /** See PullOptions.stopSignal. */
  stopSignal?: AbortSignal;
  /** Pull as usual, then only work the plans out: nothing written by the plan, nothing sent. */
  dryRun?: boolean;
  /** Batch size of the pull in objects (tests use small ones to checkpoint often). */
  batchObjects?: number;
  /** Reconcile the destinations before the plan even when the pull was not a full round. */
  reconcileDestinations?: boolean;
  /** The source lock's lease (default 5 minutes; tests shorten it). */
  lockTtlInMs?: number;
}

export interface SourceFailure {
  source: string;
  stage: 'pull' | 'reconcile' | 'plan';
  error: Error;
}

export interface SyncRunSummary {
  runId: string;
  pulls: PullSummary[];
  /** Reconciles against the destinations (after a full round, or when asked). */
  reconciles: SourceReconcileSummary[];
  plans: SourcePlanSummary[];
  failures: SourceFailure[];
  seconds: number;
}

async function syncSource(deps: SyncDependencies, options: SyncOptions, source: string, lease: LeaseKeeper, logger: Logger, summary: SyncRunSummary): Promise<void> {
  let pull: PullSummary;
  try {
    pull = await pullSource(source, { ...deps, reader: deps.readerFor(source), logger }, {
      forceFull: options.forceFull,
      fullReconcileHours: deps.config.options.fullReconcileHours,
      deadlineAt: options.deadlineAt,
      ...(options.stopSignal !== undefined ? { stopSignal: options.stopSignal } : {}),
      holder: options.holder,
      heldLease: lease,
      ...(options.batchObjects !== undefined ? { batchObjects: options.batchObjects } : {}),
    });
  } catch (error) {
    summary.failures.push({ source, stage: 'pull', error: asError(error) });
    logger.error('sync.pullFailed', { source, ...errorFields(error) });
    return;
  }
  summary.pulls.push(pull);
  // Only a mirror whose rounds completed is planned from: a half-read full round could look
  // like objects leaving scope. The next run finishes the round and plans then.
  if (pull.status !== 'completed') return;
  // The lease is renewed by its timer; between steps the work checks it was not taken over.
  const keepAlive = (): Promise<void> => { lease.assertHeld(); return Promise.resolve(); };
  const fullRound = pull.users?.roundKind === 'full' || pull.groups?.roundKind === 'full';
  let reconcileError: Error | undefined;
  // A dry run calls no destination unless the reconcile was asked for (its calls only read).
  if (options.reconcileDestinations === true || (fullRound && options.dryRun !== true)) {
    try {
      const reconciled = await reconcileDestinations(source, deps.config, deps, options.runId, { dryRun: options.dryRun === true, keepAlive });
      summary.reconciles.push(reconciled);
      const failed = reconciled.destinations.filter((destination) => destination.error !== undefined);
      if (failed.length > 0) reconcileError = new Error(failed.map((destination) => `${destination.destination}: ${destination.error ?? ''}`).join('; '));
    } catch (error) {
      reconcileError = asError(error);
    }
    if (reconcileError !== undefined) logger.error('sync.reconcileFailed', { source, ...errorFields(reconcileError) });
    // Asked for (`--reconcile-destinations`), a failed reconcile fails the run. Run by itself with a full
    // round it is logged and reported but fails nothing: a destination whose listing is broken must not
    // turn every periodic full round into a failed run (and, on the queue path, a poisoned message).
    if (reconcileError !== undefined && options.reconcileDestinations === true) summary.failures.push({ source, stage: 'reconcile', error: reconcileError });
  }
  // A failed reconcile changes nothing it did not finish; the plan goes on with the ledger as it is.
  try {
    // Planned under the same lease as the pull: two plans of one source never run at once.
    lease.assertHeld();
    summary.plans.push(await planSource(source, deps.config, { ...deps, mailboxReader: deps.readerFor(source) }, options.runId, {
      dryRun: options.dryRun === true, replan: options.replan === true,
      keepAlive,
      // The run's budget: a plan that would outlast it stops at a checkpoint instead of being killed.
      ...(options.deadlineAt !== undefined ? { deadlineAt: options.deadlineAt } : {}),
    }));
  } catch (error) {
    if (isPlanDeadlineReached(error)) {
      logger.info('plan.paused', { source, reason: 'deadline', action: 'the next run plans the rest' });
      return;
    }
    if (isLockLost(error)) {
      // The instance that took the source over plans it; what this plan recorded is idempotent to plan again.
      logger.warn('plan.stopped', { source, reason: 'the source lock was taken over', ...errorFields(error) });
      return;
    }
    summary.failures.push({ source, stage: 'plan', error: asError(error) });
    logger.error('sync.planFailed', { source, ...errorFields(error) });
  }
}

export async function runSync(deps: SyncDependencies, options: SyncOptions): Promise<SyncRunSummary> {
  const started = Date.now();
  const logger = deps.logger.child({ runId: options.runId });
  const wanted = options.sources === undefined ? undefined : new Set(options.sources);
  const summary: SyncRunSummary = { runId: options.runId, pulls: [], reconciles: [], plans: [], failures: [], seconds: 0 };
  logger.info('sync.start', { sources: deps.config.sources.map((s) => s.name), forceFull: options.forceFull ?? false, dryRun: options.dryRun ?? false });
  for (const source of deps.config.sources) {
    // Said at every run, 30 and 7 days ahead, so the alerts on warnings see it before sign-in fails.
    const expiry = deps.credentialWatch === undefined
      ? credentialExpiry(source.auth)
      : await deps.credentialWatch.current(source, deps.readerFor(source.name), deps.now?.() ?? new Date(), logger);
    if (needsWarning(expiry)) logger.warn('credential.expiring', { source: source.name, level: expiry.level, expiresAt: expiry.expiresAt, daysLeft: expiry.daysLeft });
  }

  for (const source of deps.config.sources) {
    // --source takes the name as written or its storage key.
    if (wanted !== undefined && !wanted.has(source.name) && !(source.displayName !== undefined && wanted.has(source.displayName))) continue;
    let lock: HeldLock | undefined;
    try {
      lock = await acquireSourceLock(deps.locks, source.name, options);
    } catch (error) {
      summary.failures.push({ source: source.name, stage: 'pull', error: asError(error) });
      logger.error('sync.pullFailed', { source: source.name, ...errorFields(error) });
      continue;
    }
    if (lock === undefined) {
      logger.info('pull.skipped', { source: source.name, reason: 'another instance is pulling this source' });
      summary.pulls.push({ source: source.name, status: 'locked', seconds: 0 });
      continue;
    }
    // `source` is the storage key every other line carries; `sourceName` is the name as written, when it differs.
    const sourceLogger = logger.child({ source: source.name, ...(source.displayName === undefined ? {} : { sourceName: source.displayName }) });
    const lease = keepLeaseFresh(lock, {
      ttlInMs: options.lockTtlInMs ?? SOURCE_LOCK_TTL_IN_MS,
      onRenewFailed: (error) => sourceLogger.warn('lock.renewFailed', { ...errorFields(error), retry: 'at the next tick' }),
      onLost: (error) => sourceLogger.warn('lock.lost', { ...errorFields(error) }),
    });
    try {
      const sourceStartedAt = deps.now?.() ?? new Date();
      await syncSource(deps, options, source.name, lease, sourceLogger, summary);
      // Still under the lock, so one source's history rows are never written by two runs at once.
      if (options.dryRun !== true) {
        await recordRunHistory(deps, {
          pull: summary.pulls.find((pull) => pull.source === source.name),
          plan: summary.plans.find((plan) => plan.source === source.name),
          failed: summary.failures.some((failure) => failure.source === source.name),
        }, { runId: options.runId, source: source.name, startedAt: sourceStartedAt, queued: deps.executor.durable }, sourceLogger);
      }
    } finally {
      await lease.stop();
      const held = lock;
      await held.release().catch((error: unknown) => logger.warn('lock.releaseFailed', { source: source.name, ...errorFields(error) }));
    }
  }
  if (deps.audit !== undefined && options.dryRun !== true) {
    // Whole day tables, one listing per process and day at most: never worth failing a run for.
    await deps.audit.purge(deps.config.options.auditRetentionDays, new Date())
      .catch((error: unknown) => logger.warn('audit.purgeFailed', { ...errorFields(error), retentionDays: deps.config.options.auditRetentionDays }));
  }
  summary.seconds = (Date.now() - started) / 1000;
  logger.info('sync.done', { seconds: summary.seconds, failures: summary.failures.length });
  return summary;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** One line naming every failed source and why, for an invocation that must fail. */
export function describeFailures(summary: SyncRunSummary): string {
  return summary.failures.map((failure) => `${failure.source} (${failure.stage}: ${failure.error.message})`).join('; ');
}
