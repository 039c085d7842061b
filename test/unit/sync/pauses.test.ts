import { describe, expect, it } from 'vitest';
import { planConfigHash } from '../../../src/sync/planSource';
import { pauseOf, pausedDestinations, pausedHashPart, resolvePauseSelection } from '../../../src/sync/pauses';
import type { MappingPause } from '../../../src/sync/ports';
import { config as buildConfig } from './builders';

function config() {
  const base = buildConfig([
    { source: 'Default', destination: 'TenantA' },
    { source: 'Default', destination: 'TenantB', limitToGroups: ['g-sales'] },
    { source: 'Default', destination: 'TenantB', limitToGroups: ['g-support'] },
  ]);
  return {
    ...base,
    sources: [{ name: 'Default' }, { name: 'Contoso_Ltd.0123456789ab', displayName: 'Contoso Ltd' }] as typeof base.sources,
    destinations: [{ name: 'TenantA' }, { name: 'TenantB' }] as typeof base.destinations,
  };
}

function pause(pair: MappingPause['pair'], pausedBy = 'alice'): MappingPause {
  return { pair, mappings: [], pausedAt: '2026-12-01T00:00:00.000Z', pausedBy, via: 'cli', reason: '' };
}

describe('resolvePauseSelection', () => {
  it('pauses the pair of a mapping, naming every mapping between the same source and destination', () => {
    expect(resolvePauseSelection(config(), { mapping: '2' })).toEqual({ ok: true, targets: [{ pair: { source: 'Default', destination: 'TenantB' }, mappings: [1, 2] }] });
    expect(resolvePauseSelection(config(), { mapping: '0' })).toEqual({ ok: true, targets: [{ pair: { source: 'Default', destination: 'TenantA' }, mappings: [0] }] });
  });

  it.each(['3', '-1', 'one', '1.5', '', '01x'])('refuses --mapping %j, naming the flag and the valid range', (value) => {
    const resolved = resolvePauseSelection(config(), { mapping: value });
    expect(resolved.ok).toBe(false);
    if (resolved.ok) return;
    expect(resolved.error).toContain('--mapping');
    expect(resolved.error).toContain('from 0 to 2');
    expect(resolved.error).toContain('Mappings[0] is the first');
  });

  it('says when there is no mapping to pause at all', () => {
    const empty = { ...config(), mappings: [] };
    expect(resolvePauseSelection(empty, { mapping: '0' })).toEqual({ ok: false, error: expect.stringContaining('has no Mappings') as unknown });
  });

  it('wants exactly one of --mapping, --destination and --all', () => {
    for (const selection of [{}, { mapping: '0', all: true }, { mapping: '0', destination: 'TenantA' }]) {
      expect(resolvePauseSelection(config(), selection)).toEqual({ ok: false, error: 'give exactly one of --mapping <index>, --destination <name> or --all' });
    }
  });

  it('takes --destination as the pair of every source with that destination, and refuses an unknown name with the configured ones', () => {
    expect(resolvePauseSelection(config(), { destination: 'TenantB' })).toEqual({
      ok: true,
      targets: [
        { pair: { source: 'Default', destination: 'TenantB' }, mappings: [1, 2] },
        { pair: { source: 'Contoso_Ltd.0123456789ab', destination: 'TenantB' }, mappings: [] },
      ],
    });
    expect(resolvePauseSelection(config(), { destination: 'TenantC' })).toEqual({
      ok: false, error: '--destination: "TenantC" is not a Signature365 entry of the configuration; the configured ones are: TenantA, TenantB',
    });
  });

  it('takes --all as the global pause over every mapping', () => {
    expect(resolvePauseSelection(config(), { all: true })).toEqual({ ok: true, targets: [{ pair: 'all', mappings: [0, 1, 2] }] });
  });
});

describe('pauseOf', () => {
  it('finds the pair\'s own pause, and the global one before it', () => {
    const own = pause({ source: 'Default', destination: 'TenantB' });
    expect(pauseOf([own], 'Default', 'TenantB')).toBe(own);
    expect(pauseOf([own], 'Default', 'TenantA')).toBeUndefined();
    expect(pauseOf([own], 'Other', 'TenantB')).toBeUndefined();
    const global = pause('all', 'bob');
    expect(pauseOf([own, global], 'Default', 'TenantB')).toBe(global);
    expect([...pausedDestinations([global], 'Default', ['TenantA', 'TenantB']).keys()]).toEqual(['TenantA', 'TenantB']);
  });
});

describe('planConfigHash with pauses', () => {
  it('keeps the hash of a config with nothing paused, and changes it with every paused set', () => {
    const c = config();
    const none = planConfigHash(c, 'Default');
    expect(planConfigHash(c, 'Default', pausedHashPart(new Map()))).toBe(none);
    const b = planConfigHash(c, 'Default', pausedHashPart(pausedDestinations([pause({ source: 'Default', destination: 'TenantB' })], 'Default', ['TenantA', 'TenantB'])));
    const all = planConfigHash(c, 'Default', pausedHashPart(pausedDestinations([pause('all')], 'Default', ['TenantA', 'TenantB'])));
    expect(new Set([none, b, all]).size).toBe(3);
  });
});
