import { describe, expect, it } from 'vitest';
import { nextWatchRunInMs } from '../../../src/cli/syncCommand';
import { lockedPullRetries, MAX_LOCKED_PULL_REQUEUES } from '../../../src/sync/lockedPullRetry';
import type { PullRequestedMessage } from '../../../src/sync/messages';

describe('nextWatchRunInMs', () => {
  const interval = 15 * 60_000;
  it('waits the usual interval after a run that succeeded', () => {
    expect(nextWatchRunInMs(0, interval)).toBe(interval);
  });

  it('retries after 5 s, doubling while failures last, never longer than the usual interval', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 50].map((failures) => nextWatchRunInMs(failures, interval)))
      .toEqual([5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 640_000, interval, interval]);
    expect(nextWatchRunInMs(3, 60_000)).toBe(20_000);
    expect(nextWatchRunInMs(10, 60_000)).toBe(60_000);
  });
});

describe('lockedPullRetries', () => {
  const message: PullRequestedMessage = { v: 1, type: 'pull', runId: 'r1', full: true, reason: 'syncNow', requestedAt: '2030-01-01T00:00:00Z' };
  const pulls = (...statuses: ['A' | 'B', 'locked' | 'completed'][]) => ({ pulls: statuses.map(([source, status]) => ({ source, status, seconds: 0 })) });

  it('puts back one request per locked source, full kept, counting the tries', () => {
    expect(lockedPullRetries(message, pulls(['A', 'locked'], ['B', 'completed']))).toEqual({
      retries: [{ ...message, source: 'A', requeues: 1 }], dropped: [],
    });
    expect(lockedPullRetries({ ...message, source: 'A', requeues: 4 }, pulls(['A', 'locked'])).retries).toEqual([{ ...message, source: 'A', requeues: 5 }]);
  });

  it('puts back nothing when no source was locked', () => {
    expect(lockedPullRetries(message, pulls(['A', 'completed']))).toEqual({ retries: [], dropped: [] });
  });

  it('drops the request after the last allowed try', () => {
    expect(lockedPullRetries({ ...message, source: 'A', requeues: MAX_LOCKED_PULL_REQUEUES }, pulls(['A', 'locked']))).toEqual({ retries: [], dropped: ['A'] });
  });
});
