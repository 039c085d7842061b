import { describe, expect, it } from 'vitest';
import { decideDeletions, type DeletionCandidate } from '../../../src/sync/deletionGate';

const NOW = new Date('2025-03-10T12:00:00.000Z');
const DAY_IN_MS = 86_400_000;

/** A candidate that left scope `days` days before NOW. */
function leftDaysAgo(id: string, days: number): DeletionCandidate {
  return { id, leftScopeAt: new Date(NOW.getTime() - days * DAY_IN_MS).toISOString() };
}

describe('decideDeletions', () => {
  it('keeps an object that left scope today waiting through the default 7-day grace period', () => {
    const result = decideDeletions({ candidates: [leftDaysAgo('u1', 0)], now: NOW, deleteAfterDays: 7 });
    expect(result).toEqual({ status: 'noChanges', approved: [], waiting: ['u1'], held: [] });
  });

  it('approves a removal at once when DeleteAfterDays is 0', () => {
    const result = decideDeletions({ candidates: [leftDaysAgo('u1', 0)], now: NOW, deleteAfterDays: 0 });
    expect(result).toEqual({ status: 'ok', approved: ['u1'], waiting: [], held: [] });
  });

  it('approves exactly when the grace period has run out, not a millisecond before', () => {
    const justDue = { id: 'due', leftScopeAt: new Date(NOW.getTime() - 7 * DAY_IN_MS).toISOString() };
    const almost = { id: 'almost', leftScopeAt: new Date(NOW.getTime() - 7 * DAY_IN_MS + 1).toISOString() };
    const result = decideDeletions({ candidates: [almost, justDue], now: NOW, deleteAfterDays: 7 });
    expect(result.approved).toEqual(['due']);
    expect(result.waiting).toEqual(['almost']);
  });

  it('splits candidates into approved and waiting, each sorted by id', () => {
    const result = decideDeletions({
      candidates: [leftDaysAgo('c', 8), leftDaysAgo('b', 1), leftDaysAgo('a', 30), leftDaysAgo('d', 6)],
      now: NOW, deleteAfterDays: 7,
    });
    expect(result).toEqual({ status: 'ok', approved: ['a', 'c'], waiting: ['b', 'd'], held: [] });
  });

  it('holds every due removal when the planner gives a reason, and says why', () => {
    const result = decideDeletions({
      candidates: [leftDaysAgo('old', 10), leftDaysAgo('new', 1)],
      now: NOW, deleteAfterDays: 7, holdReason: 'LimitToGroups g1 not found in the mirror',
    });
    expect(result).toEqual({
      status: 'held', approved: [], waiting: ['new'], held: ['old'], reason: 'LimitToGroups g1 not found in the mirror',
    });
  });

  it('does not report a hold when nothing is due yet', () => {
    const result = decideDeletions({ candidates: [leftDaysAgo('new', 1)], now: NOW, deleteAfterDays: 7, holdReason: 'scope is partial' });
    expect(result.status).toBe('noChanges');
    expect(result.reason).toBeUndefined();
  });

  it('never approves a candidate whose leftScopeAt is not a date', () => {
    const result = decideDeletions({ candidates: [{ id: 'x', leftScopeAt: 'not a date' }], now: NOW, deleteAfterDays: 0 });
    expect(result.approved).toEqual([]);
    expect(result.waiting).toEqual(['x']);
  });

  it('has nothing to do without candidates', () => {
    expect(decideDeletions({ candidates: [], now: NOW, deleteAfterDays: 0 })).toEqual({ status: 'noChanges', approved: [], waiting: [], held: [] });
  });
});
