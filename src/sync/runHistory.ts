/**
 * What one run did for one source, written to the run history at the end of the source's part of
 * the run (runSync.ts), for the status page's trends. The entry is worked out by a pure function:
 *
 * - `round`: `full` when the pull completed a full round of users or groups, `incremental` when it
 *   completed incremental rounds only, `none` when it completed no round (a round left for the
 *   next run, or a failed pull).
 * - `outcome`: `failed` when a stage of the source failed (pull, asked-for reconcile, plan),
 *   `partial` when the pull stopped before the end of its rounds (deadline, shutdown), else `ok`.
 * - `lagSeconds`, the **sync lag**: how stale the source's data is when the run ends, i.e. the end
 *   of the run minus the older of the users' and groups' last completed rounds. A run that
 *   completed its rounds has a lag of the time it took to plan and send after reading Entra (on the
 *   queue path: to queue; the upload worker sends afterwards). A run that completed no round (a
 *   pull failing, a round that outlasts several runs) leaves the last completed round where it
 *   was, so its lag is how long the source has gone unread, and it grows run after run: the rising
 *   line on the status page. Null until both kinds have completed a round once.
 * - `objects`: upserts and deletions the plan handed to the destinations (sent in-process, or
 *   queued); `succeeded` / `failed`: what the destinations answered in this run (in-process only).
 *
 * A run that found nothing to do is not recorded: its pull completed, its plan was idle (nothing
 * changed, nothing due) and nothing failed. A quiet tenant's timer runs every few minutes, and the
 * point of an idle run is that it writes nothing; the page shows the last round's time from the
 * cursors for those. Dry runs are not recorded either (runSync.ts).
 *
 * Writing it costs two requests (a keys-only query, one transaction; see TableRunHistoryStore),
 * plus two cursor reads when the pull stopped before it read both cursors. It never fails the run: the history is for display, and losing one row
 * costs one point on a sparkline.
 */
import type { Logger } from './logger';
import { errorFields } from './logger';
import type { PullSummary } from './pullSource';
import type { SourcePlanSummary } from './planSource';
import type { CursorStore, RunHistoryEntry, RunHistoryStore } from './ports';

/** What the run summary holds about one source. */
export interface SourceRunOutcome {
  pull: PullSummary | undefined;
  plan: SourcePlanSummary | undefined;
  failed: boolean;
}

export interface RunHistoryFacts {
  runId: string;
  source: string;
  startedAt: Date;
  endedAt: Date;
  /** The sources' last completed rounds after the run (cursors), per kind; null when never. */
  lastRoundCompletedAt: { users: string | null; groups: string | null };
  /** True when the uploads went to the queue (the executor is durable). */
  queued: boolean;
}

function roundOf(pull: PullSummary | undefined): RunHistoryEntry['round'] {
  const kinds = [pull?.users, pull?.groups].filter((kind) => kind?.completed === true);
  if (kinds.length === 0) return 'none';
  return kinds.some((kind) => kind?.roundKind === 'full') ? 'full' : 'incremental';
}

/** False for a run that found nothing to do (see the header): it is not recorded. */
export function worthRecording(outcome: SourceRunOutcome): boolean {
  return outcome.failed || outcome.pull?.status !== 'completed' || outcome.plan?.mode !== 'idle';
}

/** The history entry of one source's part of a run. Pure. */
export function runHistoryEntry(outcome: SourceRunOutcome, facts: RunHistoryFacts): RunHistoryEntry {
  const { users, groups } = facts.lastRoundCompletedAt;
  const oldest = users === null || groups === null ? null : Math.min(Date.parse(users), Date.parse(groups));
  const endedMs = facts.endedAt.getTime();
  const destinations = outcome.plan?.destinations ?? [];
  const objects = destinations.reduce((sum, d) => sum + d.users.upserts + d.users.deletes + d.groups.upserts + d.groups.deletes, 0);
  const uploads = outcome.plan?.uploads;
  return {
    runId: facts.runId,
    source: facts.source,
    endedAt: facts.endedAt.toISOString(),
    durationSeconds: Math.max(0, (endedMs - facts.startedAt.getTime()) / 1000),
    round: roundOf(outcome.pull),
    outcome: outcome.failed ? 'failed' : outcome.pull?.status === 'partial' ? 'partial' : 'ok',
    lagSeconds: oldest === null || Number.isNaN(oldest) ? null : Math.max(0, Math.round((endedMs - oldest) / 1000)),
    objects,
    succeeded: facts.queued ? 0 : uploads?.succeeded ?? 0,
    failed: facts.queued ? 0 : uploads?.failed ?? 0,
    delivery: facts.queued ? 'queued' : 'inProcess',
  };
}

export interface RunHistoryDependencies {
  runHistory?: RunHistoryStore;
  cursors: Pick<CursorStore, 'get'>;
  now?: () => Date;
}

/** Writes the entry (reading the cursors only when the pull did not report them), unless the run found nothing to do; a storage error is logged (warn) and swallowed. */
export async function recordRunHistory(
  deps: RunHistoryDependencies,
  outcome: SourceRunOutcome,
  facts: Omit<RunHistoryFacts, 'endedAt' | 'lastRoundCompletedAt'>,
  logger: Logger,
): Promise<void> {
  const store = deps.runHistory;
  if (store === undefined || !worthRecording(outcome)) return;
  try {
    const endedAt = deps.now?.() ?? new Date();
    // The pull read (and, completing a round, wrote) both cursors: what it saw is asked again only when it did not get that far.
    const pulledUsers = outcome.pull?.users?.lastRoundCompletedAt;
    const pulledGroups = outcome.pull?.groups?.lastRoundCompletedAt;
    const [users, groups] = pulledUsers !== undefined && pulledGroups !== undefined
      ? [pulledUsers, pulledGroups]
      : await Promise.all([
        deps.cursors.get(facts.source, 'users').then((cursor) => cursor?.lastRoundCompletedAt ?? null),
        deps.cursors.get(facts.source, 'groups').then((cursor) => cursor?.lastRoundCompletedAt ?? null),
      ]);
    const lastRoundCompletedAt = { users, groups };
    await store.record(runHistoryEntry(outcome, { ...facts, endedAt, lastRoundCompletedAt }));
  } catch (error) {
    logger.warn('runHistory.writeFailed', { source: facts.source, ...errorFields(error), effect: 'one point missing from the status page' });
  }
}
