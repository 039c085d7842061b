/**
 * `s365-connector sync`: the whole job without the Functions host (the vendor's container and
 * on-premises scenarios): load config, pull every source, plan, upload, print a summary.
 */
import { randomUUID } from 'node:crypto';
import { ConfigError } from '../config/errors';
import { loadConfig, type LoadedConfig } from '../config/load';
import type { ConnectorConfig } from '../config/types';
import { APP_SETTINGS, readAppSetting } from '../setup/appSettings';
import { createLogger, parseLogLevel, type LogSink } from '../setup/logging';
import { createRuntime, type ConnectorRuntime, type RuntimeOptions } from '../setup/runtime';
import { configSecrets } from '../config/mask';
import { processScrubber } from '../setup/secretScrubber';
import { assertNoUnresolvedKeyVaultReferences, UnresolvedKeyVaultReferenceError } from '../setup/unresolvedSettings';
import { isDeadLocalHolder } from '../setup/localHolder';
import { emptyExecutionSummary, type ExecutionSummary } from '../sync/uploadWork';
import { errorFields, type Logger } from '../sync/logger';
import { runSync, type SyncRunSummary } from '../sync/runSync';
import { destinationDisplayName, sourceDisplayName } from '../config/names';
import { formatSyncSummary } from './report';
import { createSyncProgressView, type SyncProgressView } from './syncProgressView';

export interface SyncCommandOptions {
  config?: string;
  full?: boolean;
  queues?: boolean;
  source?: string[];
  /** Folder for the embedded Azurite's data when no storage is configured (state survives runs). */
  state?: string;
  logLevel?: string;
  /** Repeat every Options.DeltaIntervalMinutes until interrupted. */
  watch?: boolean;
  uploadConcurrency?: number;
  /** Pull, then report the plan: nothing recorded, queued or sent. */
  dryRun?: boolean;
  /** Plan the whole source even when nothing asks for it. */
  replan?: boolean;
  /** Reconcile the destinations against the ledger before planning (first run of a --watch only). */
  reconcileDestinations?: boolean;
  /** Objects per pull batch (written and checkpointed together). */
  batchSize?: number;
  /** No progress on stderr (logs and the summary are unchanged). */
  quiet?: boolean;
}

export interface CliIo {
  env: NodeJS.ProcessEnv;
  out: (text: string) => void;
  err: (text: string) => void;
  logSink?: LogSink;
  progressStream?: NodeJS.WriteStream;
}

export const EXIT = { ok: 0, failed: 1, badConfig: 2 } as const;

/** --config wins over the app settings, so a run never reads a different config than the one named. */
export function configEnv(env: NodeJS.ProcessEnv, configPath: string | undefined): NodeJS.ProcessEnv {
  if (configPath === undefined) return env;
  const copy: NodeJS.ProcessEnv = { ...env, [APP_SETTINGS.configPath]: configPath };
  delete copy[APP_SETTINGS.configBlobUri];
  delete copy[APP_SETTINGS.configJson];
  return copy;
}

export async function loadConfigForCli(options: { config?: string }, io: CliIo): Promise<ConnectorConfig | undefined> {
  return (await loadConfigReportForCli(options, io))?.config;
}

/** The configuration with where it came from and its warnings; undefined (the errors printed) when it cannot be used. */
export async function loadConfigReportForCli(options: { config?: string }, io: CliIo): Promise<LoadedConfig | undefined> {
  try {
    assertNoUnresolvedKeyVaultReferences(io.env);
    const loaded = await loadConfig(configEnv(io.env, options.config));
    processScrubber.register(...configSecrets(loaded.config));
    return loaded;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof UnresolvedKeyVaultReferenceError) {
      io.err(`${processScrubber.scrub(error.message)}\n`);
      return undefined;
    }
    throw error;
  }
}

export interface SyncOnceResult {
  summary: SyncRunSummary;
  /** What was sent (or, with --queues, queued), over every source. */
  uploads?: ExecutionSummary;
}

/** The uploads of every plan of a run, added up. */
export function totalUploads(summary: SyncRunSummary): ExecutionSummary | undefined {
  const plans = summary.plans.filter((plan) => plan.uploads !== undefined);
  if (plans.length === 0) return undefined;
  const total = emptyExecutionSummary();
  for (const plan of plans) {
    const uploads = plan.uploads ?? emptyExecutionSummary();
    total.messages += uploads.messages;
    total.sent += uploads.sent;
    total.succeeded += uploads.succeeded;
    total.failed += uploads.failed;
    total.quarantinedDestinations.push(...uploads.quarantinedDestinations);
  }
  return total;
}

/**
 * The CLI logger's sink. While a run draws progress bars on the terminal the logs also go to, its
 * lines go through the bars (which print them above themselves) instead of tearing them.
 */
export class RoutedLogSink implements LogSink {
  #through: LogSink | undefined;

  constructor(private readonly direct: LogSink) {}

  write(line: string): void {
    (this.#through ?? this.direct).write(line);
  }

  /** Routes through the view until the returned function is called. */
  through(view: SyncProgressView): () => void {
    this.#through = view.logSink(this.direct);
    return () => { this.#through = undefined; };
  }
}

/** One run against an existing runtime (the demo calls this twice on one runtime). */
export async function syncOnce(
  runtime: ConnectorRuntime,
  options: {
    full?: boolean; replan?: boolean; reconcileDestinations?: boolean; queues?: boolean; sources?: string[]; uploadConcurrency?: number; logger: Logger;
    dryRun?: boolean; batchObjects?: number;
    /** Where progress is shown (default stderr): bars on a terminal, plain lines elsewhere; `quiet`: nowhere. */
    progressStream?: NodeJS.WriteStream; quiet?: boolean;
    /** The logger's sink, when it writes to the terminal the bars are drawn on. */
    sharedLogSink?: RoutedLogSink;
  },
): Promise<SyncOnceResult> {
  const runId = randomUUID();
  const progress = createSyncProgressView(options.progressStream ?? process.stderr, {
    quiet: options.quiet === true,
    names: { source: (key) => sourceDisplayName(runtime.config, key), destination: (key) => destinationDisplayName(runtime.config, key) },
  });
  const directLogs = options.sharedLogSink?.through(progress);
  try {
    return await syncOnceWith(runtime, options, runId, progress);
  } finally {
    progress.finish();
    directLogs?.();
  }
}

async function syncOnceWith(
  runtime: ConnectorRuntime, options: Parameters<typeof syncOnce>[1], runId: string, progress: SyncProgressView,
): Promise<SyncOnceResult> {
  const executor = options.queues === true ? runtime.queueExecutor({ progress }) : runtime.inProcessExecutor({ concurrency: options.uploadConcurrency ?? 4, progress });
  const summary = await runSync({ ...runtime.syncDependencies(executor), logger: options.logger, progress }, {
    runId, holder: `${runtime.holder}:${runId}`, forceFull: options.full, replan: options.replan,
    ...(options.reconcileDestinations === true ? { reconcileDestinations: true } : {}),
    ...(options.batchObjects !== undefined ? { batchObjects: options.batchObjects } : {}),
    ...(options.sources !== undefined && options.sources.length > 0 ? { sources: options.sources } : {}),
    dryRun: options.dryRun === true,
    // A CLI run that crashed on this machine leaves its lock behind; the next run takes it over.
    // So does an earlier run of this process whose release failed (storage was down): the
    // runs of one CLI process never overlap, so that lease has no live holder.
    lockHolderIsGone: (holder) => isDeadLocalHolder(holder) || (holder.startsWith(`${runtime.holder}:`) && holder !== `${runtime.holder}:${runId}`),
  });
  const uploads = totalUploads(summary);
  return uploads === undefined ? { summary } : { summary, uploads };
}

/** After a failed `--watch` run the next comes after 5 s, doubling, at most the usual interval (then the usual interval again once a run succeeds). */
const WATCH_RETRY_FIRST_IN_MS = 5_000;

/** When the next `--watch` run starts, after `consecutiveFailures` failed runs in a row (0: the last run succeeded). */
export function nextWatchRunInMs(consecutiveFailures: number, intervalInMs: number): number {
  if (consecutiveFailures <= 0) return intervalInMs;
  return Math.min(WATCH_RETRY_FIRST_IN_MS * 2 ** Math.min(consecutiveFailures - 1, 20), intervalInMs);
}

export async function runSyncCommand(options: SyncCommandOptions, io: CliIo): Promise<number> {
  const config = await loadConfigForCli(options, io);
  if (config === undefined) return EXIT.badConfig;
  // Without a sink of their own the logs go to stderr, where the progress is drawn too.
  const progressStream = io.progressStream ?? process.stderr;
  const sharedLogSink = io.logSink === undefined && progressStream === process.stderr
    ? new RoutedLogSink({ write: (line) => process.stderr.write(line) })
    : undefined;
  const logSink = io.logSink ?? sharedLogSink;
  const logger = createLogger({ level: parseLogLevel(options.logLevel ?? readAppSetting(io.env, APP_SETTINGS.logLevel) ?? 'warn'), ...(logSink ? { sink: logSink } : {}) });
  const runtimeOptions: RuntimeOptions = {
    config, logger, env: io.env,
    embeddedStorageWhenUnset: options.state !== undefined ? { folder: options.state } : true,
  };
  const runtime = await createRuntime(runtimeOptions);
  try {
    if (options.queues === true && runtime.embeddedStorage) {
      io.err('--queues needs storage the Functions app also reads: set AzureWebJobsStorage (or AzureWebJobsStorage__accountName).\n');
      return EXIT.badConfig;
    }
    if (runtime.embeddedStorage && options.state === undefined) {
      io.err('No storage configured: using an in-memory Azurite for this run (every run starts from scratch). Set AzureWebJobsStorage or pass --state <folder> to keep state between runs.\n');
    }
    let exitCode: number = EXIT.ok;
    // One-shot runs keep Node's default Ctrl+C (every page is checkpointed, so stopping anywhere
    // is safe). --watch stops after the run in progress; a second Ctrl+C stops at once.
    const stop = new AbortController();
    const onSignal = () => {
      if (stop.signal.aborted) process.exit(130);
      stop.abort();
      io.err('Stopping after the run in progress; Ctrl+C again to stop now (an interrupted round resumes next time).\n');
    };
    if (options.watch === true) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }
    try {
      let consecutiveFailures = 0;
      for (let run = 0; ; run += 1) {
        let failed: boolean;
        try {
          const { summary, uploads } = await syncOnce(runtime, {
            full: options.full === true && run === 0, replan: options.replan === true && run === 0,
            reconcileDestinations: options.reconcileDestinations === true && run === 0, queues: options.queues, sources: options.source,
            uploadConcurrency: options.uploadConcurrency, logger, progressStream, quiet: options.quiet === true, dryRun: options.dryRun,
            ...(sharedLogSink !== undefined ? { sharedLogSink } : {}),
            ...(options.batchSize !== undefined ? { batchObjects: options.batchSize } : {}),
          });
          const graphRequests = config.sources.reduce((sum, source) => sum + runtime.readerFor(source.name).stats().requests, 0);
          io.out(`${processScrubber.scrub(formatSyncSummary(summary, options.queues === true ? undefined : uploads, { graph: graphRequests }, config))}\n`);
          if (options.dryRun === true) io.out('  Dry run: nothing was recorded, queued or sent.\n');
          else if (options.queues === true) io.out(`  Upload work queued on ${runtime.queues.uploads.name}; the uploadWorker function processes it.\n`);
          // A skipped (locked) source did not sync: for a person at a prompt that is not success.
          const skipped = summary.pulls.some((pull) => pull.status === 'locked');
          exitCode = summary.failures.length > 0 || skipped || (options.queues !== true && (uploads?.failed ?? 0) > 0) ? EXIT.failed : EXIT.ok;
          failed = summary.failures.length > 0;
        } catch (error) {
          // A one-shot run reports it as before; --watch must outlive a storage or network outage.
          if (options.watch !== true) throw error;
          logger.error('watch.runFailed', { ...errorFields(error) });
          io.err(`Run failed: ${processScrubber.scrub(error instanceof Error ? error.message : String(error))}\n`);
          exitCode = EXIT.failed;
          failed = true;
        }
        if (options.watch !== true || stop.signal.aborted) break;
        consecutiveFailures = failed ? consecutiveFailures + 1 : 0;
        const waitInMs = nextWatchRunInMs(consecutiveFailures, config.options.deltaIntervalMinutes * 60_000);
        if (failed) {
          logger.warn('watch.backoff', { consecutiveFailures, nextRunInMs: waitInMs });
          io.err(`Run failed; next run in ${Math.round(waitInMs / 1000)} s (retrying sooner after a failure, backing off while it lasts); Ctrl+C to stop.\n`);
        } else {
          io.err(`Next run in ${config.options.deltaIntervalMinutes} minute(s); Ctrl+C to stop.\n`);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, waitInMs);
          stop.signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
        });
        if (stop.signal.aborted) break;
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return exitCode;
  } finally {
    await runtime.close();
  }
}
