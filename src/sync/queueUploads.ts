/**
 * Carries out a plan's upload work through the queue (the Functions app): the records go to the
 * Outbox table, the ledger entries are marked queued (`q`, `qh`), then the ids are queued in
 * messages of up to 100 consecutive ids. A message whose record is gone (sent already, or
 * superseded) finds nothing to do.
 *
 * The marks come before the messages (a worker must find the mark to send anything), so a crash
 * between the two would leave marked entries without a message, waiting 30 minutes for the
 * re-queue check. So a dispatch marker is written first (per destination and kind), naming the
 * time of the marks and the buckets they are in, and cleared once its messages are sent (two
 * requests per destination and kind with work): the next plan that finds it
 * (planSource.ts) makes those marks due at once, and their work is queued again by that plan.
 * A dispatch that did send some messages before the crash only costs duplicates the worker
 * ignores (it sends what is owed, once).
 */
import { patchEntries, summarizeEntries } from './ledgerPolicy';
import { failpoint } from './failpoints';
import type { DispatchMarker, DispatchMarkerStore, LedgerEntryPatch, LedgerStore, OutboxItem, OutboxStore, UploadQueue } from './ports';
import { bucketOfId } from './bucketOf';
import type { SyncProgress } from './syncProgress';
import {
  MAX_ITEMS_PER_BATCH, bucketPatches, emptyExecutionSummary,
  type ExecutionContext, type ExecutionSummary, type KindWork, type UploadExecutor,
} from './uploadWork';

/** Records written to the outbox per call: bounded memory for a large plan. */
const OUTBOX_CHUNK = 1_000;

export interface QueueUploadDependencies {
  ledger: LedgerStore;
  outbox: OutboxStore;
  queue: UploadQueue;
  dispatches: DispatchMarkerStore;
  now?: () => Date;
}

export class QueueUploadExecutor implements UploadExecutor {
  readonly durable = true;

  /** progress: told of the work planned and of every message queued (`sync --queues`). */
  constructor(private readonly deps: QueueUploadDependencies, private readonly options: { progress?: SyncProgress } = {}) {}

  async execute(works: readonly KindWork[], context: ExecutionContext): Promise<ExecutionSummary> {
    const summary = emptyExecutionSummary();
    const now = (this.deps.now ?? (() => new Date()))();
    for (const { scope, sends } of works) if (sends.length > 0) this.options.progress?.onPlan({ ...scope, items: sends.length, path: 'queue' });
    for (const work of works) {
      // One marker per destination and kind, so a plan stopped between them (deadline, lost lease) leaves none behind.
      const marker: DispatchMarker | undefined = work.sends.length === 0 ? undefined : {
        q: now.toISOString(),
        scopes: [{ destination: work.scope.destination, kind: work.scope.kind, buckets: [...new Set(work.sends.map((item) => bucketOfId(item.id)))].sort() }],
      };
      if (marker !== undefined) await this.deps.dispatches.putDispatch(work.scope.source, marker);
      for (let start = 0; start < work.sends.length; start += OUTBOX_CHUNK) {
        const items: OutboxItem[] = [];
        for (const item of work.sends.slice(start, start + OUTBOX_CHUNK)) {
          items.push({
            id: item.id, op: item.op, hash: item.hash,
            ...(item.baseHash !== undefined ? { baseHash: item.baseHash } : {}),
            ...(item.record !== undefined ? { record: await item.record() } : {}),
          });
        }
        await this.deps.outbox.put(work.scope, items);
      }
      const queued = new Map<string, LedgerEntryPatch>();
      for (const item of work.sends) queued.set(item.id, { q: now.toISOString(), qh: item.hash });
      const buckets = [...new Set([...work.patches.keys(), ...work.sends.map((item) => bucketOfId(item.id))])].sort();
      await this.deps.ledger.update(work.scope, buckets, (bucket, entries) => {
        for (const [id, patch] of bucketPatches(work, bucket)) patchEntries(entries, id, patch);
        for (const [id, patch] of queued) if (bucketOfId(id) === bucket) patchEntries(entries, id, patch);
      }, (entries) => summarizeEntries(entries, context.deleteAfterDays), work.preloaded === undefined ? {} : { preloaded: work.preloaded });
      if (work.sends.length > 0) failpoint('afterQueueMarkBeforeSend');
      for (let start = 0; start < work.sends.length; start += MAX_ITEMS_PER_BATCH) {
        const ids = work.sends.slice(start, start + MAX_ITEMS_PER_BATCH).map((item) => item.id);
        await this.deps.queue.sendUpload({ runId: context.runId, source: work.scope.source, destination: work.scope.destination, kind: work.scope.kind, ids });
        summary.messages += 1;
        this.options.progress?.onUploadBatch({ ...work.scope, items: ids.length, acknowledged: 0, outcome: 'queued' });
      }
      if (marker !== undefined) await this.deps.dispatches.clearDispatch(work.scope.source, marker.q);
      await context.keepAlive?.();
    }
    return summary;
  }
}
