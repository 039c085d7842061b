/**
 * The reconcile against the destination: compares what a destination holds for a source (its list
 * endpoint) with what the ledger says the destination acknowledged, and sets the ledger's
 * upload-side fields (`a`, `b`) to what is really held. The plan that follows does the rest with
 * its usual rules, so a reconcile never sends, deletes or bypasses the deletion gate itself.
 *
 * Per object (`reconcileEntry`, pure):
 * - unknown held: held there, but the ledger records no acknowledgement (the ledger lost it, or a
 *   write was overwritten). Recorded as held (`a` = the held record's hash). Unless the plan finds
 *   it in scope, it is then an acknowledged object that is not wanted: a deletion candidate from
 *   now on, through the deletion gate (grace period, threshold with its 24-hour cap, hold and
 *   approval), exactly like a user who left scope.
 * - missing: the ledger says acknowledged, the destination does not hold it. `a` is cleared: if it
 *   is wanted, the record is owed again and the plan re-sends it; if not, nothing is left to delete
 *   and the entry is forgotten (`gone`).
 * - drifted: held with another record than the ledger acknowledged, compared by the payload hash
 *   the ledger keeps (payload.ts). `a` is set to what is held, so the plan re-sends the wanted one.
 * - in flight: one of the above, but queued less than 30 minutes ago (queue path). Left alone: the
 *   message's acknowledgement is about to change `a`; the next reconcile looks again.
 *
 * The ledger of a destination and kind is written only after its whole listing was read and
 * checked: a listing that fails part-way changes nothing. A destination that refuses the listing
 * (401/403) or stays unavailable through the client's retries is quarantined, as an upload would.
 *
 * Before it changes the ledger, it records "plan the whole source" in the journal: an object the
 * ledger did not know is reached by no change-driven plan. The entry is durable and written first,
 * so a crash anywhere between the ledger write and the plan still plans the whole source next run.
 *
 * Not for a source whose TenantId another source shares: both would write under the same `source`
 * at the destination, and each would take the other's objects for unknown ones.
 *
 * A destination paused for the source (pauses.ts) is skipped before any call: its ledger is left as
 * it is, and nothing it holds is staged for the deletion gate while it is paused.
 *
 * Cost: one list call per destination, source and kind; one ledger query per destination and kind
 * (its 256 bucket rows) and a write of the buckets that changed; a destination in quarantine is
 * skipped before any call. Memory: per held object its id and one or two 22-character hashes, kept
 * by bucket; records are dropped page by page as they are hashed.
 */
import type { ConnectorConfig } from '../config/types';
import { bucketOfId } from './bucketOf';
import { failpoint } from './failpoints';
import { patchEntries, REQUEUE_AFTER_IN_MS, summarizeEntries } from './ledgerPolicy';
import { errorFields, type Logger } from './logger';
import { heldGroupHash, heldUserHashes } from './payload';
import { PLANNED_KINDS } from './planTargets';
import type { ChangeJournal, DestinationHealthStore, DestinationListing, LedgerEntry, LedgerEntryPatch, LedgerStore, PauseStore, UploadKind } from './ports';
import { pauseOf } from './pauses';
import { isQuarantined, markUnhealthy } from './quarantine';
import { classifyUploadFailure } from './uploadWork';

/** What the destination holds of one object: the hash the ledger would keep for it. */
export interface HeldRecord {
  hash: string;
  /** Users: the base hash (the ledger's `b`). */
  baseHash?: string;
}

export type ReconcileFinding =
  | { kind: 'unknownHeld' | 'missing' | 'drifted' | 'gone'; patch: LedgerEntryPatch }
  | { kind: 'inFlight' };

/** Compares one object's ledger entry with what the destination holds; undefined when they agree. */
export function reconcileEntry(entry: LedgerEntry | undefined, held: HeldRecord | undefined, now: Date): ReconcileFinding | undefined {
  let finding: ReconcileFinding;
  if (held !== undefined) {
    if (entry?.a === held.hash) return undefined;
    // The fingerprints and time belonged to the record we sent, not to what the destination holds: dropped with it.
    finding = { kind: entry?.a === undefined ? 'unknownHeld' : 'drifted', patch: { a: held.hash, b: held.baseHash ?? null, fp: null, t: null } };
  } else {
    if (entry?.a === undefined) return undefined;
    finding = { kind: entry.w === 1 ? 'missing' : 'gone', patch: { a: null, b: null, fp: null, t: null } };
  }
  const queued = entry?.q === undefined ? Number.NaN : Date.parse(entry.q);
  if (Number.isFinite(queued) && now.getTime() - queued < REQUEUE_AFTER_IN_MS) return { kind: 'inFlight' };
  return finding;
}

export interface KindReconcileCounts {
  /** Objects the destination holds for this source. */
  held: number;
  /** Held there, unknown to the ledger. */
  unknownHeld: number;
  /** Of those, not wanted as far as the ledger knows: staged for the deletion gate (unless the plan finds them in scope). */
  toGate: number;
  /** Acknowledged but not held, and wanted: owed again (re-sent by the plan). */
  missing: number;
  /** Held with another record than acknowledged: owed again. */
  drifted: number;
  /** Acknowledged, not held and not wanted: forgotten (nothing left to delete). */
  gone: number;
  /** Differences left alone because the object's work is in flight. */
  inFlight: number;
}

export interface DestinationReconcileSummary {
  destination: string;
  users?: KindReconcileCounts;
  groups?: KindReconcileCounts;
  /** Set when the destination was not asked (quarantine), or refused the listing and is quarantined now. */
  skippedBecause?: string;
  /** Set when listing or recording failed otherwise; the other destinations went on. */
  error?: string;
}

export interface SourceReconcileSummary {
  source: string;
  dryRun: boolean;
  destinations: DestinationReconcileSummary[];
  /** Set when the source was not reconciled at all. */
  skippedBecause?: string;
  /** True when the ledger changed and the whole source is planned next. */
  wholePlanRequested: boolean;
}

export interface ReconcileDependencies {
  ledger: Pick<LedgerStore, 'read' | 'update'>;
  journal: Pick<ChangeJournal, 'appendWholePlan'>;
  health: DestinationHealthStore;
  /** The listing of a configured destination; undefined when it is not configured. */
  destinationListing(name: string): DestinationListing | undefined;
  /** The administrator's pauses; absent: nothing is paused. */
  pauses?: Pick<PauseStore, 'list'>;
  logger: Logger;
  now?: () => Date;
}

export interface ReconcileOptions {
  dryRun?: boolean;
  /** Renews the source lock between calls. */
  keepAlive?: () => Promise<void>;
}

function emptyCounts(): KindReconcileCounts {
  return { held: 0, unknownHeld: 0, toGate: 0, missing: 0, drifted: 0, gone: 0, inFlight: 0 };
}

export function differencesOf(counts: KindReconcileCounts | undefined): number {
  return counts === undefined ? 0 : counts.unknownHeld + counts.missing + counts.drifted + counts.gone;
}

/** What the destination holds of one kind, by ledger bucket: id → hashes. */
async function readHeld(listing: DestinationListing, kind: UploadKind, sourceKey: string): Promise<{ byBucket: Map<string, Map<string, HeldRecord>>; count: number }> {
  const byBucket = new Map<string, Map<string, HeldRecord>>();
  let count = 0;
  const put = (id: string, held: HeldRecord) => {
    const bucket = bucketOfId(id);
    let map = byBucket.get(bucket);
    if (map === undefined) {
      map = new Map();
      byBucket.set(bucket, map);
    }
    if (!map.has(id)) count += 1;
    map.set(id, held);
  };
  if (kind === 'users') {
    for await (const page of listing.listUsers(sourceKey)) for (const record of page) put(record.id, heldUserHashes(record));
  } else {
    for await (const page of listing.listGroups(sourceKey)) for (const record of page) put(record.id, { hash: heldGroupHash(record) });
  }
  return { byBucket, count };
}

function idsOf(entries: ReadonlyMap<string, LedgerEntry> | undefined, held: ReadonlyMap<string, HeldRecord> | undefined): Set<string> {
  return new Set([...(entries?.keys() ?? []), ...(held?.keys() ?? [])]);
}

export async function reconcileDestinations(
  source: string,
  config: Pick<ConnectorConfig, 'sources' | 'destinations' | 'options'>,
  deps: ReconcileDependencies,
  runId: string,
  options: ReconcileOptions = {},
): Promise<SourceReconcileSummary> {
  const now = (deps.now ?? (() => new Date()))();
  const dryRun = options.dryRun === true;
  const logger = deps.logger.child({ source, runId, ...(dryRun ? { dryRun } : {}) });
  const summary: SourceReconcileSummary = { source, dryRun, destinations: [], wholePlanRequested: false };
  const sourceConfig = config.sources.find((candidate) => candidate.name === source);
  if (sourceConfig === undefined) throw new Error(`EntraId.${source} is not in the configuration`);
  const sourceKey = sourceConfig.tenantId;
  const sharing = config.sources.filter((candidate) => candidate.name !== source && candidate.tenantId === sourceKey).map((candidate) => candidate.name);
  if (sharing.length > 0) {
    summary.skippedBecause = `EntraId.${sharing.join(', EntraId.')} has the same TenantId, so the destinations cannot tell their objects apart; give each Entra tenant one source`;
    logger.warn('reconcile.skipped', { reason: summary.skippedBecause });
    return summary;
  }

  const pauses = deps.pauses === undefined ? [] : await deps.pauses.list();
  for (const { name: destination, displayName } of config.destinations) {
    const result: DestinationReconcileSummary = { destination };
    summary.destinations.push(result);
    const log = logger.child({ destination, ...(displayName === undefined ? {} : { destinationName: displayName }) });
    const pause = pauseOf(pauses, source, destination);
    if (pause !== undefined) {
      result.skippedBecause = `paused since ${pause.pausedAt} by ${pause.pausedBy}`;
      log.info('reconcile.skipped', { reason: 'paused', pausedAt: pause.pausedAt });
      continue;
    }
    const health = await deps.health.get(destination);
    if (isQuarantined(health, now)) {
      result.skippedBecause = `destination unhealthy until ${health?.retryAfter ?? ''}: ${health?.lastError ?? ''}`;
      log.info('reconcile.skipped', { reason: 'quarantined', retryAfter: health?.retryAfter });
      continue;
    }
    const listing = deps.destinationListing(destination);
    if (listing === undefined) throw new Error(`Signature365.${destination} has no client to list it with`);
    try {
      for (const kind of PLANNED_KINDS) {
        await options.keepAlive?.();
        const counts = emptyCounts();
        result[kind] = counts;
        const { byBucket, count } = await readHeld(listing, kind, sourceKey);
        counts.held = count;
        const scope = { destination, source, kind };
        const read = await deps.ledger.read(scope, 'all');
        const toWrite: string[] = [];
        for (const bucket of new Set([...read.buckets.keys(), ...byBucket.keys()])) {
          const entries = read.buckets.get(bucket);
          const held = byBucket.get(bucket);
          let bucketChanges = false;
          for (const id of idsOf(entries, held)) {
            const entry = entries?.get(id);
            const finding = reconcileEntry(entry, held?.get(id), now);
            if (finding === undefined) continue;
            counts[finding.kind] += 1;
            if (finding.kind === 'unknownHeld' && entry?.w !== 1) counts.toGate += 1;
            if (finding.kind !== 'inFlight') bucketChanges = true;
          }
          if (bucketChanges) toWrite.push(bucket);
        }
        if (!dryRun && toWrite.length > 0) {
          if (!summary.wholePlanRequested) {
            // Before the first ledger write: an entry adopted here is reached only by a whole plan,
            // so a crash between this write and the plan must still leave that plan asked for.
            await deps.journal.appendWholePlan(source, now, `reconcile-${runId}`, 'the reconcile against the destinations corrected the ledger');
            summary.wholePlanRequested = true;
          }
          // Decided again on the bucket as stored when written: an acknowledgement that landed
          // since the read is compared, not overwritten with what was decided before it.
          await deps.ledger.update(scope, toWrite, (bucket, entries) => {
            const held = byBucket.get(bucket);
            for (const id of idsOf(entries, held)) {
              const finding = reconcileEntry(entries.get(id), held?.get(id), now);
              if (finding !== undefined && finding.kind !== 'inFlight') patchEntries(entries, id, finding.patch);
            }
          }, (entries) => summarizeEntries(entries, config.options.deleteAfterDays), { preloaded: read });
          failpoint('afterReconcileLedgerWrite');
        }
        const fields = { kind, ...counts };
        if (differencesOf(counts) > 0) log.warn('reconcile.differences', fields);
        else log.info('reconcile.agrees', fields);
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // Only a refused token or an outage quarantines here; a listing that breaks the contract fails
      // the reconcile (nothing written) without shutting the destination's uploads.
      const failure = classifyUploadFailure(error, now);
      const reason = failure.kind === 'quarantine' && failure.reason !== 'rejected' ? failure.reason : undefined;
      if (reason !== undefined && !dryRun) {
        // As for an upload: a rejected token or an outage quarantines the destination, and the plan
        // then defers what it is owed instead of knocking again.
        const marked = await markUnhealthy(deps.health, destination, reason, message, now);
        result.skippedBecause = `quarantined until ${marked.retryAfter ?? ''}: ${message}`;
        log.error(reason === 'unauthorized' ? 'reconcile.unauthorized' : 'reconcile.destinationUnavailable', errorFields(error));
      } else {
        result.error = message;
        log.error('reconcile.failed', errorFields(error));
      }
    }
  }
  return summary;
}
