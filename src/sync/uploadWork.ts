/**
 * What a plan hands to the upload side, and the one way a batch of it is sent. A plan produces,
 * per destination and kind, the ledger patches it decided and the items to send; an executor
 * carries them out: in this process (InProcessUploadExecutor: the CLI and `serve`), or through the
 * Outbox table and the uploads queue (QueueUploadExecutor: the Functions app).
 */
import type { Signature365Group, Signature365User } from '../signature365/contract';
import type { Logger } from './logger';
import type { DestinationClient, DestinationItemResult, LedgerEntryPatch, LedgerRead, LedgerScope, QuarantineReason } from './ports';

export interface SendItem {
  id: string;
  op: 'upsert' | 'delete';
  /** Upserts: the record's hash; deletes: "delete". */
  hash: string;
  /** Users: the record's base hash. */
  baseHash?: string;
  /** Upserts: the record as JSON, built (or read again) when it is sent. */
  record?: () => string | Promise<string>;
}

/** One destination and kind's share of a plan. */
export interface KindWork {
  scope: LedgerScope;
  /** The planner's patches, by bucket, then object id. */
  patches: Map<string, Map<string, LedgerEntryPatch>>;
  /** Sorted by id (so a bucket's items are together). */
  sends: SendItem[];
  /** The buckets as the plan read them (saves reading them again to write). */
  preloaded?: LedgerRead;
}

export interface ExecutionContext {
  runId: string;
  deleteAfterDays: number;
  logger: Logger;
  /** Renews the source lock during long work. */
  keepAlive?: () => Promise<void>;
  /** Destination storage key → the name as written, where they differ; log lines carry it as `destinationName`. */
  destinationNames?: ReadonlyMap<string, string>;
}

export interface ExecutionSummary {
  /** Batches sent (or messages queued). */
  messages: number;
  sent: number;
  succeeded: number;
  failed: number;
  /** Destinations that went into quarantine during the work, with why. */
  /** `throttled`: the destination asked for more time (a long Retry-After) than a request waits; its objects wait until then. */
  quarantinedDestinations: { destination: string; reason: QuarantineReason | 'deferred' | 'throttled' }[];
}

export function emptyExecutionSummary(): ExecutionSummary {
  return { messages: 0, sent: 0, succeeded: 0, failed: 0, quarantinedDestinations: [] };
}

export interface UploadExecutor {
  /** True when the work outlives this process (queued); the plan then consumes its journal entries at once. */
  readonly durable: boolean;
  execute(works: readonly KindWork[], context: ExecutionContext): Promise<ExecutionSummary>;
}

/** Object ids per batch: the contract allows 100 items in one request. */
export const MAX_ITEMS_PER_BATCH = 100;

export function bucketPatches(work: KindWork, bucket: string): Map<string, LedgerEntryPatch> {
  return work.patches.get(bucket) ?? new Map<string, LedgerEntryPatch>();
}

/**
 * Sends one batch (at most 100 items of one kind) and returns each item's result in order.
 * Records are ours (built by the planner from the contract types), not input.
 */
export async function sendBatch(
  client: DestinationClient,
  kind: LedgerScope['kind'],
  sourceKey: string,
  items: readonly { id: string; op: 'upsert' | 'delete'; record?: string }[],
): Promise<DestinationItemResult[]> {
  const upserts = items.filter((item) => item.op === 'upsert').map((item) => JSON.parse(item.record ?? 'null') as unknown);
  const deletes = items.filter((item) => item.op === 'delete').map((item) => item.id);
  return kind === 'users'
    ? client.sendUsers(sourceKey, { upserts: upserts as Signature365User[], deletes })
    : client.sendGroups(sourceKey, { upserts: upserts as Signature365Group[], deletes });
}

/** One line for a failed item, for the ledger and status. */
export function describeItemFailure(result: DestinationItemResult | undefined): string {
  if (result === undefined) return 'no result returned for this item';
  return `${result.status}${result.error !== undefined ? `: ${result.error}` : ''}`.slice(0, 300);
}

/**
 * What the upload side does when sending a batch threw (the client's typed errors, recognised by
 * name so the core does not import the adapter):
 * - `throttled`: a 429 with a long Retry-After (over LONG_RETRY_AFTER_IN_MS; short ones are waited
 *   out inside the request): the batch's objects wait until then; the destination is not
 *   quarantined, since it is only asking for time;
 * - `quarantine`: the token was refused (`unauthorized`), the destination stayed unavailable
 *   (`unavailable`), or it rejects the request in a way resending cannot fix (`rejected`: 404,
 *   422, an answer that breaks the contract; a whole-batch 400 never gets here, the client splits
 *   it down to the offending item);
 * - `rethrow`: anything else (storage, a bug): the message fails and the host retries it.
 */
export type UploadFailure =
  | { kind: 'throttled'; until: string }
  | { kind: 'quarantine'; reason: QuarantineReason }
  | { kind: 'rethrow' };

/**
 * A Retry-After longer than this is "long": no request waits that long (the client's default retry
 * budget is 60 s per call). A shorter one that still ended in a give-up (the retries or the budget
 * ran out) is an outage as before: the destination is quarantined as `unavailable` (1 minute at first).
 */
export const LONG_RETRY_AFTER_IN_MS = 60_000;

export function classifyUploadFailure(error: unknown, now: Date): UploadFailure {
  if (!(error instanceof Error)) return { kind: 'rethrow' };
  const fields = error as { status?: unknown; retryAfterInMs?: unknown };
  if (error.name === 'DestinationAuthError') return { kind: 'quarantine', reason: 'unauthorized' };
  if (error.name === 'DestinationUnavailableError') {
    const wait = fields.retryAfterInMs;
    if (fields.status === 429 && typeof wait === 'number' && wait > LONG_RETRY_AFTER_IN_MS) {
      return { kind: 'throttled', until: new Date(now.getTime() + wait).toISOString() };
    }
    return { kind: 'quarantine', reason: 'unavailable' };
  }
  if (error.name === 'DestinationRequestError') return { kind: 'quarantine', reason: 'rejected' };
  return { kind: 'rethrow' };
}

/** The stable log event name per quarantine reason (alerts match on these). */
export const QUARANTINE_EVENTS: Readonly<Record<QuarantineReason, string>> = {
  unauthorized: 'upload.unauthorized',
  unavailable: 'upload.destinationUnavailable',
  rejected: 'destination.rejected',
};
