/**
 * Processes one upload message: reads the ledger rows of its ids, sends what is still owed to
 * the destination, and records what the destination acknowledged.
 *
 * Safe under at-least-once delivery: an id whose acknowledged hash already equals its desired
 * hash is skipped, so a duplicate or late message sends nothing twice. Records come from the
 * ledger as the latest plan left them, so a late message never sends an older version.
 */
import type { Signature365Group, Signature365User } from '../signature365/contract';
import { failpoint } from './failpoints';
import type { Logger } from './logger';
import { errorFields } from './logger';
import type { UploadRequestedMessage } from './messages';
import type {
  DeletionStateStore, DestinationClient, DestinationHealth, DestinationHealthStore, DestinationItemResult, UploadRow, UploadStateStore,
} from './ports';

export interface UploadDependencies {
  ledger: UploadStateStore;
  health: DestinationHealthStore;
  /** Where acknowledged deletions are counted, for the deletion gate's rolling 24-hour cap. */
  deletions: Pick<DeletionStateStore, 'recordExecuted'>;
  /** The destination client for a destination name (undefined when the config no longer has it). */
  destination(name: string): DestinationClient | undefined;
  /** The `source` field the destination expects for an Entra source (its tenant id). */
  sourceKey(sourceName: string): string | undefined;
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
   * (`unauthorized`), stayed unavailable through every retry (`unavailable`), or was already in
   * quarantine (`deferred`).
   */
  quarantined?: 'unauthorized' | 'unavailable' | 'deferred';
}

/** Quarantine after 401/403: 1 minute, doubling per consecutive failure, at most 24 hours. */
export function quarantineDelayInMs(consecutiveFailures: number, capInMs = QUARANTINE_CAP_IN_MS.unauthorized): number {
  return Math.min(60_000 * 2 ** Math.max(0, consecutiveFailures - 1), capInMs);
}

/**
 * A rejected token waits for a person (up to a day between tries); an outage (retries and their
 * budget exhausted on 429/5xx/network) is retried at least hourly, so service resumes soon after.
 */
export const QUARANTINE_CAP_IN_MS = { unauthorized: 24 * 3_600_000, unavailable: 3_600_000 } as const;

export async function processUpload(message: UploadRequestedMessage, deps: UploadDependencies): Promise<UploadOutcome> {
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger.child({ runId: message.runId, source: message.source, destination: message.destination, kind: message.kind });
  const client = deps.destination(message.destination);
  const sourceKey = deps.sourceKey(message.source);
  if (client === undefined || sourceKey === undefined) {
    // The config changed since the message was queued; the next plan works from the new config.
    logger.warn('upload.dropped', { reason: 'destination or source no longer configured', ids: message.ids.length });
    return { sent: 0, succeeded: 0, failed: 0, skipped: message.ids.length };
  }

  // A message queued before the destination was quarantined must not knock again with a token it
  // just rejected: each knock would lengthen the quarantine, and one full plan queues hundreds. The
  // ledger still owes these ids, so the first plan after the quarantine sends them.
  const health = await deps.health.get(message.destination);
  if (isQuarantined(health, now())) {
    logger.info('upload.deferred', { reason: 'destination in quarantine', retryAfter: health?.retryAfter, ids: message.ids.length });
    await forgetDispatch(deps.ledger, message, message.ids);
    return { sent: 0, succeeded: 0, failed: 0, skipped: message.ids.length, quarantined: 'deferred' };
  }

  const rows = await deps.ledger.get(message.destination, message.source, message.kind, message.ids);
  const upsertRows: UploadRow[] = [];
  const deleteRows: UploadRow[] = [];
  for (const id of message.ids) {
    const row = rows.get(id);
    if (row === undefined) continue;
    if (row.desiredHash !== null && row.desiredRecord !== null && row.desiredHash !== row.ackHash) upsertRows.push(row);
    else if (row.desiredHash === null && row.ackHash !== null && row.deleteApproved) deleteRows.push(row);
  }
  const skipped = message.ids.length - upsertRows.length - deleteRows.length;
  if (upsertRows.length === 0 && deleteRows.length === 0) {
    logger.debug('upload.nothingOwed', { ids: message.ids.length });
    return { sent: 0, succeeded: 0, failed: 0, skipped };
  }

  // Records in the ledger were built by planSourceUploads from the contract types; they are ours, not input.
  const upserts = upsertRows.map((row) => JSON.parse(row.desiredRecord ?? 'null') as unknown);
  const deletes = deleteRows.map((row) => row.id);
  let results: DestinationItemResult[];
  try {
    results = message.kind === 'users'
      ? await client.sendUsers(sourceKey, { upserts: upserts as Signature365User[], deletes })
      : await client.sendGroups(sourceKey, { upserts: upserts as Signature365Group[], deletes });
  } catch (error) {
    const attempted = [...upsertRows, ...deleteRows].map((row) => row.id);
    if (error instanceof Error && (error.name === 'DestinationAuthError' || error.name === 'DestinationUnavailableError')) {
      const unauthorized = error.name === 'DestinationAuthError';
      await markUnhealthy(deps.health, message.destination, error.message, now(), unauthorized ? QUARANTINE_CAP_IN_MS.unauthorized : QUARANTINE_CAP_IN_MS.unavailable);
      await forgetDispatch(deps.ledger, message, attempted);
      logger.error(unauthorized ? 'upload.unauthorized' : 'upload.destinationUnavailable', { ...errorFields(error), ids: message.ids.length });
      // Not rethrown: retrying at once cannot succeed and would only lengthen the quarantine. The
      // ledger still owes these ids; the first plan after the quarantine queues them again.
      return { sent: 0, succeeded: 0, failed: attempted.length, skipped, quarantined: unauthorized ? 'unauthorized' : 'unavailable' };
    }
    if (error instanceof Error && error.name === 'DestinationRequestError' && (error as { status?: unknown }).status === 400) {
      // The contract: a 400 means the batch itself is malformed and is not retried as it is. Each
      // object is recorded as failed (visible in status) and queued again by the next plan, which
      // rebuilds the records from the mirror.
      const rejected = [...upsertRows, ...deleteRows].map((row) => ({ ...row, failures: row.failures + 1, lastError: `batch rejected: ${error.message}`.slice(0, 500), dispatched: null }));
      await deps.ledger.put(message.destination, message.source, message.kind, rejected);
      logger.error('upload.batchRejected', { ...errorFields(error), ids: message.ids.length });
      return { sent: rejected.length, succeeded: 0, failed: rejected.length, skipped };
    }
    // Failed work must not hide behind its dispatch marker: the next plan queues it again at once
    // (the host also retries this message, and the duplicate finds nothing owed).
    await forgetDispatch(deps.ledger, message, attempted).catch(() => undefined);
    throw error;
  }

  failpoint('afterUploadBeforeAck');
  const byKey = new Map<string, DestinationItemResult>();
  for (const result of results) byKey.set(`${result.op}:${result.id}`, result);
  // Read the rows again: a plan may have recorded a newer wish while the batch was on the wire.
  // The answer only says what the destination now holds (ackHash); the wish stays the newest, so
  // the message that plan dispatched still finds it owed.
  const latest = await deps.ledger.get(message.destination, message.source, message.kind, [...upsertRows, ...deleteRows].map((row) => row.id));
  const updated: UploadRow[] = [];
  let succeeded = 0;
  let failed = 0;
  for (const row of upsertRows) {
    const result = byKey.get(`upsert:${row.id}`);
    const base = latest.get(row.id) ?? row;
    if (result?.ok === true) { succeeded += 1; updated.push({ ...base, ackHash: row.desiredHash, failures: 0, lastError: null, dispatched: null }); }
    else { failed += 1; updated.push({ ...base, failures: base.failures + 1, lastError: describeFailure(result), dispatched: null }); }
  }
  for (const row of deleteRows) {
    const result = byKey.get(`delete:${row.id}`);
    const base = latest.get(row.id) ?? row;
    if (result?.ok === true) { succeeded += 1; updated.push({ ...base, ackHash: null, deleteApproved: false, leftScopeAt: null, failures: 0, lastError: null, dispatched: null }); }
    else { failed += 1; updated.push({ ...base, failures: base.failures + 1, lastError: describeFailure(result), dispatched: null }); }
  }
  // Counted before the ledger is written: a crash in between sends the deletes again and counts
  // them twice, which errs towards holding, never towards deleting more than the cap allows.
  const deleted = deleteRows.filter((row) => byKey.get(`delete:${row.id}`)?.ok === true).length;
  await deps.deletions.recordExecuted(message.destination, message.source, message.kind, deleted, now());
  await deps.ledger.put(message.destination, message.source, message.kind, updated);
  // The health read at the start stands for "before": an answer just came back, so it is healthy now.
  if (health === undefined || !health.healthy) await markHealthy(deps.health, message.destination, now());
  if (failed > 0) logger.warn('upload.itemsFailed', { failed, succeeded });
  logger.info('upload.done', { sent: upsertRows.length + deleteRows.length, succeeded, failed, skipped });
  return { sent: upsertRows.length + deleteRows.length, succeeded, failed, skipped };
}

/** True while a destination is unhealthy and its retryAfter has not come: nothing is sent to it. */
export function isQuarantined(health: DestinationHealth | undefined, now: Date): boolean {
  return health !== undefined && !health.healthy && health.retryAfter !== null && Date.parse(health.retryAfter) > now.getTime();
}

function describeFailure(result: DestinationItemResult | undefined): string {
  if (result === undefined) return 'no result returned for this item';
  return `${result.status}${result.error !== undefined ? `: ${result.error}` : ''}`.slice(0, 500);
}

/** Clears the dispatch marker of ids that were not delivered, so the next plan queues them at once. */
async function forgetDispatch(ledger: UploadStateStore, message: UploadRequestedMessage, ids: readonly string[]): Promise<void> {
  const rows = await ledger.get(message.destination, message.source, message.kind, ids);
  const marked = [...rows.values()].filter((row) => row.dispatched !== null).map((row) => ({ ...row, dispatched: null }));
  await ledger.put(message.destination, message.source, message.kind, marked);
}

async function markUnhealthy(store: DestinationHealthStore, destination: string, reason: string, now: Date, capInMs: number): Promise<void> {
  const before = await store.get(destination);
  const consecutiveFailures = (before?.healthy === false ? before.consecutiveFailures : 0) + 1;
  const health: DestinationHealth = {
    destination, healthy: false, consecutiveFailures, lastError: reason.slice(0, 500),
    retryAfter: new Date(now.getTime() + quarantineDelayInMs(consecutiveFailures, capInMs)).toISOString(),
    changedAt: now.toISOString(),
  };
  await store.put(health);
}

async function markHealthy(store: DestinationHealthStore, destination: string, now: Date): Promise<void> {
  await store.put({ destination, healthy: true, consecutiveFailures: 0, lastError: null, retryAfter: null, changedAt: now.toISOString() });
}
