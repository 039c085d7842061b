/**
 * Carries out a plan's upload work in this process (the CLI, `serve`): sends batches of up to 100
 * items, one destination after another per lane (a destination sees one batch at a time, as the
 * contract's rate limits expect; destinations run in parallel), and writes each ledger bucket once,
 * with the plan's patches and the outcomes together, when the last of its items is back.
 *
 * Nothing is written before an item is sent: what the plan decided lives in memory until then, and
 * the change journal entry that caused it stays until the whole execution is done, so a crash here
 * is healed by planning the same entry again.
 */
import { outcomeAuditRow, parseSentRecord, type SentRecord } from './auditRows';
import { recordAudit } from './auditWriter';
import { failpoint } from './failpoints';
import { fieldFingerprints } from './fieldFingerprints';
import { errorFields } from './logger';
import { outcomePatch, patchEntries, summarizeEntries, type ItemOutcome } from './ledgerPolicy';
import type { DeletionStateStore, DestinationClient, DestinationHealthStore, LedgerStore, ObjectAuditLog, ObjectAuditRow } from './ports';
import { markHealthy, markUnhealthy } from './quarantine';
import { bucketOfId } from './bucketOf';
import type { SyncProgress } from './syncProgress';
import {
  MAX_ITEMS_PER_BATCH, QUARANTINE_EVENTS, bucketPatches, classifyUploadFailure, describeItemFailure, emptyExecutionSummary, sendBatch,
  type ExecutionContext, type ExecutionSummary, type KindWork, type SendItem, type UploadExecutor,
} from './uploadWork';

export interface InProcessUploadDependencies {
  ledger: LedgerStore;
  health: DestinationHealthStore;
  /** Where acknowledged deletions are counted, for the deletion gate's rolling 24-hour cap. */
  deletions: Pick<DeletionStateStore, 'recordExecuted'>;
  /** The destination client for a destination name (undefined when the config no longer has it). */
  destination(name: string): DestinationClient | undefined;
  /** The `source` field the destination expects for an Entra source (its tenant id). */
  sourceKey(sourceName: string): string | undefined;
  /** The audit trail: a row per outcome, written after the ledger holds it (absent: none). */
  audit?: ObjectAuditLog;
  now?: () => Date;
}

/** One item's outcome until the ledger holds it; `record` (upserts sent) names the changed fields for the audit trail. */
interface PendingOutcome {
  item: SendItem;
  outcome: ItemOutcome;
  record?: SentRecord;
  /** Deferred items: why they were not sent (the audit row's reason). */
  deferredBecause?: string;
}

/**
 * The ledger is written after this many batches (and at the end): a crash re-sends at most the
 * batches since the last write (upserts are idempotent at the destination), and a 100k-user first
 * sync writes its ledger in about 130 transactions instead of 1,000.
 */
export const WRITE_LEDGER_EVERY_BATCHES = 8;

export class InProcessUploadExecutor implements UploadExecutor {
  readonly durable = false;

  constructor(
    private readonly deps: InProcessUploadDependencies,
    /** progress: told of the work planned and of every batch settled (the CLI's progress). */
    private readonly options: { concurrency?: number; progress?: SyncProgress } = {},
  ) {}

  async execute(works: readonly KindWork[], context: ExecutionContext): Promise<ExecutionSummary> {
    const byDestination = new Map<string, KindWork[]>();
    for (const work of works) {
      const list = byDestination.get(work.scope.destination) ?? [];
      byDestination.set(work.scope.destination, list);
      list.push(work);
    }
    const summary = emptyExecutionSummary();
    for (const { scope, sends } of works) if (sends.length > 0) this.options.progress?.onPlan({ ...scope, items: sends.length, path: 'send' });
    const lanes = [...byDestination.values()].map((list) => [...list].sort((a, b) => (a.scope.kind === b.scope.kind ? 0 : a.scope.kind === 'groups' ? -1 : 1)));
    let next = 0;
    const runLane = async (): Promise<void> => {
      while (next < lanes.length) {
        const lane = lanes[next] ?? [];
        next += 1;
        await this.runLane(lane, context, summary);
      }
    };
    // allSettled: a failing lane must not leave the others running detached.
    const settled = await Promise.allSettled(Array.from({ length: Math.max(1, Math.min(this.options.concurrency ?? 4, lanes.length)) }, runLane));
    const failure = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
    return summary;
  }

  private async runLane(works: readonly KindWork[], context: ExecutionContext, summary: ExecutionSummary): Promise<void> {
    const now = this.deps.now ?? (() => new Date());
    let deferredUntil: string | undefined;
    let deferredBecause = '';
    let healthChecked = false;
    let unhealthyBefore = false;
    for (const work of works) {
      const { destination, source, kind } = work.scope;
      const destinationName = context.destinationNames?.get(destination);
      const logger = context.logger.child({ destination, kind, ...(destinationName === undefined ? {} : { destinationName }) });
      const outcomes = new Map<string, PendingOutcome>();
      // A bucket is written with the plan's patches and the outcomes so far; a bucket written
      // again later gets the same patches again (they only set the planner's fields) and new outcomes.
      let preloaded = work.preloaded;
      const write = async (buckets: readonly string[]) => {
        if (buckets.length === 0) return;
        const at = now();
        const written = new Set(buckets);
        const due = [...outcomes].filter(([id]) => written.has(bucketOfId(id)));
        // Keyed by id: the mutation may run again after a concurrent write, and its last run is what was written.
        const auditRows = new Map<string, ObjectAuditRow>();
        const auditContext = { runId: context.runId, at, scope: work.scope };
        await this.deps.ledger.update(work.scope, buckets, (bucket, entries) => {
          for (const [id, patch] of bucketPatches(work, bucket)) patchEntries(entries, id, patch);
          for (const [id, done] of due) {
            if (bucketOfId(id) !== bucket) continue;
            const before = entries.get(id);
            const fp = done.record === undefined ? undefined : fieldFingerprints(done.record);
            auditRows.set(id, outcomeAuditRow(auditContext, before, done.item, done.outcome, done.record, done.deferredBecause));
            patchEntries(entries, id, outcomePatch(before, { ...done.item, ...(fp !== undefined ? { fp } : {}) }, done.outcome, at));
          }
        }, (entries) => summarizeEntries(entries, context.deleteAfterDays), preloaded === undefined ? {} : { preloaded });
        // The rows written have new ETags: later writes read them again.
        preloaded = undefined;
        for (const [id] of due) outcomes.delete(id);
        await recordAudit(this.deps.audit, [...auditRows.values()], logger);
      };

      const sendBuckets = new Set(work.sends.map((item) => bucketOfId(item.id)));
      await write([...work.patches.keys()].filter((bucket) => !sendBuckets.has(bucket)));
      if (work.sends.length === 0) continue;

      const client = this.deps.destination(destination);
      const sourceKey = this.deps.sourceKey(source);
      if (client === undefined || sourceKey === undefined) {
        // The plan only works for configured destinations; a config swapped underneath is planned again next run.
        logger.warn('upload.dropped', { reason: 'destination or source no longer configured', items: work.sends.length });
        continue;
      }
      if (!healthChecked) {
        healthChecked = true;
        // Marked healthy once something gets through; until then the quarantine stands.
        unhealthyBefore = (await this.deps.health.get(destination))?.healthy === false;
      }
      let dirty = new Set<string>();
      let batchesSinceWrite = 0;
      const finish = (items: readonly SendItem[]) => {
        for (const item of items) dirty.add(bucketOfId(item.id));
      };
      const flush = async () => {
        await write([...dirty].sort());
        dirty = new Set();
        batchesSinceWrite = 0;
      };
      for (let start = 0; start < work.sends.length; start += MAX_ITEMS_PER_BATCH) {
        const batch = work.sends.slice(start, start + MAX_ITEMS_PER_BATCH);
        if (deferredUntil !== undefined) {
          for (const item of batch) outcomes.set(item.id, { item, outcome: { kind: 'deferred', until: deferredUntil }, deferredBecause });
          finish(batch);
          this.options.progress?.onUploadBatch({ source, destination, kind, items: batch.length, acknowledged: 0, outcome: 'putOff' });
          continue;
        }
        summary.messages += 1;
        summary.sent += batch.length;
        try {
          const records: { id: string; op: 'upsert' | 'delete'; record?: string }[] = [];
          for (const item of batch) records.push({ id: item.id, op: item.op, ...(item.record !== undefined ? { record: await item.record() } : {}) });
          const sentRecords = new Map(records.map((record) => [record.id, parseSentRecord(record.record)]));
          const results = await sendBatch(client, kind, sourceKey, records);
          failpoint('afterUploadBeforeAck');
          const byKey = new Map(results.map((result) => [`${result.op}:${result.id}`, result]));
          let deleted = 0;
          let succeeded = 0;
          for (const item of batch) {
            const result = byKey.get(`${item.op}:${item.id}`);
            if (result?.ok === true) {
              succeeded += 1;
              if (item.op === 'delete') deleted += 1;
              const record = item.op === 'upsert' ? sentRecords.get(item.id) : undefined;
              outcomes.set(item.id, { item, outcome: { kind: 'acknowledged' }, ...(record !== undefined ? { record } : {}) });
            } else {
              outcomes.set(item.id, { item, outcome: { kind: 'failed', error: describeItemFailure(result) } });
            }
          }
          summary.succeeded += succeeded;
          summary.failed += batch.length - succeeded;
          // Counted before the ledger is written: a crash in between sends the deletes again and counts
          // them twice, which errs towards holding, never towards deleting more than the cap allows.
          await this.deps.deletions.recordExecuted(destination, source, kind, deleted, now());
          if (unhealthyBefore && succeeded > 0) {
            unhealthyBefore = false;
            await markHealthy(this.deps.health, destination, now());
          }
          if (succeeded < batch.length) logger.warn('upload.itemsFailed', { failed: batch.length - succeeded, succeeded });
          this.options.progress?.onUploadBatch({ source, destination, kind, items: batch.length, acknowledged: succeeded, outcome: 'sent' });
        } catch (error) {
          const failure = classifyUploadFailure(error, now());
          if (failure.kind !== 'rethrow') this.options.progress?.onUploadBatch({ source, destination, kind, items: batch.length, acknowledged: 0, outcome: 'sent' });
          if (failure.kind === 'quarantine') {
            const health = await markUnhealthy(this.deps.health, destination, failure.reason, error instanceof Error ? error.message : String(error), now());
            deferredUntil = health.retryAfter ?? now().toISOString();
            deferredBecause = `the destination was quarantined (${failure.reason})`;
            for (const item of batch) outcomes.set(item.id, { item, outcome: { kind: 'deferred', until: deferredUntil }, deferredBecause });
            summary.failed += batch.length;
            summary.quarantinedDestinations.push({ destination, reason: failure.reason });
            logger.error(QUARANTINE_EVENTS[failure.reason], { ...errorFields(error), items: batch.length, retryAfter: deferredUntil });
          } else if (failure.kind === 'throttled') {
            // The destination asked for longer than a request waits: the rest of its work waits
            // in the ledger until then (no quarantine; other destinations carry on).
            deferredUntil = failure.until;
            deferredBecause = 'the destination asked for more time (throttling)';
            for (const item of batch) outcomes.set(item.id, { item, outcome: { kind: 'deferred', until: deferredUntil }, deferredBecause });
            summary.failed += batch.length;
            summary.quarantinedDestinations.push({ destination, reason: 'throttled' });
            logger.warn('upload.throttled', { ...errorFields(error), items: batch.length, retryAt: deferredUntil });
          } else {
            // What got through is recorded; the rest is planned again from the journal.
            await flush();
            throw error;
          }
        }
        finish(batch);
        batchesSinceWrite += 1;
        if (batchesSinceWrite >= WRITE_LEDGER_EVERY_BATCHES) {
          await flush();
          await context.keepAlive?.();
        }
      }
      await flush();
    }
  }
}
