/**
 * What becomes of a requested pull (sync now, a timer or CLI request on the queue) that found its
 * source locked by another run: the caller was told 202, so the request is put back on the queue,
 * invisible for a while, rather than completed and forgotten. The running pull may have read Graph
 * before the change the caller wants, and a `full` request asks for a round the running one may
 * not be, so the request is kept as it was asked (`full` stays `full`).
 *
 * Bounded: after MAX_LOCKED_PULL_REQUEUES tries (30 × 60 s, longer than a Functions run of 30
 * minutes can hold a lock) the request is dropped and the caller logs an error; the timer's next
 * run still syncs the source, a full request is then lost and must be asked again.
 * Notified pulls are not handled here: their coalescing gate queues the next one (notifiedPull.ts).
 */
import type { PullRequestedMessage } from './messages';
import type { SyncRunSummary } from './runSync';

export const MAX_LOCKED_PULL_REQUEUES = 30;
/** A lock's lease is renewed every minute; a minute's wait lets a running pull's next batch pass. */
export const LOCKED_PULL_RETRY_DELAY_IN_SECONDS = 60;

export interface LockedPullRetries {
  /** The requests to queue again, one per locked source (a request for every source is split). */
  retries: PullRequestedMessage[];
  /** Sources whose request has been put back too often and is dropped. */
  dropped: string[];
}

/** Pure: which parts of `message` to queue again after a run whose summary says some sources were locked. */
export function lockedPullRetries(message: PullRequestedMessage, summary: Pick<SyncRunSummary, 'pulls'>): LockedPullRetries {
  const locked = summary.pulls.filter((pull) => pull.status === 'locked').map((pull) => pull.source);
  const requeues = (message.requeues ?? 0) + 1;
  if (requeues > MAX_LOCKED_PULL_REQUEUES) return { retries: [], dropped: locked };
  return { retries: locked.map((source) => ({ ...message, source, requeues })), dropped: [] };
}
