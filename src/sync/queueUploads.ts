/**
 * Carries out a plan's upload work through the queue (the Functions app): the records go to the
 * Outbox table, the ledger entries are marked queued (`q`, `qh`), then the ids are queued in
 * messages of up to 100 consecutive ids. In that order: a crash before the messages leaves marked
 * entries that come due 30 minutes later and are queued again; a message whose record is gone
 * (sent already, or superseded) finds nothing to do.
 */
import { patchEntries, summarizeEntries } from './ledgerPolicy';
import type { LedgerEntryPatch, LedgerStore, OutboxItem, OutboxStore, UploadQueue } from './ports';
import { bucketOfId } from './bucketOf';
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
  now?: () => Date;
}

export class QueueUploadExecutor implements UploadExecutor {
  readonly durable = true;

  constructor(private readonly deps: QueueUploadDependencies) {}

  async execute(works: readonly KindWork[], context: ExecutionContext): Promise<ExecutionSummary> {
    const summary = emptyExecutionSummary();
    const now = (this.deps.now ?? (() => new Date()))();
    for (const work of works) {
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
      for (let start = 0; start < work.sends.length; start += MAX_ITEMS_PER_BATCH) {
        const ids = work.sends.slice(start, start + MAX_ITEMS_PER_BATCH).map((item) => item.id);
        await this.deps.queue.sendUpload({ runId: context.runId, source: work.scope.source, destination: work.scope.destination, kind: work.scope.kind, ids });
        summary.messages += 1;
      }
      await context.keepAlive?.();
    }
    return summary;
  }
}
