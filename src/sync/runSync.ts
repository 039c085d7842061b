/**
 * One sync run over the configured sources: pull each source into the mirror, then plan its
 * uploads. A source that fails does not stop the others; its error is in the summary and the
 * front turns it into a non-zero exit or a thrown invocation.
 */
import type { ConnectorConfig } from '../config/types';
import type { Logger } from './logger';
import { errorFields } from './logger';
import { planSourceUploads, type SourcePlanSummary } from './planUploads';
import type {
  ConflictStore, CursorStore, DeletionStateStore, DestinationHealthStore, DirectoryReader, LockStore, MirrorStore, UploadDispatcher, UploadStateStore,
} from './ports';
import { pullSource, type PageProgress, type PullSummary } from './pullSource';

export interface SyncDependencies {
  config: ConnectorConfig;
  mirror: MirrorStore;
  cursors: CursorStore;
  locks: LockStore;
  ledger: UploadStateStore;
  health: DestinationHealthStore;
  conflicts: ConflictStore;
  deletions: DeletionStateStore;
  readerFor(sourceName: string): DirectoryReader;
  dispatcher: UploadDispatcher;
  logger: Logger;
  now?: () => Date;
}

export interface SyncOptions {
  runId: string;
  holder: string;
  /** See PullOptions.lockHolderIsGone. */
  lockHolderIsGone?: (holder: string) => boolean;
  forceFull?: boolean;
  /** Only these sources (names under EntraId); default all. */
  sources?: readonly string[];
  deadlineAt?: number;
  onPage?: (progress: PageProgress) => void;
  /** Pull as usual, then only work the plans out: no ledger writes, nothing dispatched, nothing sent. */
  dryRun?: boolean;
}

export interface SourceFailure {
  source: string;
  stage: 'pull' | 'plan';
  error: Error;
}

export interface SyncRunSummary {
  runId: string;
  pulls: PullSummary[];
  plans: SourcePlanSummary[];
  failures: SourceFailure[];
  seconds: number;
}

export async function runSync(deps: SyncDependencies, options: SyncOptions): Promise<SyncRunSummary> {
  const started = Date.now();
  const logger = deps.logger.child({ runId: options.runId });
  const wanted = options.sources === undefined ? undefined : new Set(options.sources);
  const summary: SyncRunSummary = { runId: options.runId, pulls: [], plans: [], failures: [], seconds: 0 };
  logger.info('sync.start', { sources: deps.config.sources.map((s) => s.name), forceFull: options.forceFull ?? false, dryRun: options.dryRun ?? false });

  for (const source of deps.config.sources) {
    if (wanted !== undefined && !wanted.has(source.name)) continue;
    let pull: PullSummary;
    try {
      pull = await pullSource(source.name, { ...deps, reader: deps.readerFor(source.name), logger }, {
        forceFull: options.forceFull,
        fullReconcileHours: deps.config.options.fullReconcileHours,
        deadlineAt: options.deadlineAt,
        holder: options.holder,
        ...(options.lockHolderIsGone !== undefined ? { lockHolderIsGone: options.lockHolderIsGone } : {}),
        onPage: options.onPage,
      });
    } catch (error) {
      summary.failures.push({ source: source.name, stage: 'pull', error: asError(error) });
      logger.error('sync.pullFailed', { source: source.name, ...errorFields(error) });
      continue;
    }
    summary.pulls.push(pull);
    // Only a mirror whose rounds completed is planned from: a half-read full round could look
    // like objects leaving scope. The next run finishes the round and plans then.
    if (pull.status !== 'completed') continue;
    try {
      summary.plans.push(await planSourceUploads(source.name, deps.config, deps, options.runId, { dryRun: options.dryRun === true }));
    } catch (error) {
      summary.failures.push({ source: source.name, stage: 'plan', error: asError(error) });
      logger.error('sync.planFailed', { source: source.name, ...errorFields(error) });
    }
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
