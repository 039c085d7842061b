/**
 * After a pull: works out, per destination of one source, what must be sent, records the wish in
 * the upload ledger and dispatches object ids (never payloads) in batches of at most 100.
 *
 * Runs on the whole mirror of the source each time: scope depends on transitive membership, so a
 * single edge change can move many users. Unchanged objects hash the same and cost nothing but CPU.
 *
 * Every destination in the config is planned, not only those with a mapping from this source: when
 * a mapping is removed, what that destination still holds becomes deletion candidates and goes
 * through the deletion gate like any other removal. A destination that holds objects of this source
 * but is gone from the config cannot be reached (no token); it is reported, never an error.
 *
 * Dry run: the same plan, with no ledger, hold or conflict writes and nothing dispatched.
 */
import type { ConnectorConfig } from '../config/types';
import type { MembershipEdge, MirrorGroup, MirrorUser } from './directory';
import { buildDirectoryIndex, type DirectoryIndex } from './directoryIndex';
import { resolveDestinationScopes, type ScopeConflict } from './destinationScope';
import { ROLLING_WINDOW_IN_MS, type DeletionGateStatus } from './deletionGate';
import type { DestinationScope } from './destinationScope';
import type { Logger } from './logger';
import { MAX_IDS_PER_UPLOAD_MESSAGE } from './messages';
import { buildGroupRecord, buildUserRecord } from './payload';
import { payloadHash, type JsonValue } from './payloadHash';
import type {
  ConflictStore, DeletionStateStore, DestinationHealthStore, MirrorStore, RecordedConflict, UploadDispatcher, UploadKind, UploadRow, UploadStateStore,
} from './ports';
import { isQuarantined } from './processUpload';
import { planDestination, type DesiredRecord } from './uploadPlan';

export interface PlanDependencies {
  mirror: MirrorStore;
  ledger: UploadStateStore;
  health: DestinationHealthStore;
  conflicts: ConflictStore;
  deletions: DeletionStateStore;
  dispatcher: UploadDispatcher;
  logger: Logger;
  now?: () => Date;
}

export interface PlanOptions {
  /** Work the plan out and report it; write nothing, dispatch nothing. */
  dryRun?: boolean;
  /** How many names (UPNs, group names) each summary lists per list. Default 10. */
  sampleSize?: number;
}

export interface KindPlanSummary {
  upserts: number;
  /** Deletions that go out now (under dry run: would go out). */
  deletes: number;
  unchanged: number;
  /** Left scope, still inside the grace period. */
  waitingDeletes: number;
  /** Due, but held by the deletion gate. */
  heldDeletes: number;
  gate: DeletionGateStatus;
  gateReason?: string;
  /** Names the held set; `deletions approve` approves it. */
  holdId?: string;
  /** What the destination holds of this source and kind (acknowledged), before this plan. */
  destinationSize: number;
  deletedLast24h: number;
  /** Deletions allowed within 24 hours without approval; null when Options.DeleteThreshold is "off". */
  threshold: number | null;
  /** The first few UPNs (users) or display names (groups) of each list, sorted by id. */
  sample: { upserts: string[]; deletes: string[]; held: string[] };
}

export interface DestinationPlanSummary {
  destination: string;
  users: KindPlanSummary;
  groups: KindPlanSummary;
  messages: number;
  /** False when no mapping of this source names the destination (what it holds is being removed). */
  mapped: boolean;
  /** Set when the destination is in quarantine and nothing was dispatched. */
  skippedBecause?: string;
  missingGroups: string[];
}

/** A destination that holds objects of this source but is no longer in the config: nothing can reach it. */
export interface UnreachableDestination {
  destination: string;
  users: number;
  groups: number;
}

export interface SourcePlanSummary {
  source: string;
  dryRun: boolean;
  destinations: DestinationPlanSummary[];
  conflicts: ScopeConflict[];
  unreachable: UnreachableDestination[];
}

async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const page of pages) for (const item of page) all.push(item);
  return all;
}

/** Loads one source's mirror into an in-memory index (removed objects included, so the index can say "removed"). */
export async function loadDirectoryIndex(mirror: MirrorStore, source: string): Promise<DirectoryIndex> {
  const [users, groups, edges] = await Promise.all([
    collect<MirrorUser>(mirror.listUsers(source, { includeRemoved: true })),
    collect<MirrorGroup>(mirror.listGroups(source, { includeRemoved: true })),
    collect<MembershipEdge>(mirror.listEdges(source)),
  ]);
  return buildDirectoryIndex(users, groups, edges);
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function countsOf(kind: KindPlanSummary): Record<string, unknown> {
  return {
    upserts: kind.upserts, deletes: kind.deletes, unchanged: kind.unchanged, waitingDeletes: kind.waitingDeletes,
    heldDeletes: kind.heldDeletes, gate: kind.gate, destinationSize: kind.destinationSize, threshold: kind.threshold,
  };
}

function toDesired(record: JsonValue): DesiredRecord {
  return { hash: payloadHash(record), record: JSON.stringify(record) };
}

export async function planSourceUploads(
  source: string,
  config: Pick<ConnectorConfig, 'mappings' | 'options' | 'destinations'>,
  deps: PlanDependencies,
  runId: string,
  options: PlanOptions = {},
): Promise<SourcePlanSummary> {
  const now = (deps.now ?? (() => new Date()))();
  const dryRun = options.dryRun === true;
  const sampleSize = options.sampleSize ?? 10;
  const logger = deps.logger.child({ source, runId, ...(dryRun ? { dryRun } : {}) });
  const index = await loadDirectoryIndex(deps.mirror, source);
  const scopes = resolveDestinationScopes(index, config, source);
  const recorded: RecordedConflict[] = scopes.conflicts.map((conflict) => ({
    ...conflict,
    sentTo: conflict.destinations.filter((destination) => scopes.destinations.get(destination)?.users.has(conflict.userId) === true),
  }));
  for (const conflict of recorded) {
    logger.info('scope.conflict', { userId: conflict.userId, destinations: conflict.destinations, sentTo: conflict.sentTo, mappings: conflict.mappingIndexes, policy: config.options.onConflict });
  }
  if (!dryRun) await deps.conflicts.replace(source, recorded);

  const known = new Set(await deps.deletions.knownDestinations(source));
  const configured = config.destinations.map((destination) => destination.name);
  // Mapped destinations first, in mapping order; then the rest of the config.
  const order = [...scopes.destinations.keys(), ...configured.filter((name) => !scopes.destinations.has(name))];
  const label = (kind: UploadKind, id: string): string =>
    (kind === 'users' ? index.users.get(id)?.userPrincipalName : index.groups.get(id)?.displayName) ?? id;
  const sample = (kind: UploadKind, ids: readonly string[]): string[] => ids.slice(0, sampleSize).map((id) => label(kind, id));

  const summaries: DestinationPlanSummary[] = [];
  for (const destination of order) {
    const log = logger.child({ destination });
    const mappedScope = scopes.destinations.get(destination);
    const scope: DestinationScope = mappedScope ?? { users: new Map(), groups: new Set(), mappingIndexes: [], missingGroups: [] };

    const holdReasons: string[] = [];
    if (scope.missingGroups.length > 0) {
      holdReasons.push(`LimitToGroups ${scope.missingGroups.join(', ')} not found in the mirror of source ${source}; deletions wait until the scope is whole`);
    } else if (mappedScope !== undefined && scope.users.size === 0) {
      holdReasons.push(`the scope of ${destination} reads empty; an empty scope is never taken as "delete everyone"`);
    }

    const desiredGroups = new Map<string, DesiredRecord>();
    for (const groupId of scope.groups) {
      const group = index.groups.get(groupId);
      if (group !== undefined) desiredGroups.set(groupId, toDesired(buildGroupRecord(group)));
    }
    const desiredUsers = new Map<string, DesiredRecord>();
    for (const [userId, groupIds] of scope.users) {
      const user = index.users.get(userId);
      if (user !== undefined) desiredUsers.set(userId, toDesired(buildUserRecord(user, index, groupIds)));
    }

    const health = await deps.health.get(destination);
    const quarantined = isQuarantined(health, now);
    const kinds: [UploadKind, Map<string, DesiredRecord>][] = [['groups', desiredGroups], ['users', desiredUsers]];
    const perKind = {} as Record<UploadKind, KindPlanSummary>;
    const work: { kind: UploadKind; ids: string[] }[] = [];
    let holdsAnything = false;
    for (const [kind, desired] of kinds) {
      const ledger = new Map<string, UploadRow>();
      for (const row of await collect(deps.ledger.list(destination, source, kind))) ledger.set(row.id, row);
      if (ledger.size > 0 || desired.size > 0) holdsAnything = true;
      const [deletedLast24h, approval, previousHold] = await Promise.all([
        deps.deletions.countExecutedSince(destination, source, kind, new Date(now.getTime() - ROLLING_WINDOW_IN_MS)),
        deps.deletions.getApproval(destination, source, kind),
        deps.deletions.getHold(destination, source, kind),
      ]);
      const plan = planDestination({
        desired, ledger, now, deleteAfterDays: config.options.deleteAfterDays, dispatching: deps.dispatcher.durable && !dryRun && !quarantined,
        deletionPolicy: {
          deletedLast24h, threshold: config.options.deleteThreshold, thresholdMax: config.options.deleteThresholdMax,
          holdReasons, dryRun, ...(approval !== undefined ? { approval } : {}),
        },
      });
      const gate = plan.gate;
      if (!dryRun) {
        // The wish is recorded before anything is dispatched: a crash between the two is healed by the next plan.
        await deps.ledger.put(destination, source, kind, plan.rowsToWrite);
        if (gate.status === 'held' && gate.holdId !== undefined && gate.leftScopeCutoff !== undefined) {
          await deps.deletions.putHold({
            destination, source, kind, holdId: gate.holdId, held: gate.held.length, destinationSize: gate.counts.destinationSize,
            deletedLast24h, threshold: gate.counts.threshold, reason: gate.reason ?? '', leftScopeCutoff: gate.leftScopeCutoff,
            heldSince: previousHold?.heldSince ?? now.toISOString(), plannedAt: now.toISOString(), runId,
          });
        } else if (previousHold !== undefined && gate.status !== 'error') {
          // The cause went away (objects came back, the group reappeared) or an approval let them through.
          await deps.deletions.clearHold(destination, source, kind);
          log.info('deletions.holdCleared', { kind, holdId: previousHold.holdId, status: gate.status });
        }
        // An approval is used up once nothing it could cover is due any more.
        if (approval !== undefined && gate.counts.due === 0) await deps.deletions.clearApproval(destination, source, kind);
        work.push({ kind, ids: plan.dispatch });
      }
      const counts = { held: gate.held.length, threshold: gate.counts.threshold, destinationSize: gate.counts.destinationSize, deletedLast24h };
      if (gate.status === 'held') log.warn('deletions.held', { kind, ...counts, holdId: gate.holdId, reason: gate.reason });
      if (gate.status === 'error') log.error('deletions.error', { kind, ...counts, reason: gate.reason });
      if (gate.approvedByAdministrator === true) log.info('deletions.approvedByAdministrator', { kind, deletes: plan.deletes.length, holdId: approval?.holdId, approvedBy: approval?.approvedBy });
      perKind[kind] = {
        upserts: plan.upserts.length, deletes: plan.deletes.length, unchanged: plan.unchanged,
        waitingDeletes: gate.waiting.length, heldDeletes: gate.held.length, gate: gate.status,
        ...(gate.reason !== undefined ? { gateReason: gate.reason } : {}),
        ...(gate.holdId !== undefined ? { holdId: gate.holdId } : {}),
        destinationSize: gate.counts.destinationSize, deletedLast24h, threshold: gate.counts.threshold,
        sample: { upserts: sample(kind, plan.upserts), deletes: sample(kind, plan.deletes), held: sample(kind, gate.held) },
      };
    }
    // An unmapped destination that never held anything of this source is not worth a line.
    if (mappedScope === undefined && !holdsAnything) continue;
    if (!dryRun && holdsAnything && !known.has(destination)) await deps.deletions.rememberDestination(source, destination, now);

    let messages = 0;
    if (!quarantined) {
      for (const { kind, ids } of work) {
        for (const batch of chunk(ids, MAX_IDS_PER_UPLOAD_MESSAGE)) {
          await deps.dispatcher.dispatch({ runId, source, destination, kind, ids: batch });
          messages += 1;
        }
      }
    }
    const summary: DestinationPlanSummary = {
      destination, users: perKind.users, groups: perKind.groups, messages, mapped: mappedScope !== undefined, missingGroups: scope.missingGroups,
      ...(quarantined ? { skippedBecause: `destination unhealthy until ${health?.retryAfter ?? ''}: ${health?.lastError ?? ''}` } : {}),
    };
    // Counts only: the samples hold UPNs, which stay out of the logs.
    log.info('plan.destination', { users: countsOf(summary.users), groups: countsOf(summary.groups), messages, quarantined, mapped: summary.mapped });
    summaries.push(summary);
  }

  const unreachable: UnreachableDestination[] = [];
  for (const destination of known) {
    if (configured.includes(destination)) continue;
    const holds = async (kind: UploadKind) => (await collect(deps.ledger.list(destination, source, kind))).filter((row) => row.ackHash !== null).length;
    const gone: UnreachableDestination = { destination, users: await holds('users'), groups: await holds('groups') };
    if (gone.users + gone.groups === 0) continue;
    logger.warn('destination.unreachable', { ...gone, reason: 'not in the configuration any more; nothing can be sent or deleted there without its token' });
    unreachable.push(gone);
  }
  return { source, dryRun, destinations: summaries, conflicts: scopes.conflicts, unreachable };
}
