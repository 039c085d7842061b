/**
 * A pull asked for by a change notification or a subscription catch-up, as the pull worker runs
 * it: through the coalescing gate (so notifications from now on queue the next pull), and queued
 * again when another run holds the source's lock, since that run may have read Graph before the
 * notified change happened.
 */
import type { Logger } from '../sync/logger';
import type { SyncRunSummary } from '../sync/runSync';
import type { NotifiedPullReason } from './ports';
import { beginNotifiedPull, requestNotifiedPull, type PullCoalescerDeps } from './pullCoalescer';

export interface NotifiedPullDependencies extends PullCoalescerDeps {
  logger: Logger;
  /** Runs the sync of this one source (runSync with `sources: [source]`). */
  runSync(): Promise<SyncRunSummary>;
}

export async function runNotifiedPull(source: string, reason: NotifiedPullReason, deps: NotifiedPullDependencies): Promise<SyncRunSummary | 'deferred'> {
  if ((await beginNotifiedPull(source, reason, deps)) === 'deferred') {
    deps.logger.info('notifiedPull.deferred', { source, reason });
    return 'deferred';
  }
  const summary = await deps.runSync();
  if (summary.pulls.some((pull) => pull.source === source && pull.status === 'locked')) {
    deps.logger.info('notifiedPull.requeued', { source, reason, why: 'another run holds the source' });
    await requestNotifiedPull(source, reason, deps);
  }
  return summary;
}
