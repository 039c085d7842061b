/**
 * The interfaces the sync engine needs. Adapters implement them: src/graph (DirectoryReader),
 * src/store (MirrorStore, CursorStore, LockStore, ...), src/signature365 (DestinationClient).
 * Nothing here names a Graph, Table storage or HTTP type, so the core can be driven by
 * Azurite-backed stores and fake servers in tests exactly as by the real services.
 */
import type {
  DeltaPage, DirectoryKind, GroupChange, MembershipEdge, MirrorGroup, MirrorUser, UserChange,
} from './directory';
import type { Signature365Group, Signature365User } from '../signature365/contract';

export interface ReadOptions {
  abortSignal?: AbortSignal;
}

/** Reads one Entra tenant through delta queries. */
export interface DirectoryReader {
  /**
   * Reads pages from `resumeLink` (a saved nextLink or deltaLink) or, when it is undefined,
   * a full round from the start. Iteration ends after the page that carries the deltaLink.
   * Throws DeltaTokenExpiredError when Graph rejects the link (410 / syncStateNotFound).
   */
  readUsers(resumeLink: string | undefined, options?: ReadOptions): AsyncIterable<DeltaPage<UserChange>>;
  readGroups(resumeLink: string | undefined, options?: ReadOptions): AsyncIterable<DeltaPage<GroupChange>>;
}

export interface ApplyCounts {
  added: number;
  changed: number;
  /** Present in the page but identical to what the mirror held (a replay or duplicate). */
  unchanged: number;
  removed: number;
}

export interface GroupApplyCounts extends ApplyCounts {
  edgesAdded: number;
  edgesRemoved: number;
}

export interface ApplyOptions {
  /** Set during a full round: every object written is marked as seen by this round, for the sweep. */
  fullRoundId?: string;
}

/** The per-source copy of the directory in Table storage. Every write is an idempotent upsert by object id. */
export interface MirrorStore {
  /** Creates tables if missing; call once per process. */
  initialize(): Promise<void>;
  applyUserChanges(source: string, changes: UserChange[], options?: ApplyOptions): Promise<ApplyCounts>;
  applyGroupChanges(source: string, changes: GroupChange[], options?: ApplyOptions): Promise<GroupApplyCounts>;
  /** After a completed full round: marks live users that round did not see as removed. Returns how many. */
  sweepUsers(source: string, fullRoundId: string): Promise<number>;
  /** After a completed full round: marks unseen groups removed and deletes unseen edges. */
  sweepGroups(source: string, fullRoundId: string): Promise<{ groups: number; edges: number }>;
  /** Pages of users (removed ones only when asked). */
  listUsers(source: string, options?: { includeRemoved?: boolean }): AsyncIterable<MirrorUser[]>;
  listGroups(source: string, options?: { includeRemoved?: boolean }): AsyncIterable<MirrorGroup[]>;
  getUsers(source: string, ids: readonly string[]): Promise<Map<string, MirrorUser>>;
  getGroups(source: string, ids: readonly string[]): Promise<Map<string, MirrorGroup>>;
  /** Direct members of one group. */
  listMembers(source: string, groupId: string): Promise<MembershipEdge[]>;
  /** Every direct edge of the source, in pages. */
  listEdges(source: string): AsyncIterable<MembershipEdge[]>;
}

export interface DeltaRound {
  id: string;
  kind: 'full' | 'incremental';
  startedAt: string;
  pages: number;
}

/** Where a source's delta reading stands, per kind (users, groups). */
export interface DeltaCursor {
  /** The nextLink after the last durably applied page of the unfinished round, if any. */
  nextLink: string | null;
  /** The deltaLink of the last completed round: where the next incremental round starts. */
  deltaLink: string | null;
  /** The unfinished round, if any (kept so a resumed full round sweeps with the same id). */
  round: DeltaRound | null;
  lastFullRoundCompletedAt: string | null;
  lastRoundCompletedAt: string | null;
}

export interface CursorStore {
  initialize(): Promise<void>;
  get(source: string, kind: DirectoryKind): Promise<DeltaCursor | undefined>;
  put(source: string, kind: DirectoryKind, cursor: DeltaCursor): Promise<void>;
}

export interface HeldLock {
  /** Extends the lease; throws LockLostError when another holder took it over. */
  renew(): Promise<void>;
  /** Gives the lock up; succeeds when already released or expired. */
  release(): Promise<void>;
}

export interface AcquireOptions {
  /**
   * Says whether an unexpired lease's holder is known to be gone (e.g. a crashed process on this
   * machine), so the lease may be taken over at once instead of waiting for it to expire.
   */
  holderIsGone?: (holder: string) => boolean;
}

/** A named, expiring, ETag-guarded lock in storage: one pull per source at a time across instances. */
export interface LockStore {
  initialize(): Promise<void>;
  /** Returns undefined when someone else holds an unexpired lease. */
  tryAcquire(name: string, holder: string, ttlInMs: number, options?: AcquireOptions): Promise<HeldLock | undefined>;
}

/**
 * What the connector wants a destination to hold for one object, and what the destination last
 * acknowledged holding. Keyed by (destination, source, kind, object id).
 */
export interface UploadRow {
  id: string;
  /** Hash of the record the destination should hold; null when the object should not be there. */
  desiredHash: string | null;
  /** The contract record (JSON) matching desiredHash; null when not desired. */
  desiredRecord: string | null;
  /** Hash of the record the destination acknowledged (200); null when it holds nothing of ours. */
  ackHash: string | null;
  /** When the object left this destination's scope (start of the grace period). */
  leftScopeAt: string | null;
  /** True once the deletion gate let this object's removal through. */
  deleteApproved: boolean;
  /** Consecutive failed attempts and the last error (per-item 400 etc.), for status. */
  failures: number;
  lastError: string | null;
  /**
   * What was last dispatched for this object and when: the desired hash for an upsert, or
   * "delete". A plan does not queue the same work again while it is recent, so a backlog (a large
   * first sync, a slow destination) is not multiplied by every timer tick.
   */
  dispatched: { what: string; at: string } | null;
}

export type UploadKind = 'users' | 'groups';

export interface UploadStateStore {
  initialize(): Promise<void>;
  list(destination: string, source: string, kind: UploadKind): AsyncIterable<UploadRow[]>;
  get(destination: string, source: string, kind: UploadKind, ids: readonly string[]): Promise<Map<string, UploadRow>>;
  /** Replaces the given rows (idempotent). */
  put(destination: string, source: string, kind: UploadKind, rows: readonly UploadRow[]): Promise<void>;
}

export interface DestinationHealth {
  destination: string;
  healthy: boolean;
  /** Set while unhealthy: when uploads may be tried again. */
  retryAfter: string | null;
  consecutiveFailures: number;
  lastError: string | null;
  changedAt: string;
}

export interface DestinationHealthStore {
  initialize(): Promise<void>;
  get(destination: string): Promise<DestinationHealth | undefined>;
  put(health: DestinationHealth): Promise<void>;
}

/** Sends upload work somewhere: onto the queue (Functions) or straight to the uploader (CLI). */
export interface UploadDispatcher {
  /**
   * True when dispatched work outlives this process (a Storage queue). Only durable work is
   * marked as dispatched in the ledger: work held in memory dies with a crash, so it must be
   * planned again by the next run.
   */
  readonly durable: boolean;
  dispatch(message: { runId: string; source: string; destination: string; kind: UploadKind; ids: string[] }): Promise<void>;
}

/** One item's outcome in a destination batch, in input order. */
export interface DestinationItemResult {
  id: string;
  op: 'upsert' | 'delete';
  ok: boolean;
  status: number;
  error?: string;
}

/**
 * A Signature 365 tenant as the engine sees it (src/signature365 implements it over HTTP).
 * Records are the contract's User/Group JSON objects; the client batches, retries and splits.
 * Throws an error named DestinationAuthError on 401/403 (the destination goes into quarantine)
 * and DestinationUnavailableError when retries are exhausted.
 */
export interface DestinationClient {
  sendUsers(source: string, batch: { upserts: readonly Signature365User[]; deletes: readonly string[] }): Promise<DestinationItemResult[]>;
  sendGroups(source: string, batch: { upserts: readonly Signature365Group[]; deletes: readonly string[] }): Promise<DestinationItemResult[]>;
}

/** A user in scope of mappings to more than one destination, as last planned. */
export interface RecordedConflict {
  userId: string;
  upn: string | null;
  destinations: string[];
  mappingIndexes: number[];
  /** Where the user went under Options.OnConflict. */
  sentTo: string[];
}

/** The conflicts table: the current conflicts per source, replaced by every plan. */
export interface ConflictStore {
  initialize(): Promise<void>;
  replace(source: string, conflicts: readonly RecordedConflict[]): Promise<void>;
  list(source: string): Promise<RecordedConflict[]>;
}

/**
 * Deletions the deletion gate stopped, for one destination, source and kind, as the last plan
 * left them. Replaced by every plan that holds, removed by the first that does not.
 */
export interface DeletionHold {
  destination: string;
  source: string;
  kind: UploadKind;
  /** Hash of the held ids: an approval names it, so it approves what the administrator saw. */
  holdId: string;
  held: number;
  destinationSize: number;
  deletedLast24h: number;
  /** Deletions allowed within 24 hours without approval; null when the threshold is off. */
  threshold: number | null;
  reason: string;
  /** The newest leftScopeAt among the held objects; the held set is every candidate that left at or before it. */
  leftScopeCutoff: string;
  /** When this destination, source and kind was first held (kept while the hold continues). */
  heldSince: string;
  /** When the last plan confirmed the hold. */
  plannedAt: string;
  runId: string;
}

/** An administrator's approval of a hold (see deletionGate.ts for what it covers). */
export interface DeletionApproval {
  destination: string;
  source: string;
  kind: UploadKind;
  holdId: string;
  leftScopeCutoff: string;
  count: number;
  approvedBy: string;
  approvedAt: string;
}

/**
 * Table `Deletions`: the record of executed deletions (for the rolling 24-hour cap), the current
 * holds, the approvals, and the destinations each source has been planned for (so a destination
 * removed from the config is noticed).
 */
export interface DeletionStateStore {
  initialize(): Promise<void>;
  /** Records that `count` deletions were acknowledged at `at`. */
  recordExecuted(destination: string, source: string, kind: UploadKind, count: number, at: Date): Promise<void>;
  /** Deletions recorded at or after `since`. */
  countExecutedSince(destination: string, source: string, kind: UploadKind, since: Date): Promise<number>;
  getHold(destination: string, source: string, kind: UploadKind): Promise<DeletionHold | undefined>;
  putHold(hold: DeletionHold): Promise<void>;
  /** Succeeds when there is no hold. */
  clearHold(destination: string, source: string, kind: UploadKind): Promise<void>;
  listHolds(): Promise<DeletionHold[]>;
  getApproval(destination: string, source: string, kind: UploadKind): Promise<DeletionApproval | undefined>;
  putApproval(approval: DeletionApproval): Promise<void>;
  clearApproval(destination: string, source: string, kind: UploadKind): Promise<void>;
  /** Destinations a source has been planned for. */
  knownDestinations(source: string): Promise<string[]>;
  rememberDestination(source: string, destination: string, at: Date): Promise<void>;
}

/** One administrative act, kept for audit (Table `Audit`). */
export interface AuditEntry {
  action: 'deletions.approve';
  /** Who: the OS user (CLI) or the caller-supplied approvedBy (HTTP). */
  actor: string;
  /** Through which front: `cli` or `http`. */
  via: string;
  at: string;
  destination: string;
  source: string;
  kind: UploadKind;
  holdId: string;
  count: number;
  destinationSize: number;
  threshold: number | null;
  reason: string;
}

export interface AuditStore {
  initialize(): Promise<void>;
  record(entry: AuditEntry): Promise<void>;
  /** Newest first. */
  list(options?: { limit?: number }): Promise<AuditEntry[]>;
}
