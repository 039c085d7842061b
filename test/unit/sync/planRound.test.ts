import { describe, expect, it } from 'vitest';
import type { DeltaCursor, DeltaRound } from '../../../src/sync/ports';
import { planRound } from '../../../src/sync/pullSource';

const NOW = new Date('2024-06-01T12:00:00.000Z');
const HOUR = 3_600_000;
const DELTA_LINK = 'https://graph.example/v1.0/users/delta?$deltatoken=saved';
const NEXT_LINK = 'https://graph.example/v1.0/users/delta?$skiptoken=page4';

function hoursAgo(hours: number): string {
  return new Date(NOW.getTime() - hours * HOUR).toISOString();
}

function cursor(fields: Partial<DeltaCursor> = {}): DeltaCursor {
  return { nextLink: null, deltaLink: null, round: null, lastFullRoundCompletedAt: null, lastRoundCompletedAt: null, ...fields };
}

/** A cursor after a completed full round `hours` ago, as pullKind stores it. */
function synced(hours = 1): DeltaCursor {
  return cursor({ deltaLink: DELTA_LINK, lastFullRoundCompletedAt: hoursAgo(hours), lastRoundCompletedAt: hoursAgo(hours) });
}

function unfinished(kind: DeltaRound['kind'], base: DeltaCursor = synced()): DeltaCursor {
  return { ...base, nextLink: NEXT_LINK, round: { id: 'round-in-progress', kind, startedAt: hoursAgo(0.5), pages: 3 } };
}

function plan(from: DeltaCursor, options: { forceFull?: boolean; fullReconcileHours?: number; selection?: string } = {}) {
  return planRound(from, {
    forceFull: options.forceFull ?? false, fullReconcileHours: options.fullReconcileHours ?? 24, now: NOW, newRoundId: 'new-round',
    ...(options.selection !== undefined ? { selection: options.selection } : {}),
  });
}

const EXT_A = 'extension_b7d8e648520f41d3b9c0fdeb91768a0a_a';
const EXT_B = 'extension_b7d8e648520f41d3b9c0fdeb91768a0a_b';

describe('planRound with a user selection (directory extensions)', () => {
  it('continues from the saved links while the selection is what they were read with', () => {
    expect(plan({ ...synced(), selection: EXT_A }, { selection: EXT_A })).toMatchObject({ round: { kind: 'incremental' }, link: DELTA_LINK });
    expect(plan(unfinished('full', { ...synced(), selection: EXT_A }), { selection: EXT_A })).toMatchObject({ resumed: true, link: NEXT_LINK });
    // A cursor saved before selections existed reads as the empty selection.
    expect(plan(synced(), { selection: '' })).toMatchObject({ round: { kind: 'incremental' } });
  });

  it('starts a full round from the beginning when the selection changed, naming what was selected before', () => {
    expect(plan(synced(), { selection: EXT_A })).toEqual({
      round: { id: 'new-round', kind: 'full', startedAt: NOW.toISOString(), pages: 0 },
      link: undefined,
      resumed: false,
    });
    expect(plan({ ...synced(), selection: `${EXT_A},${EXT_B}` }, { selection: EXT_A })).toMatchObject({
      round: { kind: 'full', dropSelection: `${EXT_A},${EXT_B}` }, link: undefined, resumed: false,
    });
  });

  it('does not resume a round read with another selection, and keeps what that round was to drop', () => {
    const interrupted = { ...unfinished('full', { ...synced(), selection: EXT_B }), round: { id: 'r', kind: 'full' as const, startedAt: hoursAgo(1), pages: 2, dropSelection: EXT_A } };
    expect(plan(interrupted, { selection: '' })).toMatchObject({
      round: { id: 'new-round', kind: 'full', dropSelection: `${EXT_A},${EXT_B}` }, link: undefined, resumed: false,
    });
  });
});

describe('planRound', () => {
  it('starts a full round from the beginning on the first run', () => {
    expect(plan(cursor())).toEqual({
      round: { id: 'new-round', kind: 'full', startedAt: NOW.toISOString(), pages: 0 },
      link: undefined,
      resumed: false,
    });
  });

  it('starts an incremental round from the stored deltaLink', () => {
    expect(plan(synced())).toEqual({
      round: { id: 'new-round', kind: 'incremental', startedAt: NOW.toISOString(), pages: 0 },
      link: DELTA_LINK,
      resumed: false,
    });
  });

  it('starts a full round when the last full round is older than fullReconcileHours', () => {
    expect(plan(synced(25), { fullReconcileHours: 24 })).toMatchObject({ round: { kind: 'full', id: 'new-round' }, link: undefined });
  });

  it('counts a full round exactly fullReconcileHours old as due, and one just younger as not', () => {
    expect(plan(synced(24), { fullReconcileHours: 24 }).round.kind).toBe('full');
    expect(plan(synced(23.99), { fullReconcileHours: 24 }).round.kind).toBe('incremental');
  });

  it('reconciles when the last full round time cannot be read, rather than never again', () => {
    const garbled = { ...synced(), lastFullRoundCompletedAt: 'not a date' };
    expect(plan(garbled).round.kind).toBe('full');
  });

  it('starts a full round when forced, although a fresh deltaLink is stored', () => {
    expect(plan(synced(), { forceFull: true })).toMatchObject({ round: { kind: 'full', id: 'new-round' }, link: undefined, resumed: false });
  });

  it('starts a full round when a full round completed recently but the deltaLink was dropped (expired token)', () => {
    expect(plan({ ...synced(), deltaLink: null }).round.kind).toBe('full');
  });

  it.each(['full', 'incremental'] as const)('resumes an unfinished %s round at its saved nextLink with the same round id', (kind) => {
    const from = unfinished(kind);
    expect(plan(from)).toEqual({ round: from.round, link: NEXT_LINK, resumed: true });
  });

  it('resumes an unfinished full round even when the reconcile is due, so the sweep keeps its round id', () => {
    const from = unfinished('full', synced(100));
    expect(plan(from, { fullReconcileHours: 24 })).toEqual({ round: from.round, link: NEXT_LINK, resumed: true });
  });

  it('resumes an unfinished full round when forced, instead of starting it over', () => {
    const from = unfinished('full');
    expect(plan(from, { forceFull: true })).toEqual({ round: from.round, link: NEXT_LINK, resumed: true });
  });

  it('abandons an unfinished incremental round for a new full round when forced', () => {
    expect(plan(unfinished('incremental'), { forceFull: true })).toEqual({
      round: { id: 'new-round', kind: 'full', startedAt: NOW.toISOString(), pages: 0 },
      link: undefined,
      resumed: false,
    });
  });

  it('does not resume a nextLink whose round could not be read', () => {
    expect(plan({ ...synced(), nextLink: NEXT_LINK, round: null })).toMatchObject({ round: { kind: 'incremental', id: 'new-round' }, link: DELTA_LINK, resumed: false });
  });
});
