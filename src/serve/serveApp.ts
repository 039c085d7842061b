/**
 * `s365-connector serve`: the event-driven app in one long-lived process, without the Functions
 * host. It runs what the Functions app registers: the webhook and lifecycle endpoints, the
 * subscription manager (with a public URL), the delta timer every Options.DeltaIntervalMinutes,
 * and the queue workers (pulls, uploads, subscription events), on the configured storage.
 */
import { randomUUID } from 'node:crypto';
import type { ConnectorConfig } from '../config/types';
import { notificationEndpoints, parsePublicBaseUrl, type NotificationEndpoints } from '../realtime/notificationEndpoints';
import type { MaintenanceSummary } from '../realtime/subscriptionManager';
import type { ConnectorRuntime, RuntimeOptions } from '../setup/runtime';
import { createRuntime } from '../setup/runtime';
import { isDeadLocalHolder } from '../setup/localHolder';
import { APP_SETTINGS, readAppSetting } from '../setup/appSettings';
import {
  queueSyncNow, runPullMessage, runScheduledSync, runSubscriptionEvent, runSubscriptionMaintenance, runUploadMessage, type RunContext,
} from '../setup/messageHandlers';
import { processScrubber } from '../setup/secretScrubber';
import { explainDependencies } from '../setup/explainDependencies';
import { createQueueClient } from '../store/storageAccount';
import type { Logger } from '../sync/logger';
import { errorFields } from '../sync/logger';
import { QUEUES, parseConnectorMessage } from '../sync/messages';
import { explainUser } from '../sync/explain';
import { readConnectorStatus } from '../sync/status';
import { dashboardPage } from '../dashboard/dashboardPage';
import { answerAuditRequest } from '../sync/auditListing';
import { startServeHttp, type ServeHttp } from './httpServer';
import { QueueReader } from './queueReader';

export interface ServeOptions {
  config: ConnectorConfig;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  port: number;
  /** Interface to listen on. */
  host: string;
  /** Where Graph reaches this process; without it no subscription is made and the timer carries changes. */
  publicUrl?: string;
  /** The key the notification URLs carry (?code=); default GRAPH_WEBHOOK_KEY. */
  webhookKey?: string;
  /** Lets non-loopback callers use /api/status, /api/dashboard, /api/audit and /api/sync-now. */
  apiKey?: string;
  /** Storage, Graph and destination overrides, as for the CLI (embedded Azurite when nothing is configured). */
  runtime?: Omit<RuntimeOptions, 'config' | 'logger' | 'env'>;
  /** Tests: the delta timer's period instead of Options.DeltaIntervalMinutes. */
  timerIntervalMs?: number;
  /** How long stop() waits for the work in progress to reach a checkpoint before it closes anyway. Default 9 s (docker stop allows 10). */
  shutdownGraceMs?: number;
}

export interface RunningServe {
  /** http://<host>:<port>, where this process listens. */
  url: string;
  port: number;
  runtime: ConnectorRuntime;
  endpoints: NotificationEndpoints | { unavailable: string };
  /** The last subscription pass (undefined until one ran). */
  lastMaintenance(): MaintenanceSummary | undefined;
  /** Runs the delta timer's work now (tests, and the first tick at start). */
  tick(): Promise<void>;
  /** Finishes or checkpoints what runs, then closes everything. */
  stop(): Promise<void>;
}

export async function startServe(options: ServeOptions): Promise<RunningServe> {
  const env = options.env ?? process.env;
  const logger = options.logger;
  const webhookKey = options.webhookKey ?? readAppSetting(env, APP_SETTINGS.webhookKey);
  processScrubber.register(webhookKey, options.apiKey);
  const intervalMinutes = options.config.options.deltaIntervalMinutes;
  const endpoints: NotificationEndpoints | { unavailable: string } = options.publicUrl === undefined
    ? { unavailable: `serve runs without --public-url, so Graph has nowhere to send notifications; changes arrive with the timer, every ${intervalMinutes} minutes` }
    : notificationEndpoints(parsePublicBaseUrl(options.publicUrl, '--public-url'), webhookKey);

  const runtime = await createRuntime({ embeddedStorageWhenUnset: true, ...options.runtime, config: options.config, logger, env });
  const stopping = new AbortController();
  const context: RunContext = { logger, holder: `${runtime.holder}:serve`, stopSignal: stopping.signal, lockHolderIsGone: (holder) => isDeadLocalHolder(holder) };

  const readers = new Map<string, QueueReader>();
  const reader = (base: string, concurrency: number, handle: (body: unknown) => Promise<void>): void => {
    const queue = createQueueClient(runtime.storage, base);
    readers.set(queue.name, new QueueReader({
      queue, poisonQueue: createQueueClient(runtime.storage, `${base}-poison`), concurrency, logger: logger.child({ queue: base }), handle,
    }));
  };
  reader(QUEUES.pullRequests, 1, async (body) => {
    const message = parseConnectorMessage(body);
    if (message.type !== 'pull') throw new Error(`a ${message.type} message on the pull queue`);
    await runPullMessage(runtime, message, { ...context, holder: `${context.holder}:${message.runId}` });
  });
  reader(QUEUES.uploads, 4, async (body) => {
    const message = parseConnectorMessage(body);
    if (message.type !== 'upload') throw new Error(`a ${message.type} message on the uploads queue`);
    await runUploadMessage(runtime, message, logger.child({ runId: message.runId }));
  });
  reader(QUEUES.subscriptionEvents, 1, async (body) => {
    const message = parseConnectorMessage(body);
    if (message.type !== 'subscriptionEvent') throw new Error(`a ${message.type} message on the subscription-events queue`);
    await runSubscriptionEvent(runtime, message, endpoints);
  });
  runtime.queues.onSent((queueName, delaySeconds) => readers.get(queueName)?.wake(delaySeconds));

  let http: ServeHttp;
  try {
    http = await startServeHttp({
      webhook: () => runtime.webhookDependencies({ webhookKey }),
      status: async () => processScrubber.scrub(JSON.stringify({
        ...(await readConnectorStatus(runtime)),
        serve: {
          notifications: 'display' in endpoints ? { url: endpoints.display } : { unavailable: endpoints.unavailable },
          webhook: runtime.webhookCounters,
        },
      })),
      dashboard: async () => {
        const page = await dashboardPage(runtime);
        return { headers: page.headers, body: processScrubber.scrub(page.body) };
      },
      audit: async (parameter) => {
        const answer = await answerAuditRequest({ trail: runtime.auditTrail, admin: runtime.audit }, runtime.config, parameter, new Date());
        return { status: answer.status, body: processScrubber.scrub(JSON.stringify(answer.body)) };
      },
      explain: async (user) => {
        const answer = await explainUser(explainDependencies(runtime), user);
        return { found: answer.found, body: processScrubber.scrub(JSON.stringify(answer)) };
      },
      syncNow: (body) => queueSyncNow(runtime, body, logger),
      ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}),
      logger,
    }, options.port, options.host);
  } catch (error) {
    await runtime.close();
    throw error;
  }
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${http.port}`;
  logger.info('serve.listening', { url, notifications: 'display' in endpoints ? endpoints.display : endpoints.unavailable });
  for (const queueReader of readers.values()) queueReader.start();

  let maintenance: MaintenanceSummary | undefined;
  let ticking: Promise<void> | undefined;
  const tick = (): Promise<void> => {
    // One tick at a time: a long full sync is not overlapped by the next one.
    ticking ??= (async () => {
      try {
        // The sync below reads Graph after any subscription made here: no separate catch-up pull.
        if (options.publicUrl !== undefined) maintenance = await runSubscriptionMaintenance(runtime, endpoints, logger, { catchUp: false });
      } catch (error) {
        logger.error('serve.subscriptionsFailed', { ...errorFields(error) });
      }
      if (stopping.signal.aborted) return;
      try {
        await runScheduledSync(runtime, { ...context, holder: `${context.holder}:${randomUUID()}` });
      } catch (error) {
        logger.error('serve.syncFailed', { ...errorFields(error) });
      }
    })().finally(() => { ticking = undefined; });
    return ticking;
  };
  const timer = setInterval(() => { void tick(); }, options.timerIntervalMs ?? intervalMinutes * 60_000);
  void tick();

  let stopped: Promise<void> | undefined;
  return {
    url, port: http.port, runtime, endpoints,
    lastMaintenance: () => maintenance,
    tick,
    stop: () => {
      stopped ??= (async () => {
        logger.info('serve.stopping', {});
        clearInterval(timer);
        stopping.abort();
        // A pull stops at its next batch (written and checkpointed); one stuck on an unreachable
        // service is left after the grace period: every page before it is checkpointed, and its
        // lease is taken over by the next start on this machine.
        const settled = Promise.all([http.close(), ticking, ...[...readers.values()].map((queueReader) => queueReader.stop())]).then(() => true);
        let graceTimer: NodeJS.Timeout | undefined;
        const grace = new Promise<false>((resolve) => { graceTimer = setTimeout(() => resolve(false), options.shutdownGraceMs ?? 9000); });
        const finished = await Promise.race([settled, grace]);
        clearTimeout(graceTimer);
        if (!finished) logger.warn('serve.stopTimedOut', { graceMs: options.shutdownGraceMs ?? 9000, note: 'work in progress left at its last checkpoint' });
        await runtime.close();
        logger.info('serve.stopped', { clean: finished });
      })();
      return stopped;
    },
  };
}
