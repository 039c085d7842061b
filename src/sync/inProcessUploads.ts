/**
 * The CLI's dispatcher: keeps upload work in memory during planning, then processes it with
 * bounded concurrency. Same processUpload as the queue function, so both paths behave alike.
 */
import type { UploadRequestedMessage } from './messages';
import type { UploadDispatcher } from './ports';
import { processUpload, type UploadDependencies, type UploadOutcome } from './processUpload';

export interface DrainSummary {
  messages: number;
  sent: number;
  succeeded: number;
  failed: number;
  /** Destinations that went into (or were in) quarantine during the drain, with why. */
  quarantinedDestinations: { destination: string; reason: 'unauthorized' | 'unavailable' | 'deferred' }[];
}

export class InProcessUploadDispatcher implements UploadDispatcher {
  readonly durable = false;
  private pending: UploadRequestedMessage[] = [];

  dispatch(message: Omit<UploadRequestedMessage, 'v' | 'type'>): Promise<void> {
    this.pending.push({ v: 1, type: 'upload', ...message });
    return Promise.resolve();
  }

  get size(): number {
    return this.pending.length;
  }

  /**
   * Processes everything dispatched so far. Messages of one destination run one after another
   * (a destination sees one batch at a time, as the contract's rate limits expect); destinations
   * run in parallel, at most `concurrency` at once.
   */
  async drain(deps: UploadDependencies, options: { concurrency?: number; onMessage?: (outcome: UploadOutcome, message: UploadRequestedMessage) => void } = {}): Promise<DrainSummary> {
    const work = this.pending;
    this.pending = [];
    const byDestination = new Map<string, UploadRequestedMessage[]>();
    for (const message of work) {
      const queue = byDestination.get(message.destination);
      if (queue === undefined) byDestination.set(message.destination, [message]);
      else queue.push(message);
    }
    const summary: DrainSummary = { messages: work.length, sent: 0, succeeded: 0, failed: 0, quarantinedDestinations: [] };
    const lanes = [...byDestination.values()];
    let next = 0;
    const runLane = async (): Promise<void> => {
      while (next < lanes.length) {
        const lane = lanes[next] ?? [];
        next += 1;
        for (const message of lane) {
          const outcome = await processUpload(message, deps);
          summary.sent += outcome.sent;
          summary.succeeded += outcome.succeeded;
          summary.failed += outcome.failed;
          options.onMessage?.(outcome, message);
          if (outcome.quarantined !== undefined) {
            summary.quarantinedDestinations.push({ destination: message.destination, reason: outcome.quarantined });
            break; // the rest of this destination's work waits for its quarantine to end
          }
        }
      }
    };
    // allSettled: a failing lane must not leave the others running detached.
    const settled = await Promise.allSettled(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, lanes.length)) }, runLane));
    const failure = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
    return summary;
  }
}
