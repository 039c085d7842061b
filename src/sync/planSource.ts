/**
 * After a pull: works out, per destination of one source, what must be sent or deleted, and hands
 * it to the upload executor. A plan costs what changed, not what exists:
 *
 * - Change-driven (the usual run): the objects the journal says changed, the objects a change
 *   reaches (changeImpact.ts), and the ledger entries that came due (a retry, a grace period's end,
 *   a held deletion to look at again, queued work never acknowledged). A run with nothing changed
 *   and nothing due reads one projected summary per destination and kind, and nothing else.
 * - Whole-source, only when needed: after a full round, when the mappings or options changed
 *   (a hash of them is kept), on `--replan`, the first time, or when a change reaches more than a
 *   quarter of the source. Users are streamed page by page; a record's JSON is kept only when its
 *   base changed (see payload.ts), so memory stays bounded.
 * Both use the same per-object decision (objectPlan.ts) and the same deletion gate, and a property
 * test checks they agree.
 *
 * Every destination in the config is planned, not only those with a mapping from this source: when
 * a mapping is removed, what that destination still holds becomes deletion candidates and goes
 * through the deletion gate like any other removal. A destination that holds objects of this source
 * but is gone from the config cannot be reached (no token); it is reported, never an error.
 *
 * Order of writes: the executor first (records sent and acknowledged, or queued), then the derived
 * indexes (reports, conflicts), the holds, the plan state, and last the journal entries are removed.
 * A crash anywhere before the last step plans the same entries again, which is idempotent.
 *
 * Dry run: the same plan, with nothing written and nothing sent.
 */
import { createHash } from 'node:crypto';
import type { ConnectorConfig } from '../config/types';
import { bucketOfId } from './bucketOf';
import { impactOf, isEmpty, mergeJournal, type MergedChanges } from './changeImpact';
import { decideDeletions, ROLLING_WINDOW_IN_MS, type DeletionGateResult, type DeletionGateStatus } from './deletionGate';
import type { MirrorGroup, MirrorUser } from './directory';
import { DirectoryGraph } from './directoryGraph';
import { entryDueAt, graceEndsAt, HOLD_RECHECK_IN_MS, outcomePatch } from './ledgerPolicy';
import type { Logger } from './logger';
import { decideObject, inFlightOrBackingOff, type DesiredObject } from './objectPlan';
import {
  groupRecordHash, groupRecordJson, managerPart, userBaseHash, userRecordHash, userRecordJson,
  type Signature365Manager,
} from './payload';
import type {
  ChangeJournal, ConflictStore, DeletionApproval, DeletionHold, DeletionStateStore, DestinationHealthStore, JournalEntry, LedgerBucketSummary,
  LedgerEntry, LedgerEntryPatch, LedgerRead, LedgerScope, LedgerStore, MirrorStore, PlanStateStore, RecordedConflict, ReportsIndex, UploadKind,
} from './ports';
import { isQuarantined } from './quarantine';
import { windowedUsers } from './recordSource';
import { compareCodeUnits } from './codeUnitOrder';
import { buildScopeModel, placeUser, type ScopeModel } from './scopeModel';
import type { ExecutionSummary, KindWork, SendItem, UploadExecutor } from './uploadWork';

export interface PlanDependencies {
  mirror: MirrorStore;
  ledger: LedgerStore;
  journal: ChangeJournal;
  reports: ReportsIndex;
  conflicts: ConflictStore;
  planState: PlanStateStore;
  health: DestinationHealthStore;
  deletions: DeletionStateStore;
  executor: UploadExecutor;
  logger: Logger;
  now?: () => Date;
}

export interface PlanOptions {
  /** Work the plan out and report it; write nothing, send nothing. */
  dryRun?: boolean;
  /** Plan the whole source even if nothing asks for it (`--replan`). */
  replan?: boolean;
  /** How many names (UPNs, group names) each summary lists per list. Default 10. */
  sampleSize?: number;
  /** Renews the source lock during long work. */
  keepAlive?: () => Promise<void>;
}

export interface KindPlanSummary {
  upserts: number;
  /** Deletions that go out now (under dry run: would go out). */
  deletes: number;
  unchanged: number;
  /** Left scope, still inside the grace period (among the objects this plan looked at). */
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
  /** Batches sent or messages queued for this destination. */
  messages: number;
  /** False when no mapping of this source names the destination (what it holds is being removed). */
  mapped: boolean;
  /** Set when the destination is in quarantine and nothing was sent. */
  skippedBecause?: string;
  missingGroups: string[];
}

/** A destination that holds objects of this source but is no longer in the config: nothing can reach it. */
export interface UnreachableDestination {
  destination: string;
  users: number;
  groups: number;
}

export interface ScopeConflict {
  userId: string;
  upn: string | null;
  /** Destinations whose mappings hold the user, in the order of their first matching mapping. */
  destinations: string[];
  /** Every mapping that holds the user, ascending. */
  mappingIndexes: number[];
}

export type PlanMode = 'idle' | 'changes' | 'whole';

export interface SourcePlanSummary {
  source: string;
  dryRun: boolean;
  /** `idle`: nothing changed and nothing was due; `changes`: change-driven; `whole`: whole-source. */
  mode: PlanMode;
  /** Why a whole-source plan ran. */
  reason?: string;
  /** Objects looked at. */
  evaluated: { users: number; groups: number };
  destinations: DestinationPlanSummary[];
  /** The conflicts among the users this plan looked at (whole-source: all of them). */
  conflicts: ScopeConflict[];
  unreachable: UnreachableDestination[];
  /** What the executor did (absent under dry run). */
  uploads?: ExecutionSummary;
}

/** A change-driven plan reaching more users than this share of the source plans the whole source instead. */
const WHOLE_PLAN_ABOVE_SHARE = 0.25;
const WHOLE_PLAN_ABOVE_MIN = 5_000;
/** Bumped when what a plan computes changes (record format, hashing): the next plan is whole. */
const PLAN_FORMAT = 2;

const KINDS: readonly UploadKind[] = ['groups', 'users'];

/** Hash of everything a plan's desired state depends on besides the directory itself. */
export function planConfigHash(config: Pick<ConnectorConfig, 'mappings' | 'options' | 'destinations'>, source: string): string {
  const mappings = config.mappings
    .filter((mapping) => mapping.source === source)
    .sort((a, b) => a.index - b.index)
    .map((mapping) => [mapping.index, mapping.destination, mapping.limitToGroups, mapping.exclude, mapping.include]);
  const { includeDisabledUsers, includeGuests, requireMail, onConflict, deleteAfterDays } = config.options;
  const text = JSON.stringify([PLAN_FORMAT, mappings, config.destinations.map((d) => d.name).sort(), includeDisabledUsers, includeGuests, requireMail, onConflict, deleteAfterDays]);
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}

/** What the scope wants at one destination for one object, and how to build its record. */
interface Desired extends DesiredObject {
  record?: () => string | Promise<string>;
  label: string;
}

/** One destination and kind, while it is planned. */
interface ScopePlan {
  scope: LedgerScope;
  mapped: boolean;
  read: LedgerRead;
  /** Objects this plan evaluated and what it wants of them (undefined: not wanted there). */
  desired: Map<string, Desired | undefined>;
  /** Bucket summaries as read (change-driven plans). */
  summaries?: Map<string, LedgerBucketSummary>;
}

function emptyKindSummary(): KindPlanSummary {
  return {
    upserts: 0, deletes: 0, unchanged: 0, waitingDeletes: 0, heldDeletes: 0, gate: 'noChanges', destinationSize: 0, deletedLast24h: 0,
    threshold: null, sample: { upserts: [], deletes: [], held: [] },
  };
}

function entryOf(read: LedgerRead, id: string): LedgerEntry | undefined {
  return read.buckets.get(bucketOfId(id))?.get(id);
}

function addPatch(patches: Map<string, Map<string, LedgerEntryPatch>>, id: string, patch: LedgerEntryPatch): void {
  const bucket = bucketOfId(id);
  const map = patches.get(bucket) ?? new Map<string, LedgerEntryPatch>();
  patches.set(bucket, map);
  map.set(id, { ...(map.get(id) ?? {}), ...patch });
}

function scopeKey(scope: LedgerScope): string {
  return `${scope.destination}|${scope.kind}`;
}

async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const page of pages) for (const item of page) all.push(item);
  return all;
}

/** The source's group graph: every group (removed ones too) and every group's direct members. */
export async function loadDirectoryGraph(mirror: MirrorStore, source: string): Promise<DirectoryGraph> {
  const [groups, members] = await Promise.all([collect<MirrorGroup>(mirror.listGroups(source, { includeRemoved: true })), mirror.loadMembers(source)]);
  const sets = new Map([...members].map(([groupId, stored]) => [groupId, stored.sets]));
  return new DirectoryGraph(groups, sets);
}

function conflictOf(user: Pick<MirrorUser, 'id' | 'userPrincipalName'>, placement: ReturnType<typeof placeUser>): RecordedConflict | undefined {
  if (placement.conflict === undefined) return undefined;
  return {
    userId: user.id, upn: user.userPrincipalName, destinations: placement.conflict.destinations,
    mappingIndexes: placement.conflict.mappingIndexes, sentTo: [...placement.destinations.keys()],
  };
}

interface Planned {
  scopes: ScopePlan[];
  /** Users looked at, with their conflicts (whole: every live user). */
  evaluatedUsers: Set<string>;
  conflicts: RecordedConflict[];
  /** Whole plans: the rebuilt manager → reports index. */
  reports?: Map<string, Set<string>>;
  /** Change plans: manager moves to apply to the reports index. */
  moves?: { userId: string; from: string[]; to: string | null }[];
  evaluatedGroups: number;
  /** Whole plans: the live users seen. */
  liveUsers?: number;
  liveGroups: number;
}

export async function planSource(
  source: string,
  config: Pick<ConnectorConfig, 'mappings' | 'options' | 'destinations'>,
  deps: PlanDependencies,
  runId: string,
  options: PlanOptions = {},
): Promise<SourcePlanSummary> {
  const now = (deps.now ?? (() => new Date()))();
  const dryRun = options.dryRun === true;
  const logger = deps.logger.child({ source, runId, ...(dryRun ? { dryRun } : {}) });
  const journal = await deps.journal.pending(source);
  const configHash = planConfigHash(config, source);
  const state = await deps.planState.getPlanState(source);
  const configured = config.destinations.map((destination) => destination.name);
  const wholePlan = journal.find((entry): entry is Extract<JournalEntry, { kind: 'wholePlan' }> => entry.kind === 'wholePlan');
  let reason: string | undefined = options.replan === true ? 'asked for (--replan)'
    : state === undefined ? 'first plan of this source'
      : state.configHash !== configHash ? 'the mappings or options changed'
        : wholePlan !== undefined ? wholePlan.reason : undefined;

  const holds = (await deps.deletions.listHolds()).filter((hold) => hold.source === source);
  const approvals = new Map<string, DeletionApproval>();
  for (const hold of holds) {
    const approval = await deps.deletions.getApproval(hold.destination, hold.source, hold.kind);
    if (approval !== undefined) approvals.set(`${hold.destination}|${hold.kind}`, approval);
  }

  let planned: Planned;
  let scopeModel: ScopeModel;
  let mode: PlanMode = 'whole';
  if (reason === undefined) {
    const changes = mergeJournal(journal);
    const summaries = new Map<string, Map<string, LedgerBucketSummary>>();
    for (const destination of configured) {
      for (const kind of KINDS) summaries.set(`${destination}|${kind}`, await deps.ledger.summaries({ destination, source, kind }));
    }
    const due = [...summaries.values()].some((map) => [...map.values()].some((summary) => summary.due !== null && Date.parse(summary.due) <= now.getTime()));
    if (isEmpty(changes) && !due && approvals.size === 0) {
      logger.debug('plan.idle', { journalEntries: journal.length });
      if (!dryRun && journal.length > 0) await deps.journal.consume(source, journal.flatMap((entry) => entry.rowKeys));
      return { source, dryRun, mode: 'idle', evaluated: { users: 0, groups: 0 }, destinations: [], conflicts: [], unreachable: state?.unreachable ?? [] };
    }
    mode = 'changes';
    scopeModel = buildScopeModel(await loadDirectoryGraph(deps.mirror, source), config, source);
    const changePlan = await planChanges(source, configured, scopeModel, changes, summaries, deps, now, config.options.deleteAfterDays, state?.users ?? 0);
    if (changePlan === 'tooLarge') {
      reason = 'a change reached more than a quarter of the source';
      mode = 'whole';
      planned = await planWhole(source, configured, scopeModel, deps);
    } else {
      planned = changePlan;
    }
  } else {
    scopeModel = buildScopeModel(await loadDirectoryGraph(deps.mirror, source), config, source);
    planned = await planWhole(source, configured, scopeModel, deps);
  }
  if (mode === 'whole') logger.info('plan.whole', { reason });

  // Decide per object, run the deletion gate, and collect the work.
  const model = planned;
  const works: KindWork[] = [];
  const summaries = new Map<string, DestinationPlanSummary>();
  const sampleSize = options.sampleSize ?? 10;
  const holdWrites: { put?: DeletionHold; clear?: { destination: string; kind: UploadKind }; clearApproval?: { destination: string; kind: UploadKind } }[] = [];
  const healthOf = new Map<string, Awaited<ReturnType<DestinationHealthStore['get']>>>();
  for (const plan of model.scopes) {
    const { scope } = plan;
    const log = logger.child({ destination: scope.destination, kind: scope.kind });
    const patches = new Map<string, Map<string, LedgerEntryPatch>>();
    const sends: SendItem[] = [];
    const kindSummary = emptyKindSummary();
    const upsertLabels: string[] = [];
    let wantedDelta = 0;
    const candidates: { id: string; leftScopeAt: string }[] = [];
    let touchedPending = false;

    for (const [id, desired] of plan.desired) {
      const entry = entryOf(plan.read, id);
      if (entry !== undefined && graceEndsAt(entry, config.options.deleteAfterDays) !== null) touchedPending = true;
      const decision = decideObject(desired, entry, now);
      if (decision.patch !== undefined) {
        addPatch(patches, id, decision.patch);
        if (decision.patch.w === 1) wantedDelta += 1;
        if (decision.patch.w === null && entry?.w === 1) wantedDelta -= 1;
      }
      if (decision.send && desired !== undefined) {
        sends.push({ id, op: 'upsert', hash: desired.hash, ...(desired.baseHash !== undefined ? { baseHash: desired.baseHash } : {}), ...(desired.record !== undefined ? { record: desired.record } : {}) });
        upsertLabels.push(desired.label);
      } else if (desired !== undefined && !decision.waiting) {
        kindSummary.unchanged += 1;
      }
      if (decision.deletionCandidate !== undefined) candidates.push({ id, leftScopeAt: decision.deletionCandidate });
    }
    kindSummary.upserts = sends.length;

    // The deletion gate sees every due deletion of this destination and kind, or none.
    const approval = approvals.get(scopeKey(scope));
    const previousHold = holds.find((hold) => hold.destination === scope.destination && hold.kind === scope.kind);
    const graceOver = (leftScopeAt: string) => now.getTime() - Date.parse(leftScopeAt) >= config.options.deleteAfterDays * 86_400_000;
    const gateNeeded = plan.summaries === undefined || approval !== undefined || touchedPending || candidates.some((candidate) => graceOver(candidate.leftScopeAt));
    let destinationSize = 0;
    let wantedAfter = 0;
    if (plan.summaries === undefined) {
      for (const entries of plan.read.buckets.values()) {
        for (const [id, entry] of entries) {
          if (entry.a !== undefined) destinationSize += 1;
          if (!plan.desired.has(id) && entry.w === 1) wantedAfter += 1;
        }
      }
      for (const desired of plan.desired.values()) if (desired !== undefined) wantedAfter += 1;
    } else {
      for (const summary of plan.summaries.values()) {
        destinationSize += summary.held;
        wantedAfter += summary.wanted;
      }
      wantedAfter += wantedDelta;
      if (gateNeeded) {
        const pendingBuckets = [...plan.summaries].filter(([, summary]) => summary.pendingDue !== null && Date.parse(summary.pendingDue) <= now.getTime()).map(([bucket]) => bucket);
        plan.read = await deps.ledger.read(scope, pendingBuckets, { extend: plan.read });
        for (const bucket of pendingBuckets) {
          for (const [id, entry] of plan.read.buckets.get(bucket) ?? []) {
            if (plan.desired.has(id) || entry.l === undefined || graceEndsAt(entry, config.options.deleteAfterDays) === null) continue;
            candidates.push({ id, leftScopeAt: entry.l });
          }
        }
      }
    }

    const missingGroups = plan.mapped ? [...(scopeModel.missingGroupsByDestination.get(scope.destination) ?? [])] : [];
    let gate: DeletionGateResult | undefined;
    let deletedLast24h = 0;
    if (gateNeeded) {
      const holdReasons: string[] = [];
      if (missingGroups.length > 0) {
        holdReasons.push(`LimitToGroups ${missingGroups.join(', ')} not found in the mirror of source ${source}; deletions wait until the scope is whole`);
      } else if (plan.mapped && scope.kind === 'users' && wantedAfter === 0) {
        holdReasons.push(`the scope of ${scope.destination} reads empty; an empty scope is never taken as "delete everyone"`);
      }
      const dueCandidates = candidates.filter((candidate) => graceOver(candidate.leftScopeAt));
      deletedLast24h = dueCandidates.length > 0
        ? await deps.deletions.countExecutedSince(scope.destination, source, scope.kind, new Date(now.getTime() - ROLLING_WINDOW_IN_MS))
        : 0;
      gate = decideDeletions({
        candidates, now, deleteAfterDays: config.options.deleteAfterDays, destinationSize, deletedLast24h,
        threshold: config.options.deleteThreshold, thresholdMax: config.options.deleteThresholdMax, holdReasons, dryRun,
        ...(approval !== undefined ? { approval } : {}),
      });
      for (const id of gate.approved) {
        const entry = entryOf(plan.read, id);
        if (inFlightOrBackingOff(entry, 'delete', now)) continue;
        sends.push({ id, op: 'delete', hash: 'delete' });
      }
      const recheck = new Date(now.getTime() + HOLD_RECHECK_IN_MS).toISOString();
      for (const id of gate.held) {
        const entry = entryOf(plan.read, id);
        if (entry?.h === undefined || Date.parse(entry.h) <= now.getTime()) addPatch(patches, id, { h: recheck });
      }
      if (gate.status === 'held' && gate.holdId !== undefined && gate.leftScopeCutoff !== undefined) {
        holdWrites.push({ put: {
          destination: scope.destination, source, kind: scope.kind, holdId: gate.holdId, held: gate.held.length, destinationSize: gate.counts.destinationSize,
          deletedLast24h, threshold: gate.counts.threshold, reason: gate.reason ?? '', leftScopeCutoff: gate.leftScopeCutoff,
          heldSince: previousHold?.heldSince ?? now.toISOString(), plannedAt: now.toISOString(), runId,
        } });
      } else if (previousHold !== undefined && gate.status !== 'error') {
        // The cause went away (objects came back, the group reappeared) or an approval let them through.
        holdWrites.push({ clear: { destination: scope.destination, kind: scope.kind } });
        log.info('deletions.holdCleared', { holdId: previousHold.holdId, status: gate.status });
      }
      // An approval is used up once nothing it could cover is due any more.
      if (approval !== undefined && gate.counts.due === 0) holdWrites.push({ clearApproval: { destination: scope.destination, kind: scope.kind } });
      if (gate.status === 'held') log.warn('deletions.held', { held: gate.held.length, threshold: gate.counts.threshold, destinationSize, deletedLast24h, holdId: gate.holdId, reason: gate.reason });
      if (gate.status === 'error') log.error('deletions.error', { held: gate.held.length, reason: gate.reason });
      if (gate.approvedByAdministrator === true) log.info('deletions.approvedByAdministrator', { deletes: gate.approved.length, holdId: approval?.holdId, approvedBy: approval?.approvedBy });
    }

    const label = (id: string) => plan.desired.get(id)?.label ?? id;
    kindSummary.deletes = gate?.approved.length ?? 0;
    kindSummary.waitingDeletes = gate?.waiting.length ?? candidates.filter((candidate) => !graceOver(candidate.leftScopeAt)).length;
    kindSummary.heldDeletes = gate?.held.length ?? 0;
    kindSummary.gate = gate?.status ?? (dryRun ? 'dryRun' : 'noChanges');
    if (gate?.reason !== undefined) kindSummary.gateReason = gate.reason;
    if (gate?.holdId !== undefined) kindSummary.holdId = gate.holdId;
    kindSummary.destinationSize = destinationSize;
    kindSummary.deletedLast24h = deletedLast24h;
    kindSummary.threshold = gate?.counts.threshold ?? null;
    kindSummary.sample = {
      upserts: upsertLabels.slice(0, sampleSize),
      deletes: (gate?.approved ?? []).slice(0, sampleSize).map(label),
      held: (gate?.held ?? []).slice(0, sampleSize).map(label),
    };

    // A destination in quarantine gets nothing now: what it is owed comes due when the quarantine ends.
    let health = healthOf.get(scope.destination);
    if (sends.length > 0 && !healthOf.has(scope.destination)) {
      health = await deps.health.get(scope.destination);
      healthOf.set(scope.destination, health);
    }
    let skippedBecause: string | undefined;
    let toSend = sends.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (sends.length > 0 && isQuarantined(health, now)) {
      const until = health?.retryAfter ?? now.toISOString();
      for (const item of sends) addPatch(patches, item.id, outcomePatch(entryOf(plan.read, item.id), item, { kind: 'deferred', until }, now));
      skippedBecause = `destination unhealthy until ${until}: ${health?.lastError ?? ''}`;
      toSend = [];
    }
    if (patches.size > 0 || toSend.length > 0) works.push({ scope, patches, sends: toSend, preloaded: plan.read });

    const summary = summaries.get(scope.destination) ?? {
      destination: scope.destination, users: emptyKindSummary(), groups: emptyKindSummary(), messages: 0, mapped: plan.mapped,
      missingGroups,
    };
    summary[scope.kind] = kindSummary;
    if (skippedBecause !== undefined) summary.skippedBecause = skippedBecause;
    summaries.set(scope.destination, summary);
  }

  // Destinations gone from the config that still hold something of this source (the config, and so
  // this list, can only change with a whole plan; other plans repeat what it found).
  const unreachable: UnreachableDestination[] = mode === 'whole' ? [] : [...(state?.unreachable ?? [])];
  const known = await deps.deletions.knownDestinations(source);
  if (mode === 'whole') {
    for (const destination of known) {
      if (configured.includes(destination)) continue;
      const held = async (kind: UploadKind) => [...(await deps.ledger.summaries({ destination, source, kind })).values()].reduce((sum, s) => sum + s.held, 0);
      const gone: UnreachableDestination = { destination, users: await held('users'), groups: await held('groups') };
      if (gone.users + gone.groups === 0) continue;
      logger.warn('destination.unreachable', { ...gone, reason: 'not in the configuration any more; nothing can be sent or deleted there without its token' });
      unreachable.push(gone);
    }
  }

  const conflicts: ScopeConflict[] = model.conflicts.map(({ sentTo: _sentTo, ...conflict }) => conflict);
  for (const conflict of model.conflicts) {
    logger.info('scope.conflict', { userId: conflict.userId, destinations: conflict.destinations, sentTo: conflict.sentTo, mappings: conflict.mappingIndexes, policy: config.options.onConflict });
  }
  const result: SourcePlanSummary = {
    source, dryRun, mode, ...(reason !== undefined ? { reason } : {}),
    evaluated: { users: model.evaluatedUsers.size, groups: model.evaluatedGroups },
    destinations: [...summaries.values()].filter((summary) => summary.mapped || summary.users.destinationSize + summary.groups.destinationSize + summary.users.upserts + summary.groups.upserts > 0),
    conflicts, unreachable,
  };
  if (dryRun) return result;

  // Records first, then what derives from this plan, then the journal.
  const uploads = await deps.executor.execute(works, { runId, deleteAfterDays: config.options.deleteAfterDays, logger, ...(options.keepAlive !== undefined ? { keepAlive: options.keepAlive } : {}) });
  result.uploads = uploads;
  for (const work of works) {
    const summary = summaries.get(work.scope.destination);
    if (summary !== undefined) summary.messages += Math.ceil(work.sends.length / 100);
  }
  if (planned.reports !== undefined) await deps.reports.replace(source, planned.reports);
  if (planned.moves !== undefined && planned.moves.length > 0) await deps.reports.move(source, planned.moves);
  if (mode === 'whole') await deps.conflicts.replace(source, model.conflicts);
  else if (model.evaluatedUsers.size > 0) await deps.conflicts.update(source, [...model.evaluatedUsers], model.conflicts);
  for (const write of holdWrites) {
    if (write.put !== undefined) await deps.deletions.putHold(write.put);
    if (write.clear !== undefined) await deps.deletions.clearHold(write.clear.destination, source, write.clear.kind);
    if (write.clearApproval !== undefined) await deps.deletions.clearApproval(write.clearApproval.destination, source, write.clearApproval.kind);
  }
  for (const summary of summaries.values()) {
    const holdsAnything = summary.users.destinationSize + summary.groups.destinationSize + summary.users.upserts + summary.groups.upserts > 0;
    if (holdsAnything && !known.includes(summary.destination)) await deps.deletions.rememberDestination(source, summary.destination, now);
  }
  if (mode === 'whole') {
    await deps.planState.putPlanState(source, { configHash, users: planned.liveUsers ?? state?.users ?? 0, groups: planned.liveGroups, lastWholePlanAt: now.toISOString(), unreachable });
  }
  if (journal.length > 0) await deps.journal.consume(source, journal.flatMap((entry) => entry.rowKeys));
  for (const summary of summaries.values()) {
    // Counts only: the samples hold UPNs, which stay out of the logs.
    const counts = (kind: KindPlanSummary) => ({ upserts: kind.upserts, deletes: kind.deletes, unchanged: kind.unchanged, waitingDeletes: kind.waitingDeletes, heldDeletes: kind.heldDeletes, gate: kind.gate, destinationSize: kind.destinationSize });
    logger.info('plan.destination', { destination: summary.destination, mode, users: counts(summary.users), groups: counts(summary.groups), mapped: summary.mapped, skipped: summary.skippedBecause !== undefined });
  }
  return result;
}

/** Group records wanted per destination: every group in scope of a mapping to it. */
function desiredGroupsFor(model: ScopeModel, destination: string, group: MirrorGroup | undefined): Desired | undefined {
  if (group === undefined || group.removed !== null || model.groupsByDestination.get(destination)?.has(group.id) !== true) return undefined;
  return { hash: groupRecordHash(group), record: () => groupRecordJson(group), label: group.displayName ?? group.id };
}

/**
 * The whole source: every live user streamed once, every ledger entry of every destination read.
 * No record JSON is kept while planning: the records to send are read again, in id order, as the
 * executor sends them (recordSource.ts).
 */
async function planWhole(source: string, configured: readonly string[], model: ScopeModel, deps: PlanDependencies): Promise<Planned> {
  const reads = new Map<string, LedgerRead>();
  for (const destination of configured) {
    for (const kind of KINDS) reads.set(`${destination}|${kind}`, await deps.ledger.read({ destination, source, kind }, 'all'));
  }

  interface Scanned {
    managerId: string | null;
    baseHash: string;
    destinations: Map<string, string[]>;
    label: string;
  }
  const scanned = new Map<string, Scanned>();
  const identity = new Map<string, Signature365Manager | null>();
  const reports = new Map<string, Set<string>>();
  const conflicts: RecordedConflict[] = [];
  for await (const page of deps.mirror.listUsers(source)) {
    for (const user of page) {
      const placement = placeUser(model, user);
      identity.set(user.id, managerPart(user));
      if (user.managerId !== null) {
        const set = reports.get(user.managerId) ?? new Set<string>();
        reports.set(user.managerId, set);
        set.add(user.id);
      }
      const conflict = conflictOf(user, placement);
      if (conflict !== undefined) conflicts.push(conflict);
      scanned.set(user.id, { managerId: user.managerId, baseHash: userBaseHash(user), destinations: placement.destinations, label: user.userPrincipalName ?? user.id });
    }
  }

  const scopes: ScopePlan[] = [];
  for (const destination of configured) {
    const mapped = model.destinations.includes(destination);
    // Groups: every group the mirror holds, and every group the ledger knows.
    const groupRead = reads.get(`${destination}|groups`) as LedgerRead;
    const groupDesired = new Map<string, Desired | undefined>();
    for (const group of model.graph.groups.values()) groupDesired.set(group.id, desiredGroupsFor(model, destination, group));
    for (const entries of groupRead.buckets.values()) for (const id of entries.keys()) if (!groupDesired.has(id)) groupDesired.set(id, undefined);
    scopes.push({ scope: { destination, source, kind: 'groups' }, mapped, read: groupRead, desired: groupDesired });

    const userRead = reads.get(`${destination}|users`) as LedgerRead;
    const userDesired = new Map<string, Desired | undefined>();
    const owed: string[] = [];
    for (const [id, user] of scanned) {
      const groups = user.destinations.get(destination);
      if (groups === undefined) continue;
      const manager = user.managerId === null ? null : (identity.get(user.managerId) ?? null);
      const hash = userRecordHash(user.baseHash, manager, groups);
      if (entryOf(userRead, id)?.a !== hash) owed.push(id);
      userDesired.set(id, {
        hash, baseHash: user.baseHash, label: user.label,
        record: async () => {
          const again = await users(id);
          if (again === undefined || again.removed !== null) throw new Error(`User ${id} of source ${source} left the mirror while its record was being sent`);
          return userRecordJson(again, manager, groups);
        },
      });
    }
    const users = windowedUsers(deps.mirror, source, owed.sort(compareCodeUnits));
    for (const entries of userRead.buckets.values()) for (const id of entries.keys()) if (!userDesired.has(id)) userDesired.set(id, undefined);
    scopes.push({ scope: { destination, source, kind: 'users' }, mapped, read: userRead, desired: userDesired });
  }

  return {
    scopes, evaluatedUsers: new Set(scanned.keys()), conflicts, reports, evaluatedGroups: model.graph.groups.size,
    liveUsers: scanned.size, liveGroups: model.graph.liveGroupIds().length,
  };
}

/**
 * The objects a change reaches and the entries that came due. Returns 'tooLarge' when the change
 * reaches more than a quarter of the source: a whole-source plan is then cheaper.
 */
async function planChanges(
  source: string,
  configured: readonly string[],
  model: ScopeModel,
  changes: MergedChanges,
  summaries: ReadonlyMap<string, Map<string, LedgerBucketSummary>>,
  deps: PlanDependencies,
  now: Date,
  deleteAfterDays: number,
  knownUsers: number,
): Promise<Planned | 'tooLarge'> {
  // Entries that came due, per destination and kind.
  const reads = new Map<string, LedgerRead>();
  const dueIds = { users: new Set<string>(), groups: new Set<string>() };
  for (const destination of configured) {
    for (const kind of KINDS) {
      const scope = { destination, source, kind };
      const dueBuckets = [...(summaries.get(`${destination}|${kind}`) ?? new Map<string, LedgerBucketSummary>())]
        .filter(([, summary]) => summary.due !== null && Date.parse(summary.due) <= now.getTime())
        .map(([bucket]) => bucket);
      if (dueBuckets.length === 0) continue;
      const read = await deps.ledger.read(scope, dueBuckets);
      reads.set(`${destination}|${kind}`, read);
      for (const entries of read.buckets.values()) {
        for (const [id, entry] of entries) {
          const at = entryDueAt(entry, deleteAfterDays);
          if (at !== null && at <= now.getTime()) dueIds[kind].add(id);
        }
      }
    }
  }

  const reportsOf = changes.identityChanged.size > 0 ? await deps.reports.reportsOf(source, [...changes.identityChanged]) : new Map<string, string[]>();
  const impact = impactOf(changes, model.graph, reportsOf);
  const userIds = new Set([...impact.users, ...dueIds.users]);
  if (userIds.size > Math.max(WHOLE_PLAN_ABOVE_MIN, knownUsers * WHOLE_PLAN_ABOVE_SHARE)) return 'tooLarge';
  const groupIds = new Set([...impact.groups, ...dueIds.groups]);

  const users = userIds.size > 0 ? await deps.mirror.getUsers(source, [...userIds]) : new Map<string, MirrorUser>();
  const managerIds = [...users.values()].map((user) => user.managerId).filter((id): id is string => id !== null && !users.has(id));
  const managers = managerIds.length > 0 ? await deps.mirror.getUsers(source, [...new Set(managerIds)]) : new Map<string, MirrorUser>();
  const personOf = (id: string) => users.get(id) ?? managers.get(id);

  const conflicts: RecordedConflict[] = [];
  interface Evaluated { user?: MirrorUser; baseHash?: string; manager: Signature365Manager | null; destinations: Map<string, string[]>; label: string }
  const evaluated = new Map<string, Evaluated>();
  for (const id of userIds) {
    const user = users.get(id);
    if (user === undefined || user.removed !== null) {
      evaluated.set(id, { manager: null, destinations: new Map(), label: user?.userPrincipalName ?? id });
      continue;
    }
    const placement = placeUser(model, user);
    const conflict = conflictOf(user, placement);
    if (conflict !== undefined) conflicts.push(conflict);
    evaluated.set(id, {
      user, baseHash: userBaseHash(user), manager: user.managerId === null ? null : managerPart(personOf(user.managerId)),
      destinations: placement.destinations, label: user.userPrincipalName ?? id,
    });
  }

  const scopes: ScopePlan[] = [];
  for (const destination of configured) {
    const mapped = model.destinations.includes(destination);
    for (const kind of KINDS) {
      const ids = kind === 'users' ? userIds : groupIds;
      const scope = { destination, source, kind };
      const key = `${destination}|${kind}`;
      const read = await deps.ledger.read(scope, [...new Set([...ids].map(bucketOfId))], reads.has(key) ? { extend: reads.get(key) as LedgerRead } : {});
      const desired = new Map<string, Desired | undefined>();
      for (const id of ids) {
        if (kind === 'groups') {
          desired.set(id, desiredGroupsFor(model, destination, model.graph.groups.get(id)));
          continue;
        }
        const evaluation = evaluated.get(id);
        const groups = evaluation?.destinations.get(destination);
        const user = evaluation?.user;
        if (evaluation?.baseHash === undefined || user === undefined || groups === undefined) {
          desired.set(id, undefined);
          continue;
        }
        const manager = evaluation.manager;
        desired.set(id, {
          hash: userRecordHash(evaluation.baseHash, manager, groups), baseHash: evaluation.baseHash, label: evaluation.label,
          record: () => userRecordJson(user, manager, groups),
        });
      }
      scopes.push({ scope, mapped, read, desired, summaries: summaries.get(key) ?? new Map() });
    }
  }

  const moves = [...changes.managerMoves].map(([userId, from]) => {
    const user = users.get(userId);
    return { userId, from: [...from], to: user !== undefined && user.removed === null ? user.managerId : null };
  });
  return {
    scopes, evaluatedUsers: userIds, conflicts, moves, evaluatedGroups: groupIds.size,
    liveGroups: model.graph.liveGroupIds().length,
  };
}
