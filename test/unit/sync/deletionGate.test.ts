import { describe, expect, it } from 'vitest';
import type { DeleteThreshold } from '../../../src/config/types';
import {
  decideDeletions, deletionThreshold, holdIdOf, type DeletionCandidate, type DeletionGateInput, type DeletionGateResult,
} from '../../../src/sync/deletionGate';

const NOW = new Date('2025-03-10T12:00:00.000Z');
const DAY_IN_MS = 86_400_000;
const PERCENT_20: DeleteThreshold = { kind: 'percent', percent: 20 };
const OFF: DeleteThreshold = { kind: 'off' };

/** A candidate that left scope `days` days before NOW. */
function leftDaysAgo(id: string, days: number): DeletionCandidate {
  return { id, leftScopeAt: new Date(NOW.getTime() - days * DAY_IN_MS).toISOString() };
}

/** `count` candidates past the grace period, ids `<prefix>0000`…, all left at the same moment. */
function due(count: number, prefix = 'u', days = 30): DeletionCandidate[] {
  return Array.from({ length: count }, (_, i) => leftDaysAgo(`${prefix}${String(i).padStart(4, '0')}`, days));
}

/** The gate with the defaults (20%, max 500, 7 days, nothing deleted lately) and a destination of `destinationSize`. */
function gate(fields: Partial<DeletionGateInput> & { candidates: readonly DeletionCandidate[] }): DeletionGateResult {
  return decideDeletions({
    now: NOW, deleteAfterDays: 7, destinationSize: Math.max(1000, fields.candidates.length), deletedLast24h: 0,
    threshold: PERCENT_20, thresholdMax: 500, ...fields,
  });
}

describe('decideDeletions: grace period', () => {
  it('keeps an object that left scope today waiting through the default 7-day grace period', () => {
    const result = gate({ candidates: [leftDaysAgo('u1', 0)] });
    expect(result).toMatchObject({ status: 'noChanges', approved: [], waiting: ['u1'], held: [] });
  });

  it('approves a removal at once when DeleteAfterDays is 0', () => {
    const result = gate({ candidates: [leftDaysAgo('u1', 0)], deleteAfterDays: 0 });
    expect(result).toMatchObject({ status: 'ok', approved: ['u1'], waiting: [], held: [] });
  });

  it('approves exactly when the grace period has run out, not a millisecond before', () => {
    const justDue = { id: 'due', leftScopeAt: new Date(NOW.getTime() - 7 * DAY_IN_MS).toISOString() };
    const almost = { id: 'almost', leftScopeAt: new Date(NOW.getTime() - 7 * DAY_IN_MS + 1).toISOString() };
    const result = gate({ candidates: [almost, justDue] });
    expect(result.approved).toEqual(['due']);
    expect(result.waiting).toEqual(['almost']);
  });

  it('splits candidates into approved and waiting, each sorted by id', () => {
    const result = gate({ candidates: [leftDaysAgo('c', 8), leftDaysAgo('b', 1), leftDaysAgo('a', 30), leftDaysAgo('d', 6)] });
    expect(result).toMatchObject({ status: 'ok', approved: ['a', 'c'], waiting: ['b', 'd'], held: [] });
    expect(result.counts).toMatchObject({ candidates: 4, due: 2, waiting: 2, approved: 2, held: 0 });
  });

  it('never approves a candidate whose leftScopeAt is not a date', () => {
    const result = gate({ candidates: [{ id: 'x', leftScopeAt: 'not a date' }], deleteAfterDays: 0 });
    expect(result.approved).toEqual([]);
    expect(result.waiting).toEqual(['x']);
  });

  it('has nothing to do without candidates', () => {
    expect(gate({ candidates: [], deleteAfterDays: 0 })).toMatchObject({ status: 'noChanges', approved: [], waiting: [], held: [] });
  });
});

describe('decideDeletions: threshold', () => {
  // T = the most deletions allowed without approval; "more than T" is held.
  const table: { name: string; threshold: DeleteThreshold; max?: number; size: number; due: number; limit: number | null; status: 'ok' | 'held' | 'noChanges' }[] = [
    { name: '"20%" of 1000: nothing due', threshold: PERCENT_20, size: 1000, due: 0, limit: 200, status: 'noChanges' },
    { name: '"20%" of 1000: T-1', threshold: PERCENT_20, size: 1000, due: 199, limit: 200, status: 'ok' },
    { name: '"20%" of 1000: T', threshold: PERCENT_20, size: 1000, due: 200, limit: 200, status: 'ok' },
    { name: '"20%" of 1000: T+1', threshold: PERCENT_20, size: 1000, due: 201, limit: 200, status: 'held' },
    { name: '"20%" of 30 is raised to the floor of 10: T', threshold: PERCENT_20, size: 30, due: 10, limit: 10, status: 'ok' },
    { name: '"20%" of 30 is raised to the floor of 10: T+1', threshold: PERCENT_20, size: 30, due: 11, limit: 10, status: 'held' },
    { name: '"20%" of 10000 is capped at DeleteThresholdMax 500: T', threshold: PERCENT_20, size: 10_000, due: 500, limit: 500, status: 'ok' },
    { name: '"20%" of 10000 is capped at DeleteThresholdMax 500: T+1', threshold: PERCENT_20, size: 10_000, due: 501, limit: 500, status: 'held' },
    { name: '"20%" with DeleteThresholdMax 50', threshold: PERCENT_20, max: 50, size: 1000, due: 51, limit: 50, status: 'held' },
    { name: '"2.5%" of 1000', threshold: { kind: 'percent', percent: 2.5 }, size: 1000, due: 25, limit: 25, status: 'ok' },
    { name: 'count 50: T-1', threshold: { kind: 'count', count: 50 }, size: 1000, due: 49, limit: 50, status: 'ok' },
    { name: 'count 50: T', threshold: { kind: 'count', count: 50 }, size: 1000, due: 50, limit: 50, status: 'ok' },
    { name: 'count 50: T+1', threshold: { kind: 'count', count: 50 }, size: 1000, due: 51, limit: 50, status: 'held' },
    { name: 'count 50 is not capped by DeleteThresholdMax', threshold: { kind: 'count', count: 50 }, max: 20, size: 1000, due: 50, limit: 50, status: 'ok' },
    { name: 'count 0: every deletion needs approval', threshold: { kind: 'count', count: 0 }, size: 1000, due: 1, limit: 0, status: 'held' },
    { name: '"0%": every deletion needs approval, no floor', threshold: { kind: 'percent', percent: 0 }, size: 1000, due: 1, limit: 0, status: 'held' },
    { name: 'count 0 with nothing due holds nothing', threshold: { kind: 'count', count: 0 }, size: 1000, due: 0, limit: 0, status: 'noChanges' },
    { name: '"off": the whole destination may go', threshold: OFF, size: 1000, due: 1000, limit: null, status: 'ok' },
    { name: 'first run into an empty destination', threshold: PERCENT_20, size: 0, due: 0, limit: 10, status: 'noChanges' },
  ];

  it.each(table)('$name → $status', ({ threshold, max, size, due: count, limit, status }) => {
    const result = gate({ candidates: due(count), destinationSize: size, threshold, thresholdMax: max ?? 500 });
    expect(result.status).toBe(status);
    expect(result.counts.threshold).toBe(limit);
    expect(result.approved).toHaveLength(status === 'ok' ? count : 0);
    expect(result.held).toHaveLength(status === 'held' ? count : 0);
    if (status === 'held') expect(result.reason).toContain(`would exceed the threshold of ${String(limit)}`);
  });

  it('holds every due deletion, not just the ones above the threshold', () => {
    const result = gate({ candidates: due(230), destinationSize: 1000 });
    expect(result).toMatchObject({ status: 'held', approved: [], counts: { held: 230, approved: 0, threshold: 200, destinationSize: 1000 } });
    expect(result.holdId).toBe(holdIdOf(result.held));
  });

  it('works the percentage out of the size the destination had when the 24-hour window began', () => {
    expect(deletionThreshold(PERCENT_20, 500, 85 + 15)).toBe(20);
  });
});

describe('decideDeletions: rolling 24-hour cap', () => {
  it('lets 15% through once, then holds the second and third 15% within 24 hours', () => {
    // Destination of 100; 15 leave before each run; what went out is recorded and shrinks the destination.
    let size = 100;
    let deletedLast24h = 0;
    let pending: DeletionCandidate[] = [];
    const statuses: string[] = [];
    for (let run = 0; run < 3; run += 1) {
      pending = [...pending, ...due(15, `r${run}-`)];
      const result = gate({ candidates: pending, destinationSize: size, deletedLast24h });
      statuses.push(result.status);
      if (result.status === 'ok') {
        size -= result.approved.length;
        deletedLast24h += result.approved.length;
        pending = pending.filter((candidate) => !result.approved.includes(candidate.id));
      }
    }
    expect(statuses).toEqual(['ok', 'held', 'held']);
    expect(deletedLast24h).toBe(15);
    expect(size).toBe(85);
  });

  it('says how many went out already when the window is what tips it over', () => {
    const result = gate({ candidates: due(15), destinationSize: 85, deletedLast24h: 15 });
    expect(result.status).toBe('held');
    expect(result.reason).toContain('30 deletions (15 now, 15 already in the last 24 hours) of 100 would exceed the threshold of 20');
  });

  it('lets the same deletions through once the earlier ones have left the window', () => {
    expect(gate({ candidates: due(15), destinationSize: 85, deletedLast24h: 0 }).status).toBe('ok');
  });
});

describe('decideDeletions: planner holds (empty-source guard, missing groups)', () => {
  it('holds every due removal when the scope reads empty, even with the threshold off, and says why', () => {
    const result = gate({
      candidates: [leftDaysAgo('old', 10), leftDaysAgo('new', 1)], threshold: OFF, destinationSize: 2,
      holdReasons: ['the scope of TenantB reads empty; an empty scope is never taken as "delete everyone"'],
    });
    expect(result).toMatchObject({
      status: 'held', approved: [], waiting: ['new'], held: ['old'],
      reason: 'the scope of TenantB reads empty; an empty scope is never taken as "delete everyone"',
    });
  });

  it('holds a removal the threshold alone would allow when a LimitToGroups group is missing', () => {
    const result = gate({ candidates: due(1), holdReasons: ['LimitToGroups g1 not found in the mirror'] });
    expect(result.status).toBe('held');
    expect(result.reason).toBe('LimitToGroups g1 not found in the mirror');
  });

  it('gives every reason when several apply', () => {
    const result = gate({ candidates: due(300), holdReasons: ['scope reads empty'] });
    expect(result.reason).toMatch(/^scope reads empty; 300 deletions of 1000 would exceed the threshold of 200/);
  });

  it('does not report a hold when nothing is due yet', () => {
    const result = gate({ candidates: [leftDaysAgo('new', 1)], holdReasons: ['scope is partial'] });
    expect(result.status).toBe('noChanges');
    expect(result.reason).toBeUndefined();
  });
});

describe('decideDeletions: approval', () => {
  const held = gate({ candidates: due(230), destinationSize: 1000 });
  const grant = { holdId: held.holdId ?? '', leftScopeCutoff: held.leftScopeCutoff ?? '', count: held.held.length };

  it('lets an approved hold through once, over the threshold', () => {
    const result = gate({ candidates: due(230), destinationSize: 1000, approval: grant });
    expect(result).toMatchObject({ status: 'ok', approvedByAdministrator: true, held: [] });
    expect(result.approved).toHaveLength(230);
    expect(result.reason).toContain(`approved by an administrator (hold ${grant.holdId})`);
  });

  it('holds again when the staged set grew after the approval, under a new hold id', () => {
    const grown = [...due(230), leftDaysAgo('late-leaver', 8)];
    const result = gate({ candidates: grown, destinationSize: 1000, approval: grant });
    expect(result.status).toBe('held');
    expect(result.held).toHaveLength(231);
    expect(result.holdId).not.toBe(grant.holdId);
  });

  it('holds again when one of the approved came back and left again later', () => {
    const [first, ...rest] = due(230);
    const again = { id: first?.id ?? '', leftScopeAt: leftDaysAgo('x', 8).leftScopeAt };
    expect(gate({ candidates: [again, ...rest], destinationSize: 1000, approval: grant }).status).toBe('held');
  });

  it('still covers what is left after part of the approved set went out or came back', () => {
    const result = gate({ candidates: due(230).slice(100), destinationSize: 900, deletedLast24h: 100, approval: grant });
    expect(result).toMatchObject({ status: 'ok', approvedByAdministrator: true });
    expect(result.approved).toHaveLength(130);
  });

  it('approves an empty-scope hold as well: the administrator decided', () => {
    const emptied = gate({ candidates: due(5), destinationSize: 5, holdReasons: ['scope reads empty'] });
    const approval = { holdId: emptied.holdId ?? '', leftScopeCutoff: emptied.leftScopeCutoff ?? '', count: 5 };
    expect(gate({ candidates: due(5), destinationSize: 5, holdReasons: ['scope reads empty'], approval }).status).toBe('ok');
  });

  it('names a hold by its ids, whatever their order', () => {
    expect(holdIdOf(['b', 'a'])).toBe(holdIdOf(['a', 'b']));
    expect(holdIdOf(['a', 'b'])).not.toBe(holdIdOf(['a', 'c']));
  });
});

describe('decideDeletions: dry run and errors', () => {
  it('reports what would be held without holding anything (status dryRun)', () => {
    const result = gate({ candidates: due(230), destinationSize: 1000, dryRun: true });
    expect(result).toMatchObject({ status: 'dryRun', approved: [], counts: { held: 230, threshold: 200 } });
    expect(result.reason).toContain('would exceed the threshold of 200');
  });

  it('reports what would be deleted (status dryRun)', () => {
    const result = gate({ candidates: due(3), dryRun: true });
    expect(result).toMatchObject({ status: 'dryRun', held: [] });
    expect(result.approved).toHaveLength(3);
  });

  it('says dryRun even when nothing is due', () => {
    expect(gate({ candidates: [], dryRun: true }).status).toBe('dryRun');
  });

  it('deletes nothing when the facts do not add up (a destination smaller than its own candidates)', () => {
    const result = gate({ candidates: due(5), destinationSize: 3, threshold: OFF });
    expect(result).toMatchObject({ status: 'error', approved: [] });
    expect(result.reason).toContain('holds 3 objects but 5 are candidates');
  });

  it('deletes nothing when the 24-hour count is not a count', () => {
    expect(gate({ candidates: due(1), deletedLast24h: Number.NaN }).status).toBe('error');
  });
});
