/** What a run's history entry says, from the run summary and the cursors: round, outcome, lag, objects. */
import { describe, expect, it } from 'vitest';
import { runHistoryEntry, worthRecording, type RunHistoryFacts, type SourceRunOutcome } from '../../../src/sync/runHistory';
import type { KindPullSummary, PullSummary } from '../../../src/sync/pullSource';
import type { SourcePlanSummary } from '../../../src/sync/planSource';
import { emptyKindSummary } from '../../../src/sync/scopeDecisions';

const ENDED = new Date('2026-12-03T09:00:00.000Z');

function kind(roundKind: 'full' | 'incremental', completed: boolean): KindPullSummary {
  return {
    roundKind, completed, pages: 1, resumed: false, swept: 0, purged: 0, edgesAdded: 0, edgesRemoved: 0, rowsWritten: 0, restartedAfterExpiry: false,
    added: 0, changed: 0, unchanged: 0, removed: 0,
  };
}

function pull(users: KindPullSummary, groups: KindPullSummary, status: PullSummary['status'] = 'completed'): PullSummary {
  return { source: 'Contoso', status, users, groups, seconds: 1 };
}

function plan(sends: { users: [number, number]; groups: [number, number] }[], uploads?: { succeeded: number; failed: number }): SourcePlanSummary {
  return {
    source: 'Contoso', dryRun: false, mode: 'changes', evaluated: { users: 0, groups: 0 }, conflicts: [], unreachable: [],
    destinations: sends.map((send, index) => ({
      destination: `T${index}`, messages: 1, mapped: true, missingGroups: [],
      users: { ...emptyKindSummary(), upserts: send.users[0], deletes: send.users[1] },
      groups: { ...emptyKindSummary(), upserts: send.groups[0], deletes: send.groups[1] },
    })),
    ...(uploads === undefined ? {} : { uploads: { messages: 1, sent: uploads.succeeded + uploads.failed, ...uploads, quarantinedDestinations: [] } }),
  };
}

function facts(overrides: Partial<RunHistoryFacts> = {}): RunHistoryFacts {
  return {
    runId: 'run-1', source: 'Contoso', startedAt: new Date(ENDED.getTime() - 12_500), endedAt: ENDED, queued: false,
    lastRoundCompletedAt: { users: '2026-12-03T08:59:50.000Z', groups: '2026-12-03T08:59:55.000Z' },
    ...overrides,
  };
}

describe('a run history entry', () => {
  it('records an incremental run: its duration, the lag from the older round, and what the destinations answered', () => {
    const outcome: SourceRunOutcome = {
      pull: pull(kind('incremental', true), kind('incremental', true)),
      plan: plan([{ users: [3, 1], groups: [1, 0] }, { users: [2, 0], groups: [0, 0] }], { succeeded: 6, failed: 1 }),
      failed: false,
    };
    expect(runHistoryEntry(outcome, facts())).toEqual({
      runId: 'run-1', source: 'Contoso', endedAt: ENDED.toISOString(), durationSeconds: 12.5, round: 'incremental', outcome: 'ok',
      lagSeconds: 10, objects: 7, succeeded: 6, failed: 1, delivery: 'inProcess',
    });
  });

  it('calls a run full when either kind completed a full round, and counts nothing answered when queued', () => {
    const entry = runHistoryEntry(
      { pull: pull(kind('incremental', true), kind('full', true)), plan: plan([{ users: [5, 0], groups: [2, 0] }], { succeeded: 0, failed: 0 }), failed: false },
      facts({ queued: true }),
    );
    expect(entry).toMatchObject({ round: 'full', objects: 7, succeeded: 0, failed: 0, delivery: 'queued' });
  });

  it('shows a source left unread: no round completed, the lag is the age of the last completed round', () => {
    const entry = runHistoryEntry(
      { pull: pull(kind('full', false), kind('incremental', false), 'partial'), plan: undefined, failed: false },
      facts({ lastRoundCompletedAt: { users: '2026-12-02T09:00:00.000Z', groups: '2026-12-03T08:00:00.000Z' } }),
    );
    expect(entry).toMatchObject({ round: 'none', outcome: 'partial', lagSeconds: 86_400, objects: 0 });
    expect(runHistoryEntry({ pull: undefined, plan: undefined, failed: true }, facts())).toMatchObject({ round: 'none', outcome: 'failed' });
  });

  it('has no lag until both kinds completed a round once', () => {
    const entry = runHistoryEntry({ pull: pull(kind('full', true), kind('full', false)), plan: undefined, failed: false }, facts({ lastRoundCompletedAt: { users: ENDED.toISOString(), groups: null } }));
    expect(entry.lagSeconds).toBeNull();
  });
});

describe('which runs are recorded', () => {
  const completed = pull(kind('incremental', true), kind('incremental', true));
  const idle = { ...plan([]), mode: 'idle' as const };
  it('leaves out a run that found nothing to do, so an idle run still writes nothing', () => {
    expect(worthRecording({ pull: completed, plan: idle, failed: false })).toBe(false);
  });
  it('records a run that planned changes, failed, or left a round unfinished', () => {
    expect(worthRecording({ pull: completed, plan: { ...idle, mode: 'changes' }, failed: false })).toBe(true);
    expect(worthRecording({ pull: completed, plan: idle, failed: true })).toBe(true);
    expect(worthRecording({ pull: { ...completed, status: 'partial' }, plan: undefined, failed: false })).toBe(true);
    expect(worthRecording({ pull: undefined, plan: undefined, failed: true })).toBe(true);
  });
});
