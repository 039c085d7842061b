/**
 * What an administrator asks first: is each source being read, is each destination receiving,
 * and what is waiting or failing. Read-only; built from the cursors, the upload ledger, the
 * health, hold, conflict and pause tables. Names, counts and object ids only: no record, no secret.
 */
import { credentialExpiry, needsWarning, type CredentialExpiry } from '../graph/credentialExpiry';
import type { ConnectorConfig } from '../config/types';
import type {
  ConflictStore, CredentialCheckStore, CursorStore, DeletionStateStore, DestinationHealthStore, LedgerEntry, LedgerStore, MappingPause, PauseStore,
  QuarantineReason, QueueDepth, QueueDepthReader, UploadKind,
} from './ports';
import { mappingsBetween, pauseOf } from './pauses';
import { isQuarantined } from './quarantine';
import type { SubscribedKind, SubscriptionStore } from '../realtime/ports';

export interface StatusDependencies {
  config: Pick<ConnectorConfig, 'sources' | 'destinations' | 'mappings'>;
  cursors: CursorStore;
  ledger: LedgerStore;
  health: DestinationHealthStore;
  deletions: DeletionStateStore;
  conflicts: ConflictStore;
  /** The subscription manager's slots; absent: the section is left out. */
  subscriptions?: Pick<SubscriptionStore, 'listSlots'>;
  /** The queues and their poison queues; absent: the section is left out. */
  poisonQueues?: QueueDepthReader;
  /** Client secrets' end dates as runs last read them; absent: what the config tells only. */
  credentialChecks?: Pick<CredentialCheckStore, 'get'>;
  /** The administrator's pauses; absent: nothing is shown as paused. */
  pauses?: Pick<PauseStore, 'list'>;
}

/** A pause as status shows it: since when, by whom, why. */
export interface PauseStatus {
  /** `all`: every mapping (`pause --all`); `pair`: one source and destination. */
  scope: 'all' | 'pair';
  /** Storage keys (pairs only); the names as written follow when they differ. */
  source?: string;
  destination?: string;
  sourceName?: string;
  destinationName?: string;
  /** Mappings indexes (0-based) between the pair's source and destination in the config now; every index for `all`. */
  mappings: number[];
  pausedAt: string;
  pausedBy: string;
  via: string;
  reason: string;
  /** False for a pair whose source or destination is no longer configured (`resume --all` lifts it). */
  configured: boolean;
}

/** Change notifications of one source and kind, as the subscription manager last left them. */
export interface NotificationStatus {
  state: 'active' | 'skipped' | 'failed' | 'off' | 'never set up';
  expiresAt: string | null;
  detail: string;
}

export interface RoundStatus {
  lastRoundCompletedAt: string | null;
  lastFullRoundCompletedAt: string | null;
  /** An unfinished round that the next pull resumes. */
  unfinished: { kind: 'full' | 'incremental'; startedAt: string; pages: number } | null;
}

export interface FailedObject {
  kind: UploadKind;
  id: string;
  failures: number;
  lastError: string | null;
  /** When it is tried again (its backoff: the next run, then 1 minute doubling to 24 hours). */
  nextAttemptAt: string | null;
}

export interface LedgerCounts {
  /** Objects the destination acknowledged holding. */
  held: number;
  /** New or changed objects not yet acknowledged. */
  owed: number;
  /** Left scope, waiting out the grace period or a hold. */
  pendingDeletes: number;
  failed: number;
}

export interface DestinationStatus {
  /** Storage keys (src/config/storageKey.ts); the names as written follow when they differ. */
  destination: string;
  source: string;
  destinationName?: string;
  sourceName?: string;
  healthy: boolean;
  /**
   * `healthy`, or why nothing is sent: `unauthorized: <error>`, `unavailable: <error>`,
   * `rejected: <error>` (404/422 or an answer outside the contract; alerts match the log event
   * `destination.rejected`).
   */
  state: string;
  quarantineReason: QuarantineReason | null;
  quarantinedUntil: string | null;
  lastError: string | null;
  users: LedgerCounts;
  groups: LedgerCounts;
  holds: { kind: UploadKind; held: number; reason: string; holdId: string; heldSince: string }[];
  /** The first failed objects (per-item errors), for a look at what the destination rejects. */
  failedObjects: FailedObject[];
  /** Set while the pair is paused (its own pause or the global one): nothing is planned, sent or deleted; null when not (always set by readConnectorStatus). */
  paused?: { scope: 'all' | 'pair'; since: string; by: string; via: string; reason: string; mappings: number[] } | null;
}

export interface ConnectorStatus {
  sources: {
    source: string;
    /** The name as written under EntraId, when it differs from the storage key. */
    sourceName?: string; users: RoundStatus; groups: RoundStatus; conflicts: number;
    changeNotifications?: Record<SubscribedKind, NotificationStatus>;
    /** When the source's sign-in credential stops working, as far as the config tells. */
    credential: CredentialExpiry;
  }[];
  destinations: DestinationStatus[];
  /** Backlog per queue; a poison message means a message failed every try (see `s365-connector queues`). */
  queues?: QueueDepth[];
  /**
   * What needs an administrator soon, one line each: a credential ending within 30 days (or
   * ended), a destination refusing its integration token or its records, or unreachable.
   */
  warnings: string[];
  /** Every pause in force, the global one first (empty: nothing is paused; always set by readConnectorStatus). */
  pauses?: PauseStatus[];
}

function pauseStatus(config: StatusDependencies['config'], pause: MappingPause): PauseStatus {
  const common = { pausedAt: pause.pausedAt, pausedBy: pause.pausedBy, via: pause.via, reason: pause.reason };
  if (pause.pair === 'all') return { scope: 'all', mappings: config.mappings.map((m) => m.index), ...common, configured: true };
  const { source, destination } = pause.pair;
  const sourceConfig = config.sources.find((candidate) => candidate.name === source);
  const destinationConfig = config.destinations.find((candidate) => candidate.name === destination);
  return {
    scope: 'pair', source, destination,
    ...(sourceConfig?.displayName === undefined ? {} : { sourceName: sourceConfig.displayName }),
    ...(destinationConfig?.displayName === undefined ? {} : { destinationName: destinationConfig.displayName }),
    mappings: mappingsBetween(config, { source, destination }),
    ...common, configured: sourceConfig !== undefined && destinationConfig !== undefined,
  };
}

const FAILED_OBJECTS_SHOWN = 20;

async function roundStatus(cursors: CursorStore, source: string, kind: 'users' | 'groups'): Promise<RoundStatus> {
  const cursor = await cursors.get(source, kind);
  return {
    lastRoundCompletedAt: cursor?.lastRoundCompletedAt ?? null,
    lastFullRoundCompletedAt: cursor?.lastFullRoundCompletedAt ?? null,
    unfinished: cursor?.round != null && cursor.nextLink !== null
      ? { kind: cursor.round.kind, startedAt: cursor.round.startedAt, pages: cursor.round.pages }
      : null,
  };
}

export async function readConnectorStatus(deps: StatusDependencies, now: Date = new Date()): Promise<ConnectorStatus> {
  const holds = await deps.deletions.listHolds();
  const pauses = deps.pauses === undefined ? [] : await deps.pauses.list();
  const status: ConnectorStatus = { sources: [], destinations: [], warnings: [], pauses: pauses.map((pause) => pauseStatus(deps.config, pause)) };
  const slots = deps.subscriptions === undefined ? undefined : await deps.subscriptions.listSlots();
  const notificationStatus = (source: string, kind: SubscribedKind): NotificationStatus => {
    const slot = slots?.find((s) => s.source === source && s.kind === kind);
    return slot === undefined
      ? { state: 'never set up', expiresAt: null, detail: 'no subscription manager has run: deploy to Azure, or run `s365-connector serve --public-url <url>`' }
      : { state: slot.state, expiresAt: slot.expiresAt, detail: slot.detail };
  };
  for (const source of deps.config.sources) {
    status.sources.push({
      source: source.name,
      ...(source.displayName === undefined ? {} : { sourceName: source.displayName }),
      users: await roundStatus(deps.cursors, source.name, 'users'),
      groups: await roundStatus(deps.cursors, source.name, 'groups'),
      conflicts: (await deps.conflicts.list(source.name)).length,
      credential: await sourceCredential(deps, source, now),
      ...(slots === undefined ? {} : { changeNotifications: { users: notificationStatus(source.name, 'users'), groups: notificationStatus(source.name, 'groups') } }),
    });
    for (const destination of deps.config.destinations) {
      const health = await deps.health.get(destination.name);
      const pause = pauseOf(pauses, source.name, destination.name);
      const quarantined = isQuarantined(health, now);
      const reason = health?.healthy === false ? health.reason ?? null : null;
      const entry: DestinationStatus = {
        destination: destination.name, source: source.name,
        ...(destination.displayName === undefined ? {} : { destinationName: destination.displayName }),
        ...(source.displayName === undefined ? {} : { sourceName: source.displayName }),
        healthy: health?.healthy ?? true,
        state: health?.healthy === false ? `${reason ?? 'unhealthy'}: ${health.lastError ?? ''}` : 'healthy',
        quarantineReason: reason,
        quarantinedUntil: quarantined ? health?.retryAfter ?? null : null,
        lastError: health?.healthy === false ? health.lastError : null,
        users: { held: 0, owed: 0, pendingDeletes: 0, failed: 0 },
        groups: { held: 0, owed: 0, pendingDeletes: 0, failed: 0 },
        holds: holds
          .filter((hold) => hold.destination === destination.name && hold.source === source.name)
          .map((hold) => ({ kind: hold.kind, held: hold.held, reason: hold.reason, holdId: hold.holdId, heldSince: hold.heldSince })),
        failedObjects: [],
        paused: pause === undefined ? null : {
          scope: pause.pair === 'all' ? 'all' : 'pair', since: pause.pausedAt, by: pause.pausedBy, via: pause.via, reason: pause.reason,
          mappings: deps.config.mappings.filter((m) => m.source === source.name && m.destination === destination.name).map((m) => m.index),
        },
      };
      for (const kind of ['users', 'groups'] as const) {
        const counts = entry[kind];
        const scope = { destination: destination.name, source: source.name, kind };
        const summaries = await deps.ledger.summaries(scope);
        const failedBuckets: string[] = [];
        for (const [bucket, summary] of summaries) {
          counts.held += summary.held;
          counts.owed += summary.owed;
          counts.pendingDeletes += summary.pending;
          counts.failed += summary.failed;
          if (summary.failed > 0) failedBuckets.push(bucket);
        }
        // Only the buckets that hold failures are read, and only until enough are shown.
        for (const bucket of failedBuckets.sort()) {
          if (entry.failedObjects.length >= FAILED_OBJECTS_SHOWN) break;
          const read = await deps.ledger.read(scope, [bucket]);
          for (const [id, ledgerEntry] of [...(read.buckets.get(bucket) ?? new Map<string, LedgerEntry>())].sort(([a], [b]) => (a < b ? -1 : 1))) {
            if ((ledgerEntry.f ?? 0) > 0 && entry.failedObjects.length < FAILED_OBJECTS_SHOWN) {
              entry.failedObjects.push({ kind, id, failures: ledgerEntry.f ?? 0, lastError: ledgerEntry.e ?? null, nextAttemptAt: ledgerEntry.r ?? null });
            }
          }
        }
      }
      // A destination this source never sent anything to, with nothing wrong, is not worth a line.
      const touched = entry.users.held + entry.users.owed + entry.users.pendingDeletes + entry.groups.held + entry.groups.owed > 0;
      const pausedMapping = entry.paused != null && entry.paused.mappings.length > 0;
      if (touched || !entry.healthy || entry.holds.length > 0 || pausedMapping) status.destinations.push(entry);
    }
  }
  if (deps.poisonQueues !== undefined) status.queues = await deps.poisonQueues.depths();
  status.warnings = statusWarnings(status);
  return status;
}

/** A client secret's end date as the last run read it (with when); otherwise what the config tells. */
async function sourceCredential(deps: StatusDependencies, source: ConnectorConfig['sources'][number], now: Date): Promise<CredentialExpiry> {
  const fromConfig = credentialExpiry(source.auth, now);
  if (source.auth.kind !== 'clientSecret' || deps.credentialChecks === undefined) return fromConfig;
  const check = await deps.credentialChecks.get(source.name);
  if (check === undefined) return { ...fromConfig, detail: `${fromConfig.detail}; no run has read it yet` };
  return { ...check.expiry, detail: `${check.expiry.detail} (read ${check.checkedAt})` };
}

const TOKEN_ADVICE: Record<QuarantineReason, string> = {
  unauthorized: 'the integration token was refused (401/403): paste the token the Signature 365 portal shows for the Entra ID connector into the config',
  rejected: 'it refuses what is sent (404/422 or an answer outside the contract): check its Endpoint and the connector version',
  unavailable: 'it has been unreachable longer than the retries: uploads wait until it answers',
};

function statusWarnings(status: ConnectorStatus): string[] {
  const warnings: string[] = [];
  for (const source of status.sources) {
    if (needsWarning(source.credential)) warnings.push(`EntraId:${source.sourceName ?? source.source}: ${source.credential.detail}`);
  }
  const seen = new Set<string>();
  for (const destination of status.destinations) {
    if (destination.quarantineReason === null || seen.has(destination.destination)) continue;
    seen.add(destination.destination);
    warnings.push(`Signature365:${destination.destinationName ?? destination.destination}: ${TOKEN_ADVICE[destination.quarantineReason]}`);
  }
  return warnings;
}

/** The status as text for a terminal. */
export function formatConnectorStatus(status: ConnectorStatus): string {
  const lines: string[] = [];
  const round = (r: RoundStatus) =>
    `last round ${r.lastRoundCompletedAt ?? 'never'}, last full ${r.lastFullRoundCompletedAt ?? 'never'}` +
    (r.unfinished !== null ? `; unfinished ${r.unfinished.kind} round at page ${r.unfinished.pages} (resumes next run)` : '');
  const reasonText = (reason: string) => (reason === '' ? 'no reason given' : reason);
  for (const pause of status.pauses ?? []) {
    if (pause.scope === 'all') {
      lines.push(`EVERY MAPPING PAUSED since ${pause.pausedAt} by ${pause.pausedBy} (${pause.via}): ${reasonText(pause.reason)}; nothing is planned, sent or deleted. Resume with: s365-connector resume --all`);
    } else if (!pause.configured) {
      lines.push(`Paused ${pause.sourceName ?? pause.source ?? ''} -> ${pause.destinationName ?? pause.destination ?? ''} (no longer in the configuration) since ${pause.pausedAt} by ${pause.pausedBy}: ${reasonText(pause.reason)}; lift it with: s365-connector resume --all`);
    }
  }
  for (const source of status.sources) {
    lines.push(`Source ${source.sourceName ?? source.source}`);
    lines.push(`  users:  ${round(source.users)}`);
    lines.push(`  groups: ${round(source.groups)}`);
    if (source.conflicts > 0) lines.push(`  ${source.conflicts} user(s) in scope of more than one Signature 365 tenant (see validate)`);
    lines.push(`  credential: ${needsWarning(source.credential) ? 'WARNING: ' : ''}${source.credential.detail}`);
    for (const kind of ['users', 'groups'] as const) {
      const notifications = source.changeNotifications?.[kind];
      if (notifications === undefined) continue;
      const until = notifications.state === 'active' && notifications.expiresAt !== null ? ` (subscription until ${notifications.expiresAt})` : '';
      lines.push(`  change notifications, ${kind}: ${notifications.state}${until}${notifications.detail !== '' ? `: ${notifications.detail}` : ''}`);
    }
  }
  for (const d of status.destinations) {
    const counts = (c: LedgerCounts) => `${c.held} held, ${c.owed} to send, ${c.pendingDeletes} to delete later, ${c.failed} failed`;
    const why = d.quarantineReason === null ? '' : ` (${d.quarantineReason})`;
    lines.push(`Destination ${d.destinationName ?? d.destination} (from ${d.sourceName ?? d.source}): ${d.healthy ? 'healthy' : `UNHEALTHY${why}${d.quarantinedUntil !== null ? ` until ${d.quarantinedUntil}` : ''}: ${d.lastError ?? ''}`}`);
    lines.push(`  users:  ${counts(d.users)}`);
    lines.push(`  groups: ${counts(d.groups)}`);
    if (d.paused != null) {
      const which = d.paused.mappings.length > 0 ? ` (Mappings[${d.paused.mappings.join('], Mappings[')}])` : ' (no mapping: what it holds is not deleted while paused)';
      const resume = d.paused.scope === 'all' ? 'resume --all'
        : d.paused.mappings[0] !== undefined ? `resume --mapping ${d.paused.mappings[0]}` : `resume --destination ${d.destinationName ?? d.destination}`;
      lines.push(`  PAUSED${which} since ${d.paused.since} by ${d.paused.by}: ${reasonText(d.paused.reason)}; nothing is planned, sent or deleted (s365-connector ${resume})`);
    }
    for (const hold of d.holds) lines.push(`  deletions HELD (${hold.kind}): ${hold.held} since ${hold.heldSince}: ${hold.reason} [hold ${hold.holdId}]`);
    for (const failed of d.failedObjects) {
      const next = failed.nextAttemptAt === null ? '' : ` [next attempt ${failed.nextAttemptAt}]`;
      lines.push(`  failed ${failed.kind} ${failed.id} (${failed.failures}x)${next}: ${failed.lastError ?? ''}`);
    }
  }
  for (const queue of status.queues ?? []) {
    if (queue.poisonMessages > 0) {
      lines.push(`Queue ${queue.queue}: ${queue.messages} waiting, ${queue.poisonMessages} POISONED (failed every try): fix the cause, then \`s365-connector queues redrive --queue ${queue.queue}\`, or \`queues clear\``);
    } else if (queue.messages > 0) {
      lines.push(`Queue ${queue.queue}: ${queue.messages} waiting`);
    }
  }
  if (status.sources.length === 0) lines.push('No source configured.');
  if (status.warnings.length > 0) lines.unshift(...status.warnings.map((warning) => `WARNING ${warning}`), '');
  return lines.join('\n');
}
