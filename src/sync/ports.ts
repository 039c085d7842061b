/**
 * The interfaces the sync engine needs. Adapters implement them: src/graph (DirectoryReader),
 * src/store (MirrorStore, CursorStore, LockStore, ...), src/signature365 (DestinationClient).
 * Nothing here names a Graph, Table storage or HTTP type, so the core can be driven by
 * Azurite-backed stores and fake servers in tests exactly as by the real services.
 */
import type {
  DeltaPage, DirectoryKind, GroupChange, MembershipEdge, MirrorGroup, MirrorUser, UserChange,
} from './directory';

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

/** A named, expiring, ETag-guarded lock in storage: one pull per source at a time across instances. */
export interface LockStore {
  initialize(): Promise<void>;
  /** Returns undefined when someone else holds an unexpired lease. */
  tryAcquire(name: string, holder: string, ttlInMs: number): Promise<HeldLock | undefined>;
}
