/**
 * What each trigger does with the runtime, shared by the Functions adapters (functions/) and by
 * `serve`, so both run the very same handlers: the Functions adapters add the host's logger and
 * invocation id, `serve` its own queue readers and timers.
 */
import { randomUUID } from 'node:crypto';
import type { NotificationEndpoints } from '../realtime/notificationEndpoints';
import { runNotifiedPull } from '../realtime/notifiedPull';
import type { MaintenanceSummary } from '../realtime/subscriptionManager';
import type { Logger } from '../sync/logger';
import type { PullRequestedMessage, SubscriptionEventMessage, UploadRequestedMessage } from '../sync/messages';
import { processUpload } from '../sync/processUpload';
import { lockedPullRetries, MAX_LOCKED_PULL_REQUEUES } from '../sync/lockedPullRetry';
import { describeFailures, runSync, type SyncOptions, type SyncRunSummary } from '../sync/runSync';
import { parseSyncNowRequest } from '../sync/syncNowRequest';
import { displayNameOf } from '../config/names';
import type { ConnectorRuntime } from './runtime';

export interface RunContext {
  logger: Logger;
  /** Lock holder name: this instance plus the invocation. */
  holder: string;
  /** A run stops between pages after this and resumes next time. */
  deadlineAt?: number;
  /** Ends a pull at its next batch, checkpointed (serve's shutdown). */
  stopSignal?: AbortSignal;
  /** See SyncOptions.lockHolderIsGone (serve: a crashed earlier process on this machine). */
  lockHolderIsGone?: (holder: string) => boolean;
}

function failIfAnyFailed(runId: string, summary: SyncRunSummary | 'deferred'): void {
  if (summary !== 'deferred' && summary.failures.length > 0) {
    // Thrown so the run shows as failed (Application Insights, the queue's retry); the checkpoints make the next try resume.
    throw new Error(`Run ${runId} failed for: ${describeFailures(summary)}`);
  }
}

function syncOptions(context: RunContext, runId: string): SyncOptions {
  return {
    runId, holder: context.holder,
    ...(context.lockHolderIsGone !== undefined ? { lockHolderIsGone: context.lockHolderIsGone } : {}),
    ...(context.deadlineAt !== undefined ? { deadlineAt: context.deadlineAt } : {}),
    ...(context.stopSignal !== undefined ? { stopSignal: context.stopSignal } : {}),
  };
}

/** The delta timer: every source, incremental (full when due). */
export async function runScheduledSync(runtime: ConnectorRuntime, context: RunContext): Promise<SyncRunSummary> {
  const runId = randomUUID();
  // runSync adds the run id to its lines.
  const summary = await runSync({ ...runtime.syncDependencies(runtime.queueExecutor()), logger: context.logger }, syncOptions(context, runId));
  failIfAnyFailed(runId, summary);
  return summary;
}

/** A pull-requests message: sync now, a change notification, or a subscription catch-up. */
export async function runPullMessage(runtime: ConnectorRuntime, message: PullRequestedMessage, context: RunContext): Promise<SyncRunSummary | 'deferred'> {
  const logger = context.logger;
  const sync = () => runSync(
    { ...runtime.syncDependencies(runtime.queueExecutor()), logger },
    { ...syncOptions(context, message.runId), forceFull: message.full, ...(message.source !== undefined ? { sources: [message.source] } : {}) },
  );
  const source = message.source;
  const reason = message.reason;
  if (source !== undefined && (reason === 'changeNotification' || reason === 'subscriptionCatchUp')) {
    const notified = await runNotifiedPull(source, reason, { ...runtime.pullCoalescing, logger, runSync: sync });
    failIfAnyFailed(message.runId, notified);
    return notified;
  }
  const summary = await sync();
  // Put back before this message is completed: the caller was told 202 and must not lose the request.
  const { retries, dropped } = lockedPullRetries(message, summary);
  for (const retry of retries) {
    await runtime.queues.send(runtime.queues.pullRequests, retry, runtime.lockedPullRetryDelayInSeconds);
    logger.info('pull.requeued', {
      source: retry.source, full: retry.full, reason: retry.reason, requeues: retry.requeues,
      delayInSeconds: runtime.lockedPullRetryDelayInSeconds, why: 'another run holds the source',
    });
  }
  if (dropped.length > 0) {
    logger.error('pull.requestDropped', {
      sources: dropped, full: message.full, reason: message.reason, requeues: message.requeues ?? 0,
      why: `the source stayed locked through ${MAX_LOCKED_PULL_REQUEUES} tries; the timer's next run syncs it (ask again for a full round)`,
    });
  }
  failIfAnyFailed(message.runId, summary);
  return summary;
}

/** An uploads message: one batch of objects to one destination. */
export async function runUploadMessage(runtime: ConnectorRuntime, message: UploadRequestedMessage, logger: Logger): Promise<void> {
  // The message carries the storage key; the log lines also name the destination as written when it differs.
  const destinationName = runtime.config.destinations.find((destination) => destination.name === message.destination)?.displayName;
  await processUpload(message, { ...runtime.uploadDependencies(), logger: destinationName === undefined ? logger : logger.child({ destinationName }) });
}

/** A subscription-events message: a verified lifecycle event. */
export async function runSubscriptionEvent(
  runtime: ConnectorRuntime, message: SubscriptionEventMessage, endpoints: NotificationEndpoints | { unavailable: string },
): Promise<void> {
  await runtime.subscriptionManager(endpoints).onLifecycleEvent(message);
}

/** The subscription timer: create, renew, replace, delete. */
export async function runSubscriptionMaintenance(
  runtime: ConnectorRuntime, endpoints: NotificationEndpoints | { unavailable: string }, logger: Logger, options: { catchUp?: boolean } = {},
): Promise<MaintenanceSummary> {
  const summary = await runtime.subscriptionManager(endpoints).maintain(options);
  logger.info('subscriptions.maintained', {
    locked: summary.locked, created: summary.created, renewed: summary.renewed, deleted: summary.deleted, failed: summary.failed,
  });
  return summary;
}

/** POST /api/sync-now: queues a pull (durable before it is acknowledged) and answers 202 with the run id. */
export async function queueSyncNow(runtime: ConnectorRuntime, body: string, logger: Logger): Promise<{ status: number; body: Record<string, unknown> }> {
  const parsed = parseSyncNowRequest(body);
  if (!parsed.ok) return { status: 400, body: { error: parsed.error } };
  const asked = parsed.value.source;
  // Asked for by the name as written ("Contoso EMEA") or by its storage key; the queue carries the key.
  const source = asked === undefined ? undefined : runtime.config.sources.find((s) => s.name === asked || s.displayName === asked)?.name;
  if (asked !== undefined && source === undefined) {
    const defined = runtime.config.sources.map((s) => JSON.stringify(displayNameOf(s))).join(', ');
    return { status: 400, body: { error: `source: ${JSON.stringify(asked)} is not defined under EntraId; defined: ${defined}` } };
  }
  const runId = randomUUID();
  await runtime.queues.send(runtime.queues.pullRequests, {
    v: 1, type: 'pull', runId, full: parsed.value.full, reason: 'syncNow', requestedAt: new Date().toISOString(),
    ...(source !== undefined ? { source } : {}),
  });
  logger.info('syncNow.queued', { runId, full: parsed.value.full, source });
  return { status: 202, body: { runId, queued: true, full: parsed.value.full, source: source ?? null } };
}
