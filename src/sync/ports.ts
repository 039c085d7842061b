/**
 * The interfaces the sync engine needs. Adapters implement them: src/graph (DirectoryReader),
 * src/store (MirrorStore, CursorStore, LockStore, ...), src/signature365 (DestinationClient).
 * Nothing here names a Graph, Table storage or HTTP type, so the core can be driven by
 * Azurite-backed stores and fake servers in tests exactly as by the real services.
 */
import type {
  DeltaPage, DirectoryKind, GroupChange, GroupChangeReport, MembershipEdge, MirrorGroup, MirrorUser, UserChange, UserChangeReport,
} from './directory';
import type { MailboxType, Signature365Group, Signature365User } from '../signature365/contract';
import type { CredentialExpiry } from '../graph/credentialExpiry';

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
  /**
   * What readUsers selects beyond the fixed attributes: the directory extension names, sorted and
   * joined with ","; absent means "nothing more" (''). A saved link read with another selection is
   * not resumed, and a full round states these keys absent where Graph left them out.
   */
  readonly userSelection?: string;
  readGroups(resumeLink: string | undefined, options?: ReadOptions): AsyncIterable<DeltaPage<GroupChange>>;
  /**
   * Reads the mailbox type (mailboxSettings/userPurpose) of each user, one Graph request each.
   * Never throws for a refusal: 403 (MailboxSettings.Read not granted) sets `denied` and stops
   * asking; users it could not read (denied, or an error after retries) are left out of `types`.
   * Absent on readers that cannot (the plan then leaves mailbox types as they are).
   */
  readMailboxTypes?(userIds: readonly string[], options?: ReadOptions): Promise<MailboxTypeRead>;
  /**
   * When the source's sign-in credential ends: a client secret's end date from the app
   * registration (Application.Read.All; `unknown`, with why, when refused), a certificate's from
   * its PEM. Absent on readers that cannot tell.
   */
  readCredentialExpiry?(now: Date): Promise<CredentialExpiry>;
}

/** A user's object id found by UPN or mail in the source directory itself (Graph), for `explain`. */
export type UserKeyLookup =
  | { kind: 'found'; id: string; by: 'userPrincipalName' | 'mail' }
  | { kind: 'notFound' }
  /** The directory could not answer (no token, no network, an error after retries): the caller falls back. */
  | { kind: 'unreachable'; error: string };

/**
 * Looks a user up by a key people know (UPN or mail) in the source directory: Graph's own keys, so
 * the mirror needs no index of its own (src/graph/userLookup.ts).
 */
export interface UserKeyDirectory {
  findUserId(key: string, options?: ReadOptions): Promise<UserKeyLookup>;
}

export interface MailboxTypeRead {
  /** User id → its mailbox type; "unknown" for a user without a mailbox (Graph: 404). */
  types: Map<string, MailboxType>;
  denied: boolean;
  /** Users left unread because of an error other than a refusal (retried the next time they are planned). */
  failed: number;
}

export interface ApplyCounts {
  added: number;
  changed: number;
  /** Present in the page but identical to what the mirror held (a replay or duplicate). */
  unchanged: number;
  removed: number;
}

/** A group's direct members as the mirror holds them, with the rows that hold them. */
export interface StoredMembers {
  sets: { users: Set<string>; groups: Set<string>; others: Set<string> };
  rowKeys: string[];
}

/**
 * Changes read, compared and ready to write. `commit` writes only the rows that differ; the engine
 * records `report` in the change journal before it commits (see pullSource.ts).
 */
export interface PreparedMirrorWrite<TReport> {
  counts: ApplyCounts;
  report: TReport;
  /** Rows prepared for writing (held-back rows from an earlier batch included). */
  rows: number;
  /**
   * Writes the prepared rows. With `fullTransactionsOnly`, the rows of a partition that would make a
   * last transaction of fewer than 100 are held back and returned: hand them to the next prepare
   * (full rounds do, so a 100k-user round writes about 1,000 transactions instead of 1,500).
   */
  commit(options?: { fullTransactionsOnly?: boolean }): Promise<HeldBackRows | undefined>;
}

/** Prepared rows not written yet; opaque but for the ids they hold. */
export interface HeldBackRows {
  readonly ids: readonly string[];
}

/**
 * The per-source copy of the directory in Table storage. Every write is an idempotent upsert by
 * object id, prepared (read and compared) before it is committed.
 */
export interface MirrorStore {
  /** Creates tables if missing; call once per process. */
  initialize(): Promise<void>;
  /**
   * One scan of a source's users or groups: id → fingerprint of the stored object (or its removal).
   * Full rounds compare complete objects with these instead of reading rows.
   */
  loadFingerprints(source: string, kind: DirectoryKind): Promise<Map<string, string>>;
  /** Compares with the rows (or, given fingerprints, with those) and prepares the writes. */
  prepareUserChanges(source: string, changes: readonly UserChange[], options?: { fingerprints?: Map<string, string>; heldBack?: HeldBackRows }): Promise<PreparedMirrorWrite<UserChangeReport>>;
  /** Group rows only; members@delta goes through readMembers / writeMembers. */
  prepareGroupChanges(source: string, changes: readonly GroupChange[], options?: { fingerprints?: Map<string, string> }): Promise<PreparedMirrorWrite<GroupChangeReport>>;
  /** After a completed full round: marks the objects it did not see as removed (`missingFromFullRound`). */
  prepareSweep(source: string, kind: DirectoryKind, ids: readonly string[], fingerprints: Map<string, string>): Promise<PreparedMirrorWrite<UserChangeReport>>;
  /** Deletes objects removed before `removedBefore` (groups with their members); returns how many. */
  purgeRemoved(source: string, kind: DirectoryKind, removedBefore: Date): Promise<number>;
  /** Every group's direct members. */
  loadMembers(source: string): Promise<Map<string, StoredMembers>>;
  readMembers(source: string, groupIds: readonly string[]): Promise<Map<string, StoredMembers>>;
  /** Replaces the members of each given group. Returns the rows written or deleted. */
  writeMembers(source: string, updates: ReadonlyMap<string, { sets: StoredMembers['sets']; previousRowKeys: readonly string[] }>): Promise<number>;
  /** Pages of users (removed ones only when asked). */
  listUsers(source: string, options?: { includeRemoved?: boolean }): AsyncIterable<MirrorUser[]>;
  listGroups(source: string, options?: { includeRemoved?: boolean }): AsyncIterable<MirrorGroup[]>;
  getUsers(source: string, ids: readonly string[]): Promise<Map<string, MirrorUser>>;
  /**
   * Ids of the source's users (removed ones too) whose UPN or mail is `key`, case-insensitive, and
   * how many rows were looked at: one pass over the source's users reading three columns.
   * `explain`'s fallback when the directory cannot be asked; it costs what the source holds.
   */
  findUserIdsByKey(source: string, key: string): Promise<{ ids: string[]; scanned: number }>;
  /** User ids grouped so that each group is read together cheaply (one partition each), order kept. */
  groupUserIdsForReading(source: string, ids: readonly string[]): string[][];
  getGroups(source: string, ids: readonly string[]): Promise<Map<string, MirrorGroup>>;
  /** Direct members of one group. */
  listMembers(source: string, groupId: string): Promise<MembershipEdge[]>;
  /** Every direct edge of the source, in pages. */
  listEdges(source: string): AsyncIterable<MembershipEdge[]>;
  /** Writes users' mailbox types (that column only; the rest of each row is left alone). */
  putMailboxTypes(source: string, types: ReadonlyMap<string, MailboxType>): Promise<void>;
}

/** What a full round has seen so far: ids, and for groups the member slices (group id → members). */
export interface SeenInRound {
  ids: Set<string>;
  members: Map<string, StoredMembers['sets']>;
}

/** A pending journal entry: changes a pull recorded, or a request to plan the whole source. */
export type JournalEntry =
  | { kind: 'changes'; rowKeys: string[]; users?: UserChangeReport; groups?: GroupChangeReport }
  | { kind: 'wholePlan'; rowKeys: string[]; reason: string };

/**
 * What pulls changed and the planner has not yet acted on (Table `Journal`, src/store/journalStore.ts).
 * Entries stay until the planner consumes them, after the work they caused is durable.
 */
export interface ChangeJournal {
  initialize(): Promise<void>;
  /**
   * The same round, kind, batch and attempt rewrite the same entry; another attempt at the batch
   * (a replay after a crash) writes an entry of its own, so nothing the first attempt saw is lost.
   */
  appendChanges(
    source: string,
    at: { roundStartedAt: string; roundId: string; kind: DirectoryKind; batch: number; attempt?: string },
    changes: { users?: UserChangeReport; groups?: GroupChangeReport },
  ): Promise<void>;
  appendWholePlan(source: string, at: Date, roundId: string, reason: string): Promise<void>;
  /** Pending entries, change entries oldest first, then the whole-plan requests; an entry cut short comes back without reports, to be consumed. */
  pending(source: string): Promise<JournalEntry[]>;
  consume(source: string, rowKeys: readonly string[]): Promise<void>;
  appendSeen(source: string, roundId: string, kind: DirectoryKind, batch: number, seen: SeenInRound, attempt?: string): Promise<void>;
  readSeen(source: string, roundId: string, kind: DirectoryKind): Promise<SeenInRound>;
  /** Deletes seen sets of every round but `keepRoundId`. */
  clearSeen(source: string, keepRoundId?: string): Promise<void>;
}

export interface DeltaRound {
  id: string;
  kind: 'full' | 'incremental';
  startedAt: string;
  pages: number;
  /**
   * A full round started because the user selection changed: the selection read before, whose
   * extension keys this round states absent for users that no longer carry them (Graph leaves
   * out a property no longer selected, and the mirror merges). Kept with the round so a resumed
   * round still knows it.
   */
  dropSelection?: string;
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
  /** The reader's `userSelection` the links were read with (users only); absent in older rows: ''. */
  selection?: string;
}

export interface CursorStore {
  initialize(): Promise<void>;
  get(source: string, kind: DirectoryKind): Promise<DeltaCursor | undefined>;
  /**
   * Replaces the cursor. With `fencedBy`, only while no holder with a higher fencing token has
   * written it: a holder whose lease was taken over cannot move the cursor back (it gets a
   * LockLostError, and the row keeps what the newer holder wrote).
   */
  put(source: string, kind: DirectoryKind, cursor: DeltaCursor, fencedBy?: HeldLock): Promise<void>;
}

export interface HeldLock {
  readonly name: string;
  readonly holder: string;
  /**
   * Fencing token: larger for every later holder of this lock (taking a lock over raises it), so
   * storage can refuse a write from a holder that lost its lease without knowing it yet.
   */
  readonly fence: number;
  /** Extends the lease; throws LockLostError when another holder took it over. Concurrent calls share one renewal. */
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

export type UploadKind = 'users' | 'groups';

/**
 * One object's entry in a destination's ledger: what the destination acknowledged holding, and
 * what the connector still means to do about it. Short keys: a bucket row holds hundreds of them.
 * The planner owns `w`, `l`, `h`, `q`, `qh`; the upload side owns `a`, `b`, `f`, `e`, `r`; each
 * patches only its own fields (under the row's ETag), so neither overwrites the other.
 */
export interface LedgerEntry {
  /** Hash of the record the destination acknowledged; absent: it holds nothing of ours. */
  a?: string;
  /** Users: the acknowledged record's base hash (without manager and groups). */
  b?: string;
  /** 1 while the object is in scope at this destination. */
  w?: 1;
  /** When it left scope: a pending deletion while `a` is set and `w` is not. */
  l?: string;
  /** A held deletion is looked at again at this time (the gate's rolling window moves on). */
  h?: string;
  /** Consecutive failures, the last error, and when to try again (backoff, or the end of a quarantine). */
  f?: number;
  e?: string;
  r?: string;
  /** Queue path: when, and which hash (or "delete"), was last queued. */
  q?: string;
  qh?: string;
  /**
   * Field fingerprints of the acknowledged record (src/sync/fieldFingerprints.ts): which fields a
   * new record changes, for the audit trail and `explain`, without keeping any value.
   */
  fp?: string;
  /** When the destination acknowledged `a` (ISO time): what `explain` answers with. */
  t?: string;
}

/** A field set to null is removed. */
export type LedgerEntryPatch = { [K in keyof LedgerEntry]?: LedgerEntry[K] | null };

export interface LedgerScope {
  destination: string;
  source: string;
  kind: UploadKind;
}

/**
 * The summary kept on each bucket row, read without its entries: when something in the bucket
 * is next due, and counts for the deletion gate and status.
 */
export interface LedgerBucketSummary {
  /** Earliest time an entry needs the planner: a retry, a re-queue check, a deletion's grace end or hold re-check. */
  due: string | null;
  /** Earliest grace end among pending deletions (held or not): where the gate finds every due deletion. */
  pendingDue: string | null;
  /** Entries the destination acknowledged holding. */
  held: number;
  /** Entries in scope. */
  wanted: number;
  /** Entries in scope the destination does not hold as wanted yet: queued, retrying or deferred. */
  owed: number;
  /** Pending deletions. */
  pending: number;
  /** Entries with failures. */
  failed: number;
}

/** Buckets as read: entries by id per bucket, plus what a later write needs (ETags). */
export interface LedgerRead {
  buckets: Map<string, Map<string, LedgerEntry>>;
  /** Opaque to the core: hand it back to `update` to save a read. */
  readonly handle: unknown;
}

/**
 * The upload ledger: per destination, source and kind, one entry per object, kept in 256 bucket
 * rows (src/store/ledgerStore.ts). Every write is an ETag-guarded read-modify-write of whole rows.
 */
export interface LedgerStore {
  initialize(): Promise<void>;
  /** The given buckets, or all of them; with `extend`, added to an earlier read (buckets it holds are not read again). */
  read(scope: LedgerScope, buckets: readonly string[] | 'all', options?: { extend?: LedgerRead }): Promise<LedgerRead>;
  /** Bucket summaries (one projected query); with `dueBy`, only buckets with something due by then. */
  summaries(scope: LedgerScope, options?: { dueBy?: Date }): Promise<Map<string, LedgerBucketSummary>>;
  /**
   * Applies `mutate` to each bucket's entries (a pure function: it may run again after a
   * concurrent write) and writes the bucket with `summarize` of the result.
   */
  update(
    scope: LedgerScope,
    buckets: readonly string[],
    mutate: (bucket: string, entries: Map<string, LedgerEntry>) => void,
    summarize: (entries: ReadonlyMap<string, LedgerEntry>) => LedgerBucketSummary,
    options?: { preloaded?: LedgerRead },
  ): Promise<void>;
}

/** One record (or deletion) queued for a destination, as the Outbox table keeps it until it is sent. */
export interface OutboxItem {
  id: string;
  op: 'upsert' | 'delete';
  /** The record's hash, or "delete". */
  hash: string;
  baseHash?: string;
  /** Upserts: the record as JSON. */
  record?: string;
}

/**
 * The queue path's pending records (Table `Outbox`): the plan writes a record here before it
 * queues its id, and the upload worker removes it once the destination answered. Keyed by object
 * id and hash, so a newer record queued meanwhile is never removed by the worker of an older one.
 */
export interface OutboxStore {
  initialize(): Promise<void>;
  put(scope: LedgerScope, items: readonly OutboxItem[]): Promise<void>;
  /** Every version queued for the given ids. */
  read(scope: LedgerScope, ids: readonly string[]): Promise<OutboxItem[]>;
  remove(scope: LedgerScope, items: readonly { id: string; hash: string }[]): Promise<void>;
}

/** Where the queue path puts upload work (the uploads Storage queue). */
export interface UploadQueue {
  sendUpload(message: { runId: string; source: string; destination: string; kind: UploadKind; ids: string[] }): Promise<void>;
}

/**
 * Why a destination is in quarantine: its token was refused (401/403), it stayed unavailable
 * through every retry (429/5xx/network), or it keeps rejecting requests in a way resending cannot
 * fix (404, 422, an answer that breaks the contract).
 */
export type QuarantineReason = 'unauthorized' | 'unavailable' | 'rejected';

export interface DestinationHealth {
  destination: string;
  healthy: boolean;
  /** Set while unhealthy: when uploads may be tried again. */
  retryAfter: string | null;
  consecutiveFailures: number;
  lastError: string | null;
  /** Set while unhealthy (rows written before it existed read as null). */
  reason?: QuarantineReason | null;
  changedAt: string;
}

export interface DestinationHealthStore {
  initialize(): Promise<void>;
  get(destination: string): Promise<DestinationHealth | undefined>;
  put(health: DestinationHealth): Promise<void>;
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

/**
 * What a destination holds for one source (`source` is the key the records were sent under), read
 * back by the reconcile (destinationReconcile.ts). Pages of contract records; the reconcile keeps
 * only each record's id and hash. The contract answers with one page; a paging API would fit too.
 */
export interface DestinationListing {
  listUsers(source: string): AsyncIterable<readonly Signature365User[]>;
  listGroups(source: string): AsyncIterable<readonly Signature365Group[]>;
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
  /** The current conflicts of a source, sorted by user id. */
  list(source: string): Promise<RecordedConflict[]>;
  /** A whole-source plan's conflicts replace what was recorded. */
  replace(source: string, conflicts: readonly RecordedConflict[]): Promise<void>;
  /** A change-driven plan re-planned `userIds`: those of them in `conflicts` are recorded, the rest cleared. */
  update(source: string, userIds: readonly string[], conflicts: readonly RecordedConflict[]): Promise<void>;
}

/** Manager id → the users whose manager it is (Table `Reports`): who to re-plan when a manager is renamed. */
export interface ReportsIndex {
  initialize(): Promise<void>;
  reportsOf(source: string, managerIds: readonly string[]): Promise<Map<string, string[]>>;
  /** Takes each user off the lists of `from` and puts it on the list of `to`. */
  move(source: string, moves: readonly { userId: string; from: readonly string[]; to: string | null }[]): Promise<void>;
  /** Makes the index equal to `reports` (a whole-source plan rebuilt it). */
  replace(source: string, reports: ReadonlyMap<string, ReadonlySet<string>>): Promise<void>;
}

/** What the planner remembers per source between plans (a row of the Cursors table). */
export interface PlanState {
  /** Hash of the configuration the last whole-source plan worked from; a change forces another. */
  configHash: string;
  /** Live users and groups the last whole-source plan saw (a change-driven plan larger than a share of these plans the whole source instead). */
  users: number;
  groups: number;
  lastWholePlanAt: string;
  /** Destinations gone from the config that still hold objects of this source, as the last whole plan found them. */
  unreachable: { destination: string; users: number; groups: number }[];
}

export interface PlanStateStore {
  getPlanState(source: string): Promise<PlanState | undefined>;
  putPlanState(source: string, state: PlanState): Promise<void>;
}

/**
 * A queue dispatch under way: the ledger entries of these buckets marked queued at `q` may have no
 * upload message yet. Written before the marks, cleared once every message is sent; one found by
 * the next plan was left by a dispatch that crashed in between (see queueUploads.ts).
 */
export interface DispatchMarker {
  q: string;
  scopes: { destination: string; kind: UploadKind; buckets: string[] }[];
}

export interface DispatchMarkerStore {
  getDispatch(source: string): Promise<DispatchMarker | undefined>;
  putDispatch(source: string, marker: DispatchMarker): Promise<void>;
  /** Removes the marker if it is still the one of `q`; succeeds when it is gone. */
  clearDispatch(source: string, q: string): Promise<void>;
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

/** What every administrative act records: who, through which front, when. */
interface AuditCommon {
  /** Who: the OS user (CLI) or the caller-supplied name (HTTP). */
  actor: string;
  /** Through which front: `cli` or `http`. */
  via: string;
  at: string;
}

/** An approval of held deletions. */
export interface DeletionApprovalAudit extends AuditCommon {
  action: 'deletions.approve';
  destination: string;
  source: string;
  kind: UploadKind;
  holdId: string;
  count: number;
  destinationSize: number;
  threshold: number | null;
  reason: string;
}

/** A pause or resume of mappings (see MappingPause). */
export interface MappingPauseAudit extends AuditCommon {
  action: 'mappings.pause' | 'mappings.resume';
  /** `all`: every mapping at once (`--all`); otherwise the (source, destination) pairs, storage keys. */
  pairs: 'all' | PausedPair[];
  /** The Mappings indexes this covered (0-based, as `validate` numbers them), as the config stood then. */
  mappings: number[];
  /** The administrator's words; '' when none were given. */
  reason: string;
}

/** One administrative act, kept for audit (Table `Audit`). */
export type AuditEntry = DeletionApprovalAudit | MappingPauseAudit;
export type AuditAction = AuditEntry['action'];

export interface AuditStore {
  initialize(): Promise<void>;
  record(entry: AuditEntry): Promise<void>;
  /** Newest first; only the given actions when `actions` is set (default: every action). */
  list(options?: { limit?: number; actions?: readonly AuditAction[] }): Promise<AuditEntry[]>;
}

/** A source and a destination (storage keys): what a pause stops, whichever mappings join them. */
export interface PausedPair {
  source: string;
  destination: string;
}

/**
 * A pause an administrator set (`s365-connector pause`): nothing is planned, sent, reconciled or
 * deleted for the pair (or, with `pair: 'all'`, for any pair) until it is resumed. The pull goes
 * on. Keyed by the pair, not by the mapping's index, so editing the Mappings list does not move a
 * pause to another mapping.
 */
export interface MappingPause {
  pair: 'all' | PausedPair;
  /** The Mappings indexes named or covered when it was paused (for people). */
  mappings: number[];
  pausedAt: string;
  pausedBy: string;
  via: string;
  /** '' when none was given. */
  reason: string;
}

/** Table `Pauses` (src/store/pauseStore.ts): a handful of rows, read whole by each plan and upload message. */
export interface PauseStore {
  initialize(): Promise<void>;
  /** Every pause, the global one (if any) first. */
  list(): Promise<MappingPause[]>;
  put(pause: MappingPause): Promise<void>;
  /** Succeeds when it is not paused. */
  remove(pair: 'all' | PausedPair): Promise<void>;
}

/** The last reading of a source's credential end date (Table `Health`, partition `credential`). */
export interface CredentialCheck {
  source: string;
  checkedAt: string;
  expiry: CredentialExpiry;
}

export interface CredentialCheckStore {
  initialize(): Promise<void>;
  get(source: string): Promise<CredentialCheck | undefined>;
  put(check: CredentialCheck): Promise<void>;
}

/** What one write or skip decision for one object at one destination was (the audit trail). */
export type ObjectAuditAction = 'create' | 'update' | 'delete' | 'staged delete' | 'skip' | 'failed';

/**
 * One row of the audit trail (Table `AuditTrail`), like a line of the Entra provisioning logs:
 * names and ids only, never a field's value.
 */
export interface ObjectAuditRow {
  runId: string;
  /** ISO time of the decision. */
  at: string;
  destination: string;
  source: string;
  kind: UploadKind;
  objectId: string;
  action: ObjectAuditAction;
  /** Why, in words: `new in scope`, `left scope of every mapping`, `held: deletion gate`, `400: …`. */
  reason: string;
  /** The names of the fields this write changed (empty for deletes and skips; unknown: empty). */
  fields: string[];
}

export interface ObjectAuditQuery {
  objectId?: string;
  destination?: string;
  /** Only rows at or after this time. */
  since?: Date;
  /** Newest first; at most this many (default 100). */
  limit?: number;
}

export interface ObjectAuditLog {
  initialize(): Promise<void>;
  /** Appends rows; rows of one run and destination are written together in few requests. */
  recordMany(rows: readonly ObjectAuditRow[]): Promise<void>;
  /** Newest first. */
  query(query?: ObjectAuditQuery): Promise<ObjectAuditRow[]>;
  /** Drops what is older than the retention, without reading the rows one by one. */
  purge(retentionDays: number, now: Date): Promise<void>;
}

/** One connector queue's backlog, as the service counts it (approximate). */
export interface QueueDepth {
  /** The queue's name without the storage prefix: `uploads`, `pull-requests`, `subscription-events`. */
  queue: string;
  messages: number;
  /** Messages in `<queue>-poison`: they failed every try and wait for an operator. */
  poisonMessages: number;
}

export interface QueueDepthReader {
  depths(): Promise<QueueDepth[]>;
}

/**
 * One source's share of one sync run, kept for the status page's history (Table `RunHistory`,
 * src/store/runHistoryStore.ts): the last runs per source, newest first. What each field means,
 * and how the lag is worked out, is in src/sync/runHistory.ts.
 */
export interface RunHistoryEntry {
  runId: string;
  source: string;
  /** When the source's part of the run ended (ISO time). */
  endedAt: string;
  /** Seconds the source's part took: pull, reconcile, plan, and the uploads when sent in-process. */
  durationSeconds: number;
  /** The rounds this run completed: `full` when either kind's was full, `none` when it completed no round. */
  round: 'full' | 'incremental' | 'none';
  /** `ok`, `partial` (a round left unfinished, e.g. the run's deadline) or `failed` (a stage of the source failed). */
  outcome: 'ok' | 'partial' | 'failed';
  /** Seconds between the end of the run and the source's oldest last completed round; null before any. */
  lagSeconds: number | null;
  /** Objects the plan handed to the destinations (upserts and deletions, every destination and kind). */
  objects: number;
  /** In-process runs: items the destinations acknowledged and items that failed; 0 when queued (the upload worker sends them later). */
  succeeded: number;
  failed: number;
  /** `inProcess`: sent by this run (CLI, serve); `queued`: handed to the uploads queue (the Functions app). */
  delivery: 'inProcess' | 'queued';
}

export interface RunHistoryStore {
  initialize(): Promise<void>;
  /** Adds the run and drops what lies beyond the newest `keep` of its source, in the same write. */
  record(entry: RunHistoryEntry, options?: { keep?: number }): Promise<void>;
  /** The newest runs of a source, newest first (default the 50 kept). */
  latest(source: string, options?: { limit?: number }): Promise<RunHistoryEntry[]>;
}
