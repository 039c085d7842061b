/**
 * After a pull: works out, per destination of one source, what must be sent, records the wish in
 * the upload ledger and dispatches object ids (never payloads) in batches of at most 100.
 *
 * Runs on the whole mirror of the source each time: scope depends on transitive membership, so a
 * single edge change can move many users. Unchanged objects hash the same and cost nothing but CPU.
 */
import type { ConnectorConfig } from '../config/types';
import type { MembershipEdge, MirrorGroup, MirrorUser } from './directory';
import { buildDirectoryIndex, type DirectoryIndex } from './directoryIndex';
import { resolveDestinationScopes, type ScopeConflict } from './destinationScope';
import type { DeletionGateResult } from './deletionGate';
import type { Logger } from './logger';
import { MAX_IDS_PER_UPLOAD_MESSAGE } from './messages';
import { buildGroupRecord, buildUserRecord } from './payload';
import { payloadHash, type JsonValue } from './payloadHash';
import type { ConflictStore, DestinationHealthStore, MirrorStore, RecordedConflict, UploadDispatcher, UploadKind, UploadRow, UploadStateStore } from './ports';
import { isQuarantined } from './processUpload';
import { planDestination, type DesiredRecord } from './uploadPlan';

export interface PlanDependencies {
  mirror: MirrorStore;
  ledger: UploadStateStore;
  health: DestinationHealthStore;
  conflicts: ConflictStore;
  dispatcher: UploadDispatcher;
  logger: Logger;
  now?: () => Date;
}

export interface KindPlanSummary {
  upserts: number;
  deletes: number;
  unchanged: number;
  /** Left scope, still inside the grace period. */
  waitingDeletes: number;
  /** Due, but held by the deletion gate. */
  heldDeletes: number;
  gate: DeletionGateResult['status'];
  gateReason?: string;
}

export interface DestinationPlanSummary {
  destination: string;
  users: KindPlanSummary;
  groups: KindPlanSummary;
  messages: number;
  /** Set when the destination is in quarantine and nothing was dispatched. */
  skippedBecause?: string;
  missingGroups: string[];
}

export interface SourcePlanSummary {
  source: string;
  destinations: DestinationPlanSummary[];
  conflicts: ScopeConflict[];
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

function toDesired(record: JsonValue): DesiredRecord {
  return { hash: payloadHash(record), record: JSON.stringify(record) };
}

export async function planSourceUploads(
  source: string,
  config: Pick<ConnectorConfig, 'mappings' | 'options'>,
  deps: PlanDependencies,
  runId: string,
): Promise<SourcePlanSummary> {
  const now = (deps.now ?? (() => new Date()))();
  const logger = deps.logger.child({ source, runId });
  const index = await loadDirectoryIndex(deps.mirror, source);
  const scopes = resolveDestinationScopes(index, config, source);
  const recorded: RecordedConflict[] = scopes.conflicts.map((conflict) => ({
    ...conflict,
    sentTo: conflict.destinations.filter((destination) => scopes.destinations.get(destination)?.users.has(conflict.userId) === true),
  }));
  for (const conflict of recorded) {
    logger.info('scope.conflict', { userId: conflict.userId, destinations: conflict.destinations, sentTo: conflict.sentTo, mappings: conflict.mappingIndexes, policy: config.options.onConflict });
  }
  await deps.conflicts.replace(source, recorded);

  const summaries: DestinationPlanSummary[] = [];
  for (const [destination, scope] of scopes.destinations) {
    const log = logger.child({ destination });
    const health = await deps.health.get(destination);
    const quarantined = isQuarantined(health, now);

    let holdReason: string | undefined;
    if (scope.missingGroups.length > 0) {
      holdReason = `LimitToGroups ${scope.missingGroups.join(', ')} not found in the mirror of source ${source}; deletions wait until the scope is whole`;
    } else if (scope.users.size === 0) {
      holdReason = `the scope of ${destination} reads empty; an empty scope is never taken as "delete everyone"`;
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

    const kinds: [UploadKind, Map<string, DesiredRecord>][] = [['groups', desiredGroups], ['users', desiredUsers]];
    const perKind = {} as Record<UploadKind, KindPlanSummary>;
    let messages = 0;
    for (const [kind, desired] of kinds) {
      const ledger = new Map<string, UploadRow>();
      for (const row of await collect(deps.ledger.list(destination, source, kind))) ledger.set(row.id, row);
      const plan = planDestination({ desired, ledger, now, deleteAfterDays: config.options.deleteAfterDays, holdDeletionsReason: holdReason });
      // The wish is recorded before anything is dispatched: a crash between the two is healed by the next plan.
      await deps.ledger.put(destination, source, kind, plan.rowsToWrite);
      const work = [...plan.upserts, ...plan.deletes];
      if (!quarantined) {
        for (const ids of chunk(work, MAX_IDS_PER_UPLOAD_MESSAGE)) {
          await deps.dispatcher.dispatch({ runId, source, destination, kind, ids });
          messages += 1;
        }
      }
      perKind[kind] = {
        upserts: plan.upserts.length, deletes: plan.deletes.length, unchanged: plan.unchanged,
        waitingDeletes: plan.gate.waiting.length, heldDeletes: plan.gate.held.length, gate: plan.gate.status,
        ...(plan.gate.reason !== undefined ? { gateReason: plan.gate.reason } : {}),
      };
      if (plan.gate.status === 'held') log.warn('deletions.held', { kind, held: plan.gate.held.length, reason: plan.gate.reason });
    }
    const summary: DestinationPlanSummary = {
      destination, users: perKind.users, groups: perKind.groups, messages, missingGroups: scope.missingGroups,
      ...(quarantined ? { skippedBecause: `destination unhealthy until ${health?.retryAfter ?? ''}: ${health?.lastError ?? ''}` } : {}),
    };
    log.info('plan.destination', { users: summary.users, groups: summary.groups, messages, quarantined });
    summaries.push(summary);
  }
  return { source, destinations: summaries, conflicts: scopes.conflicts };
}
