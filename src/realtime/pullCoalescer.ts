/**
 * Turns any number of change notifications for a source into few pulls: while a notified pull is
 * waiting in the queue, further notifications only join it; one that arrives while a pull runs
 * queues exactly one more; and notified pulls of one source start at least `minIntervalMs` apart,
 * so a storm of notifications costs one pull per interval. The state is a Table row per source,
 * written with ETags, because notifications for one source land on any instance.
 */
import { randomUUID } from 'node:crypto';
import type { NotifiedPullReason, PullGateState, PullGateStore, RealtimeQueue } from './ports';

/** Notified pulls of one source start at least this far apart. */
export const MIN_MS_BETWEEN_NOTIFIED_PULLS = 10_000;
/**
 * A claim whose message should have become visible this long ago is treated as lost (the send
 * failed after the claim and the release failed too); a new message is queued. A duplicate costs
 * one cheap pull; a lost claim would cost every notification until the timer.
 */
const STALE_CLAIM_MS = 2 * 60_000;
/** Rounds of read-and-write before a writer concedes that others are queuing the pull. */
const MAX_RACE_ROUNDS = 5;

export interface PullCoalescerDeps {
  gates: PullGateStore;
  queue: RealtimeQueue;
  now?: () => Date;
  minIntervalMs?: number;
}

const EMPTY: PullGateState = { queuedAt: null, notBefore: null, startedAt: null };

/** One look at the gate: the time, the row (and its tag) and when the last notified pull started (NaN: never). */
async function look(source: string, deps: PullCoalescerDeps): Promise<{ now: number; state: PullGateState; etag: string | undefined; lastStart: number }> {
  const now = (deps.now ?? (() => new Date()))().getTime();
  const current = await deps.gates.read(source);
  const state = current?.state ?? EMPTY;
  return { now, state, etag: current?.etag, lastStart: state.startedAt === null ? Number.NaN : Date.parse(state.startedAt) };
}

function claimIsLive(state: PullGateState, now: number): boolean {
  if (state.queuedAt === null) return false;
  const visibleAt = Date.parse(state.notBefore ?? state.queuedAt);
  return Number.isNaN(visibleAt) || now < visibleAt + STALE_CLAIM_MS;
}

/**
 * Makes sure a pull of `source` is queued. `queued`: this call queued it; `coalesced`: one was
 * already waiting. Throws when storage fails, so the webhook answers 5xx and Graph retries.
 */
export async function requestNotifiedPull(source: string, reason: NotifiedPullReason, deps: PullCoalescerDeps): Promise<'queued' | 'coalesced'> {
  const minInterval = deps.minIntervalMs ?? MIN_MS_BETWEEN_NOTIFIED_PULLS;
  for (let round = 0; round < MAX_RACE_ROUNDS; round += 1) {
    const { now, state, etag: current, lastStart } = await look(source, deps);
    if (claimIsLive(state, now)) return 'coalesced';
    const notBefore = Number.isNaN(lastStart) ? now : Math.max(now, lastStart + minInterval);
    const claimed: PullGateState = { queuedAt: new Date(now).toISOString(), notBefore: new Date(notBefore).toISOString(), startedAt: state.startedAt };
    const etag = await deps.gates.write(source, claimed, current);
    if (etag === undefined) continue;
    try {
      await deps.queue.sendPull({ source, reason, runId: randomUUID() }, Math.ceil((notBefore - now) / 1000));
    } catch (error) {
      // Give the claim back so the next notification queues again instead of waiting for staleness.
      await deps.gates.write(source, state, etag).catch(() => undefined);
      throw error;
    }
    return 'queued';
  }
  return 'coalesced';
}

/**
 * Called by the pull worker before a notified pull. `start`: go ahead (notifications from now on
 * queue the next one); `deferred`: a notified pull started less than the interval ago, so this
 * message only makes sure one follows at the right time.
 */
export async function beginNotifiedPull(source: string, reason: NotifiedPullReason, deps: PullCoalescerDeps): Promise<'start' | 'deferred'> {
  const minInterval = deps.minIntervalMs ?? MIN_MS_BETWEEN_NOTIFIED_PULLS;
  for (let round = 0; round < MAX_RACE_ROUNDS; round += 1) {
    const { now, etag, lastStart } = await look(source, deps);
    // A little slack: a message made visible exactly at the interval must not bounce on clock jitter.
    if (!Number.isNaN(lastStart) && now < lastStart + minInterval - 250) {
      await requestNotifiedPull(source, reason, deps);
      return 'deferred';
    }
    const started: PullGateState = { queuedAt: null, notBefore: null, startedAt: new Date(now).toISOString() };
    if ((await deps.gates.write(source, started, etag)) !== undefined) return 'start';
  }
  // Every round lost to a webhook claiming the next pull: start anyway, its message follows at the interval.
  return 'start';
}
