/**
 * The upload worker of the queue path: one message names a destination, a source, a kind and up
 * to 100 object ids. It reads their ledger entries and queued records, sends what is still owed,
 * and records what the destination acknowledged.
 *
 * Safe under at-least-once delivery: only the record the ledger says was last queued (`qh`) is
 * sent, and only while it is still owed (wanted and not acknowledged, or an acknowledged object
 * whose deletion was queued), so a duplicate or late message sends nothing twice and never an
 * older record.
 *
 * A message for a paused pair (pauses.ts) sends nothing: its entries are made due at once (the
 * queued marker cleared, as for a quarantine), so the first plan after the resume queues them
 * again; the plan skips the pair while it stays paused. The message completes, so nothing poisons.
 */
import { outcomeAuditRow, parseSentRecord } from './auditRows';
import { recordAudit } from './auditWriter';
import { failpoint } from './failpoints';
import { fieldFingerprints } from './fieldFingerprints';
import { errorFields } from './logger';
import type { Logger } from './logger';
import { outcomePatch, patchEntries, summarizeEntries, type ItemOutcome } from './ledgerPolicy';
import type { UploadRequestedMessage } from './messages';
import type {
  DeletionStateStore, DestinationClient, DestinationHealthStore, LedgerEntry, LedgerStore, ObjectAuditLog, ObjectAuditRow, OutboxItem, OutboxStore, PauseStore, QuarantineReason,
} from './ports';
import { pauseOf } from './pauses';
import { isQuarantined, markHealthy, markUnhealthy } from './quarantine';
import { bucketOfId } from './bucketOf';
import { QUARANTINE_EVENTS, classifyUploadFailure, describeItemFailure, sendBatch } from './uploadWork';

export interface UploadDependencies {
  ledger: LedgerStore;
  outbox: OutboxStore;
  health: DestinationHealthStore;
  /** Where acknowledged deletions are counted, for the deletion gate's rolling 24-hour cap. */
  deletions: Pick<DeletionStateStore, 'recordExecuted'>;
  /** The destination client for a destination name (undefined when the config no longer has it). */
  destination(name: string): DestinationClient | undefined;
  /** The `source` field the destination expects for an Entra source (its tenant id). */
  sourceKey(sourceName: string): string | undefined;
  /** Options.DeleteAfterDays, for the ledger's due times. */
  deleteAfterDays: number;
  /** The audit trail: a row per outcome, written after the ledger holds it (absent: none). */
  audit?: ObjectAuditLog;
  /** The administrator's pauses; absent: nothing is paused. */
  pauses?: Pick<PauseStore, 'list'>;
  logger: Logger;
  now?: () => Date;
}

export interface UploadOutcome {
  sent: number;
  succeeded: number;
  failed: number;
  skipped: number;
  /**
   * Set when nothing more should be sent to this destination for now: it rejected the token
   * (`unauthorized`), stayed unavailable through every retry (`unavailable`), rejects the requests
   * (`rejected`), asked for a long wait (`throttled`: only this batch waits), or was already in
   * quarantine (`deferred`).
   */
  quarantined?: QuarantineReason | 'throttled' | 'deferred';
  /** Set when the pair is paused: nothing was sent, and the objects wait for the resume. */
  paused?: true;
}

/** The item a message should send for one object now, if any. */
function owedItem(entry: LedgerEntry | undefined, versions: readonly OutboxItem[]): OutboxItem | undefined {
  if (entry?.qh === undefined) return undefined;
  const item = versions.find((version) => version.hash === entry.qh);
  if (item === undefined) return undefined;
  if (item.op === 'upsert') return entry.w === 1 && entry.a !== item.hash && item.record !== undefined ? item : undefined;
  return entry.a !== undefined && entry.w !== 1 ? item : undefined;
}

export async function processUpload(message: UploadRequestedMessage, deps: UploadDependencies): Promise<UploadOutcome> {
  const now = deps.now ?? (() => new Date());
  const scope = { destination: message.destination, source: message.source, kind: message.kind };
  const logger = deps.logger.child({ runId: message.runId, source: message.source, destination: message.destination, kind: message.kind });
  const client = deps.destination(message.destination);
  const sourceKey = deps.sourceKey(message.source);
  if (client === undefined || sourceKey === undefined) {
    // The config changed since the message was queued; the next plan works from the new config.
    logger.warn('upload.dropped', { reason: 'destination or source no longer configured', ids: message.ids.length });
    return { sent: 0, succeeded: 0, failed: 0, skipped: message.ids.length };
  }
  const summarize = (entries: ReadonlyMap<string, LedgerEntry>) => summarizeEntries(entries, deps.deleteAfterDays);
  const buckets = [...new Set(message.ids.map(bucketOfId))].sort();
  /** Sends nothing: the queued entries wait until `until`, each with a skip row saying `why`. */
  const deferAll = async (until: string, why: string): Promise<void> => {
    const at = now();
    // Keyed by id: the mutation may run again after a concurrent write, and its last run is what was written.
    const deferredRows = new Map<string, ObjectAuditRow>();
    await deps.ledger.update(scope, buckets, (_bucket, entries) => {
      for (const id of message.ids) {
        const entry = entries.get(id);
        if (entry?.qh === undefined) continue;
        const item = { id, op: entry.qh === 'delete' ? 'delete' as const : 'upsert' as const, hash: entry.qh };
        deferredRows.set(id, outcomeAuditRow({ runId: message.runId, at, scope }, entry, item, { kind: 'deferred', until }, undefined, why));
        patchEntries(entries, id, outcomePatch(entry, item, { kind: 'deferred', until }, at));
      }
    }, summarize);
    await recordAudit(deps.audit, [...deferredRows.values()], logger);
  };

  const pause = deps.pauses === undefined ? undefined : pauseOf(await deps.pauses.list(), message.source, message.destination);
  if (pause !== undefined) {
    // Due now rather than in 30 minutes: the plan does not look at a paused pair, and once it is
    // resumed the work goes out at the first plan. The outbox keeps the records until then.
    await deferAll(now().toISOString(), `${message.source} to ${message.destination} is paused (by ${pause.pausedBy})`);
    logger.info('upload.paused', { pausedAt: pause.pausedAt, pausedBy: pause.pausedBy, ids: message.ids.length });
    return { sent: 0, succeeded: 0, failed: 0, skipped: message.ids.length, paused: true };
  }

  // A message queued before the destination was quarantined must not knock again with a token it
  // just rejected: the entries wait (due at the end of the quarantine) and the plan then queues them.
  const health = await deps.health.get(message.destination);
  if (isQuarantined(health, now())) {
    const until = health?.retryAfter ?? now().toISOString();
    await deferAll(until, `the destination is in quarantine (${health?.reason ?? 'unhealthy'})`);
    logger.info('upload.deferred', { reason: 'destination in quarantine', retryAfter: until, ids: message.ids.length });
    return { sent: 0, succeeded: 0, failed: 0, skipped: message.ids.length, quarantined: 'deferred' };
  }

  const [read, versions] = await Promise.all([deps.ledger.read(scope, buckets), deps.outbox.read(scope, message.ids)]);
  const entryOf = (id: string) => read.buckets.get(bucketOfId(id))?.get(id);
  const versionsOf = new Map<string, OutboxItem[]>();
  for (const version of versions) versionsOf.set(version.id, [...(versionsOf.get(version.id) ?? []), version]);
  const items: OutboxItem[] = [];
  const stale: OutboxItem[] = [];
  for (const id of message.ids) {
    const entry = entryOf(id);
    const item = owedItem(entry, versionsOf.get(id) ?? []);
    if (item !== undefined) items.push(item);
    // Versions other than the last queued one are superseded; a last queued one that is no longer owed is done.
    for (const version of versionsOf.get(id) ?? []) if (version !== item && version.hash !== entry?.qh) stale.push(version);
    if (item === undefined) for (const version of versionsOf.get(id) ?? []) if (version.hash === entry?.qh) stale.push(version);
  }
  const skipped = message.ids.length - items.length;
  if (items.length === 0) {
    await deps.outbox.remove(scope, stale);
    logger.debug('upload.nothingOwed', { ids: message.ids.length });
    return { sent: 0, succeeded: 0, failed: 0, skipped };
  }

  const outcomes = new Map<string, { item: OutboxItem; outcome: ItemOutcome; deferredBecause?: string }>();
  let quarantined: UploadOutcome['quarantined'];
  try {
    const results = await sendBatch(client, message.kind, sourceKey, items);
    failpoint('afterUploadBeforeAck');
    const byKey = new Map(results.map((result) => [`${result.op}:${result.id}`, result]));
    for (const item of items) {
      const result = byKey.get(`${item.op}:${item.id}`);
      outcomes.set(item.id, { item, outcome: result?.ok === true ? { kind: 'acknowledged' } : { kind: 'failed', error: describeItemFailure(result) } });
    }
  } catch (error) {
    const failure = classifyUploadFailure(error, now());
    if (failure.kind === 'quarantine') {
      // Returned, not thrown: a destination that refuses (token, endpoint, contract) would refuse
      // the host's five retries too, and the poison queue would fill with one message per batch.
      const marked = await markUnhealthy(deps.health, message.destination, failure.reason, error instanceof Error ? error.message : String(error), now());
      for (const item of items) outcomes.set(item.id, { item, outcome: { kind: 'deferred', until: marked.retryAfter ?? now().toISOString() }, deferredBecause: `the destination was quarantined (${failure.reason})` });
      quarantined = failure.reason;
      logger.error(QUARANTINE_EVENTS[failure.reason], { ...errorFields(error), ids: message.ids.length, retryAfter: marked.retryAfter });
    } else if (failure.kind === 'throttled') {
      // The message ends here and its objects come due when the destination said: the next plan
      // queues them then. The destination stays healthy for everything else.
      for (const item of items) outcomes.set(item.id, { item, outcome: { kind: 'deferred', until: failure.until }, deferredBecause: 'the destination asked for more time (throttling)' });
      quarantined = 'throttled';
      logger.warn('upload.throttled', { ...errorFields(error), ids: message.ids.length, retryAt: failure.until });
    } else {
      // The host retries the message (and poisons it after the last try). Failed work must not
      // hide behind its queued marker: the entries come due at once, so the next plan queues them again.
      const now2 = now().toISOString();
      await deps.ledger.update(scope, buckets, (bucket, entries) => {
        for (const item of items) {
          const entry = entries.get(item.id);
          if (bucketOfId(item.id) === bucket && entry?.qh === item.hash) patchEntries(entries, item.id, { q: null, r: now2 });
        }
      }, summarize).catch(() => undefined);
      throw error;
    }
  }

  const acknowledged = [...outcomes.values()].filter((done) => done.outcome.kind === 'acknowledged');
  const deleted = acknowledged.filter((done) => done.item.op === 'delete').length;
  // Counted before the ledger is written: a crash in between sends the deletes again and counts
  // them twice, which errs towards holding, never towards deleting more than the cap allows.
  await deps.deletions.recordExecuted(message.destination, message.source, message.kind, deleted, now());
  const at = now();
  const records = new Map([...outcomes].map(([id, done]) => [id, done.outcome.kind === 'acknowledged' && done.item.op === 'upsert' ? parseSentRecord(done.item.record) : undefined]));
  const fingerprints = new Map([...records].flatMap(([id, record]) => (record === undefined ? [] : [[id, fieldFingerprints(record)] as const])));
  // Keyed by id: the mutation may run again after a concurrent write, and its last run is what was written.
  const auditRows = new Map<string, ObjectAuditRow>();
  await deps.ledger.update(scope, buckets, (bucket, entries) => {
    for (const [id, done] of outcomes) {
      if (bucketOfId(id) !== bucket) continue;
      const before = entries.get(id);
      const fp = fingerprints.get(id);
      auditRows.set(id, outcomeAuditRow({ runId: message.runId, at, scope }, before, done.item, done.outcome, records.get(id), done.deferredBecause));
      patchEntries(entries, id, outcomePatch(before, { ...done.item, ...(fp !== undefined ? { fp } : {}) }, done.outcome, at));
    }
  }, summarize, { preloaded: read });
  await recordAudit(deps.audit, [...auditRows.values()], logger);
  await deps.outbox.remove(scope, [...stale, ...acknowledged.map((done) => done.item), ...[...outcomes.values()].filter((done) => done.outcome.kind === 'failed').map((done) => done.item)]);
  // The health read at the start stands for "before": an answer just came back, so it is healthy now.
  if ((quarantined === undefined || quarantined === 'throttled') && health !== undefined && !health.healthy) await markHealthy(deps.health, message.destination, now());
  const failed = items.length - acknowledged.length;
  if (failed > 0) logger.warn('upload.itemsFailed', { failed, succeeded: acknowledged.length });
  logger.info('upload.done', { sent: items.length, succeeded: acknowledged.length, failed, skipped });
  return { sent: items.length, succeeded: acknowledged.length, failed, skipped, ...(quarantined !== undefined ? { quarantined } : {}) };
}
