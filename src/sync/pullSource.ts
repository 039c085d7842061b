/**
 * One pull of one Entra source into the mirror: users, then groups, each a delta round that is
 * resumable batch by batch.
 *
 * Pages are buffered into batches (6,400 objects, so each Table transaction carries close to 100
 * rows; see roundWriter.ts for what a batch writes). Durability order, per batch: record
 * what changed in the journal, write the mirror rows, then checkpoint the nextLink of the batch's
 * last page. The deltaLink that ends a round is saved only after every batch of that round is
 * written (and, for a full round, after the sweep). A crash anywhere replays at most one batch,
 * and every write is an idempotent upsert, so a replay changes nothing.
 *
 * Deletions from absence (the sweep) happen only after a full round has read its last page: a
 * round that fails or times out part-way never marks anything removed.
 */
import { randomUUID } from 'node:crypto';
import type { DeltaPage, DirectoryKind, GroupChange, UserChange } from './directory';
import type { Logger } from './logger';
import { failpoint } from './failpoints';
import { errorFields } from './logger';
import type {
  ApplyCounts, ChangeJournal, CursorStore, DeltaCursor, DeltaRound, DirectoryReader, HeldLock, LockStore, MirrorStore,
} from './ports';
import { groupRoundWriter, userRoundWriter, type RoundCounts, type RoundWriter, type RoundWriterContext } from './roundWriter';
import { isLockLost, keepLeaseFresh, type LeaseKeeper } from './leaseKeeper';
import type { SyncProgress } from './syncProgress';

/** Thrown by a DirectoryReader when Graph no longer knows the delta/skip token (HTTP 410, 7-day lifetime). */
export function isDeltaTokenExpired(error: unknown): boolean {
  return error instanceof Error && error.name === 'DeltaTokenExpiredError';
}

export interface PullDependencies {
  reader: DirectoryReader;
  mirror: MirrorStore;
  cursors: CursorStore;
  journal: ChangeJournal;
  locks: LockStore;
  logger: Logger;
  now?: () => Date;
  /** Told of every page read and every round ended (the CLI's progress); absent: nobody is watching. */
  progress?: SyncProgress;
}

/** Objects per batch: 64 user partitions × 100 rows per transaction (about 40 MB in flight at most). */
export const DEFAULT_BATCH_OBJECTS = 6_400;
/** Batches at least this large hold back short partition tails (see PullOptions.fillTransactions). */
const FILL_TRANSACTIONS_FROM_BATCH = 3_200;
/** The source lock's lease: renewed from a timer every fifth of it (leaseKeeper.ts). */
export const SOURCE_LOCK_TTL_IN_MS = 5 * 60_000;
/** Pages per batch at most, so a slow tenant still checkpoints regularly. */
export const DEFAULT_BATCH_PAGES = 200;

export interface PullOptions {
  /** Start full rounds even when a deltaLink is stored (the CLI's --full, the reconcile). */
  forceFull?: boolean;
  /** A full round is forced when the last completed one is older than this. */
  fullReconcileHours: number;
  /** Stop after the batch in progress once this time (ms since epoch) has passed; the round resumes next time. */
  deadlineAt?: number;
  /** Aborted: stop at the next batch like at the deadline (written and checkpointed; resumes next time). `serve` aborts it on SIGTERM. */
  stopSignal?: AbortSignal;
  /** Who holds the source lock (instance + run id), for diagnosis. */
  holder: string;
  lockTtlInMs?: number;
  /** Lets a front say that the holder of an unexpired lock is gone (the CLI: a crashed process on this machine). */
  lockHolderIsGone?: (holder: string) => boolean;
  /** A lease the caller already holds and keeps fresh (runSync keeps it through the plan); the pull then neither takes nor releases it. */
  heldLease?: LeaseKeeper;
  /** Batch size in objects and in pages (tests use 1 to checkpoint every page). */
  batchObjects?: number;
  batchPages?: number;
  /**
   * Full rounds hold back the last rows of a partition that would make a transaction of fewer than
   * 100, to fill it in the next batch (the checkpoint stays before them). Default: when a batch is
   * large enough to give partitions about 50 rows each (3,200 objects or more).
   */
  fillTransactions?: boolean;
}

export interface KindPullSummary extends ApplyCounts {
  roundKind: DeltaRound['kind'];
  /** Pages applied in this pull (a resumed round counts only the new ones). */
  pages: number;
  resumed: boolean;
  /** Full rounds: objects marked removed because the round did not see them. */
  swept: number;
  /** Full rounds: rows of objects removed more than 30 days ago, deleted. */
  purged: number;
  edgesAdded: number;
  edgesRemoved: number;
  /** Mirror rows written or deleted. */
  rowsWritten: number;
  /** True when the round reached its deltaLink in this pull. */
  completed: boolean;
  /** True when an expired delta token forced a restart as a full round. */
  restartedAfterExpiry: boolean;
  /** When the kind's last round completed, as its cursor says after this pull (null: never). */
  lastRoundCompletedAt?: string | null;
}

export type PullStatus = 'completed' | 'partial' | 'locked';

export interface PullSummary {
  source: string;
  status: PullStatus;
  users?: KindPullSummary;
  groups?: KindPullSummary;
  seconds: number;
}

const EMPTY_CURSOR: DeltaCursor = {
  nextLink: null, deltaLink: null, round: null, lastFullRoundCompletedAt: null, lastRoundCompletedAt: null,
};

interface RoundPlan {
  round: DeltaRound;
  link: string | undefined;
  resumed: boolean;
}

/** A reader's `userSelection` as names (see DirectoryReader.userSelection). */
export function splitSelection(selection: string | undefined): string[] {
  return selection === undefined || selection === '' ? [] : selection.split(',');
}

function joinSelection(names: readonly string[]): string {
  return [...new Set(names)].sort().join(',');
}

/** Decides where the next round of one kind starts. Pure, so the decision table is unit-tested. */
export function planRound(
  cursor: DeltaCursor,
  options: { forceFull: boolean; fullReconcileHours: number; now: Date; newRoundId: string; selection?: string },
): RoundPlan {
  const startedAt = options.now.toISOString();
  // A link keeps the $select it was issued with: one read with another selection (an extension
  // property added to or removed from the config) is neither resumed nor continued.
  const selectionChanged = (cursor.selection ?? '') !== (options.selection ?? '');
  if (selectionChanged) {
    const dropSelection = joinSelection([...splitSelection(cursor.selection), ...splitSelection(cursor.round?.dropSelection)]);
    return {
      round: { id: options.newRoundId, kind: 'full', startedAt, pages: 0, ...(dropSelection !== '' ? { dropSelection } : {}) },
      link: undefined,
      resumed: false,
    };
  }
  if (cursor.nextLink !== null && cursor.round !== null && !(options.forceFull && cursor.round.kind === 'incremental')) {
    return { round: cursor.round, link: cursor.nextLink, resumed: true };
  }
  // An unreadable time counts as "never": NaN compares false, which would otherwise switch reconciles off for good.
  const lastFull = cursor.lastFullRoundCompletedAt === null ? Number.NaN : Date.parse(cursor.lastFullRoundCompletedAt);
  const reconcileDue = Number.isNaN(lastFull) || options.now.getTime() - lastFull >= options.fullReconcileHours * 3_600_000;
  if (options.forceFull || cursor.deltaLink === null || reconcileDue) {
    return { round: { id: options.newRoundId, kind: 'full', startedAt, pages: 0 }, link: undefined, resumed: false };
  }
  return { round: { id: options.newRoundId, kind: 'incremental', startedAt, pages: 0 }, link: cursor.deltaLink, resumed: false };
}

class DeadlineReached extends Error {
  override readonly name = 'DeadlineReached';
}

function addRoundCounts(summary: KindPullSummary, counts: RoundCounts): void {
  summary.added += counts.added;
  summary.changed += counts.changed;
  summary.unchanged += counts.unchanged;
  summary.removed += counts.removed;
  summary.swept += counts.swept;
  summary.purged += counts.purged;
  summary.edgesAdded += counts.edgesAdded;
  summary.edgesRemoved += counts.edgesRemoved;
  summary.rowsWritten += counts.rowsWritten;
}

async function pullKind<TChange extends { id: string }>(
  kind: DirectoryKind,
  source: string,
  deps: PullDependencies,
  options: PullOptions,
  lease: LeaseKeeper,
  read: (link: string | undefined) => AsyncIterable<DeltaPage<TChange>>,
  writerFor: (context: RoundWriterContext) => RoundWriter<TChange>,
  selection = '',
): Promise<KindPullSummary> {
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger.child({ kind });
  const batchObjects = options.batchObjects ?? DEFAULT_BATCH_OBJECTS;
  const batchPages = options.batchPages ?? DEFAULT_BATCH_PAGES;
  const fillTransactions = options.fillTransactions ?? batchObjects >= FILL_TRANSACTIONS_FROM_BATCH;
  let restartedAfterExpiry = false;
  const summary: KindPullSummary = {
    roundKind: 'incremental', pages: 0, resumed: false, swept: 0, purged: 0, added: 0, changed: 0, unchanged: 0, removed: 0,
    edgesAdded: 0, edgesRemoved: 0, rowsWritten: 0, completed: false, restartedAfterExpiry: false,
  };

  // At most two attempts: the stored link, then (if Graph says it expired) a full round from scratch.
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const cursor = (await deps.cursors.get(source, kind)) ?? EMPTY_CURSOR;
    summary.lastRoundCompletedAt = cursor.lastRoundCompletedAt;
    const plan = planRound(cursor, {
      forceFull: (options.forceFull ?? false) || restartedAfterExpiry,
      fullReconcileHours: options.fullReconcileHours,
      now: now(),
      newRoundId: randomUUID(),
      selection,
    });
    const round = { ...plan.round };
    summary.roundKind = round.kind;
    summary.resumed = plan.resumed;
    logger.info('round.start', { roundId: round.id, roundKind: round.kind, resumed: plan.resumed, resumedAtPage: plan.resumed ? round.pages : undefined });
    const statedExtensions = round.kind === 'full' ? [...new Set([...splitSelection(selection), ...splitSelection(round.dropSelection)])] : [];
    const writer = writerFor({ source, round, mirror: deps.mirror, journal: deps.journal, now, attempt: randomUUID().slice(0, 8), statedExtensions });
    try {
      await writer.start();
      let buffer: TChange[] = [];
      let bufferedPages = 0;
      // Which page each object not yet written came from, and the link each page was read with:
      // the checkpoint never passes an object that is not written.
      const pageOf = new Map<string, number>();
      const linkOfPage = new Map<number, string | undefined>();
      let link = plan.link;
      let checkpointedPage = round.pages;
      for await (const page of read(plan.link)) {
        // The lease is renewed from a timer; a page that arrives after it was taken over is not written.
        lease.assertHeld();
        bufferedPages += 1;
        summary.pages += 1;
        round.pages += 1;
        linkOfPage.set(round.pages, link);
        link = page.nextLink;
        for (const change of page.changes) {
          buffer.push(change);
          if (!pageOf.has(change.id)) pageOf.set(change.id, round.pages);
        }
        deps.progress?.onPullPage({ source, kind, roundKind: round.kind, page: round.pages, objects: page.changes.length });
        const last = page.deltaLink !== undefined;
        const pastDeadline = (options.deadlineAt !== undefined && Date.now() >= options.deadlineAt) || options.stopSignal?.aborted === true;
        if (!last && !pastDeadline && buffer.length < batchObjects && bufferedPages < batchPages) continue;

        const written = await writer.write(buffer, round.pages, { last: last || pastDeadline || !fillTransactions });
        addRoundCounts(summary, written.counts);
        failpoint('afterMirrorWrite');
        buffer = [];
        bufferedPages = 0;
        const heldBack = new Set(written.heldBack);
        for (const id of [...pageOf.keys()]) if (!heldBack.has(id)) pageOf.delete(id);
        const oldestHeld = pageOf.size === 0 ? undefined : Math.min(...pageOf.values());
        if (last) {
          if (round.kind === 'full') addRoundCounts(summary, await writer.finish());
          const completedAt = now().toISOString();
          await deps.cursors.put(source, kind, {
            nextLink: null,
            deltaLink: page.deltaLink ?? null,
            round: null,
            lastFullRoundCompletedAt: round.kind === 'full' ? completedAt : cursor.lastFullRoundCompletedAt,
            lastRoundCompletedAt: completedAt,
            selection,
          }, lease.lock);
          failpoint('afterCursorSave');
          summary.completed = true;
          summary.lastRoundCompletedAt = completedAt;
          if (round.kind === 'full') await deps.journal.clearSeen(source);
          logger.info('round.completed', { roundId: round.id, roundKind: round.kind, pages: round.pages, swept: summary.swept });
          deps.progress?.onPullRoundEnd({ source, kind, roundKind: round.kind, outcome: 'completed' });
        } else if (oldestHeld === undefined && page.nextLink !== undefined) {
          await deps.cursors.put(source, kind, { ...cursor, nextLink: page.nextLink, round, selection }, lease.lock);
          checkpointedPage = round.pages;
        } else if (oldestHeld !== undefined && oldestHeld - 1 > checkpointedPage) {
          // Resume at the first page holding an object not written yet.
          const resumeLink = linkOfPage.get(oldestHeld);
          if (resumeLink !== undefined) {
            await deps.cursors.put(source, kind, { ...cursor, nextLink: resumeLink, round: { ...round, pages: oldestHeld - 1 }, selection }, lease.lock);
            checkpointedPage = oldestHeld - 1;
          }
        }
        for (const page of [...linkOfPage.keys()]) if (oldestHeld === undefined || page < oldestHeld) linkOfPage.delete(page);
        lease.assertHeld();
        if (!summary.completed && pastDeadline) throw new DeadlineReached();
      }
      if (!summary.completed) {
        // A reader must end a round with a deltaLink; ending without one is a broken read, not an empty tenant.
        throw new Error(`The ${kind} delta round of source ${source} ended without a deltaLink; nothing was swept, the round resumes next time`);
      }
      summary.restartedAfterExpiry = restartedAfterExpiry;
      return summary;
    } catch (error) {
      if (error instanceof DeadlineReached) {
        logger.info('round.paused', { roundId: round.id, pages: round.pages, reason: 'deadline' });
        deps.progress?.onPullRoundEnd({ source, kind, roundKind: round.kind, outcome: 'paused' });
        summary.restartedAfterExpiry = restartedAfterExpiry;
        return summary;
      }
      if (isDeltaTokenExpired(error) && attempt === 0) {
        logger.warn('round.tokenExpired', { roundId: round.id, roundKind: round.kind, action: 'starting a full round' });
        await deps.cursors.put(source, kind, { ...cursor, nextLink: null, deltaLink: null, round: null }, lease.lock);
        restartedAfterExpiry = true;
        continue;
      }
      if (isLockLost(error)) {
        // Another instance holds the source now and carries the round on; nothing after the last checkpoint is kept.
        logger.warn('round.stopped', { roundId: round.id, pages: round.pages, reason: 'the source lock was taken over', ...errorFields(error) });
      } else {
        logger.error('round.failed', { roundId: round.id, pages: round.pages, ...errorFields(error) });
      }
      throw error;
    }
  }
  throw new Error(`The ${kind} delta token of source ${source} expired twice in one pull`);
}

export class SourceLockedError extends Error {
  override readonly name = 'SourceLockedError';
}

/** Takes the source's lock (one pull and plan per source at a time across instances); undefined when another holds it. */
export async function acquireSourceLock(locks: LockStore, source: string, options: Pick<PullOptions, 'holder' | 'lockTtlInMs' | 'lockHolderIsGone'>): Promise<HeldLock | undefined> {
  return locks.tryAcquire(`pull|${source}`, options.holder, options.lockTtlInMs ?? SOURCE_LOCK_TTL_IN_MS, {
    ...(options.lockHolderIsGone !== undefined ? { holderIsGone: options.lockHolderIsGone } : {}),
  });
}

/**
 * Pulls users and groups of one source. Returns status `locked` when another instance holds
 * the source (or took it over during this pull), `partial` when the deadline stopped a round (it
 * resumes next time).
 */
export async function pullSource(source: string, deps: PullDependencies, options: PullOptions): Promise<PullSummary> {
  const started = Date.now();
  const logger = deps.logger.child({ source });
  let lease = options.heldLease;
  if (lease === undefined) {
    const lock = await acquireSourceLock(deps.locks, source, options);
    if (lock === undefined) {
      logger.info('pull.skipped', { reason: 'another instance is pulling this source' });
      return { source, status: 'locked', seconds: 0 };
    }
    lease = keepLeaseFresh(lock, {
      ttlInMs: options.lockTtlInMs ?? SOURCE_LOCK_TTL_IN_MS,
      onRenewFailed: (error) => logger.warn('lock.renewFailed', { ...errorFields(error), retry: 'at the next tick' }),
    });
  }
  const kindDeps = { ...deps, logger };
  try {
    const users = await pullKind<UserChange>('users', source, kindDeps, options, lease, (link) => deps.reader.readUsers(link), userRoundWriter, deps.reader.userSelection);
    if (!users.completed) {
      return { source, status: 'partial', users, seconds: (Date.now() - started) / 1000 };
    }
    const groups = await pullKind<GroupChange>('groups', source, kindDeps, options, lease, (link) => deps.reader.readGroups(link), groupRoundWriter);
    return { source, status: groups.completed ? 'completed' : 'partial', users, groups, seconds: (Date.now() - started) / 1000 };
  } catch (error) {
    if (!isLockLost(error)) throw error;
    // Not a failure: another instance took the source over (this lease ran out unnoticed) and pulls it now.
    logger.warn('pull.lockLost', { ...errorFields(error), action: 'stopped; the instance holding the source now carries on' });
    return { source, status: 'locked', seconds: (Date.now() - started) / 1000 };
  } finally {
    if (options.heldLease === undefined) {
      await lease.stop();
      await lease.lock.release();
    }
  }
}
