/**
 * explain's pure halves: why each mapping takes a user or not (src/sync/explainScope.ts), agreeing
 * with placeUser, and what a destination's ledger entry says (src/sync/explainDestination.ts).
 */
import { describe, expect, it } from 'vitest';
import { parseUserFilter } from '../../../src/config/userFilter';
import type { ConnectorConfig, MappingConfig } from '../../../src/config/types';
import { explainDestination } from '../../../src/sync/explainDestination';
import { explainScope, shortestGroupPath } from '../../../src/sync/explainScope';
import { fieldFingerprints } from '../../../src/sync/fieldFingerprints';
import { buildUserRecord, userBaseHash, userRecordHash } from '../../../src/sync/payload';
import { buildScopeModel, placeUser } from '../../../src/sync/scopeModel';
import { config, directoryGraph, edges, group, user } from './builders';

// gAll ⊃ gEmea ⊃ gSales ∋ alice, bob, guest; gAll ∋ dave; gCycleA ⇄ gCycleB ∋ erin; gContractors ∋ frank (nested in gSales).
const graph = directoryGraph(
  [group({ id: 'gAll', displayName: 'All staff' }), group({ id: 'gEmea', displayName: 'EMEA' }), group({ id: 'gSales', displayName: 'Sales' }),
    group({ id: 'gCycleA' }), group({ id: 'gCycleB' }), group({ id: 'gContractors', displayName: 'Contractors' })],
  [...edges('gAll', 'gEmea', 'dave'), ...edges('gEmea', 'gSales'), ...edges('gSales', 'alice', 'bob', 'guest', 'gContractors'),
    ...edges('gCycleA', 'gCycleB'), ...edges('gCycleB', 'gCycleA', 'erin'), ...edges('gContractors', 'frank')],
);
const people = [
  user({ id: 'alice', department: 'Sales', userPrincipalName: 'alice@contoso.example' }),
  user({ id: 'bob', department: 'Engineering' }),
  user({ id: 'guest', userType: 'Guest' }),
  user({ id: 'dave' }),
  user({ id: 'erin' }),
  user({ id: 'frank' }),
];
const person = (id: string) => people.find((candidate) => candidate.id === id) ?? user({ id });

function withFilter(fields: Partial<MappingConfig> & { filterText?: string }): Partial<MappingConfig> {
  const { filterText, ...rest } = fields;
  return filterText === undefined ? rest : { ...rest, filter: { text: filterText, expression: parseUserFilter(filterText) } };
}

function explain(resolved: ConnectorConfig, id: string) {
  const texts = new Map(resolved.mappings.filter((m) => m.filter !== null).map((m) => [m.index, m.filter?.text ?? '']));
  return explainScope(buildScopeModel(graph, resolved, 'Default'), person(id), texts);
}

describe('explainScope', () => {
  it('shows the group path through three levels of nesting up to the LimitToGroups group', () => {
    const answer = explain(config([{ limitToGroups: ['gAll'] }]), 'alice');
    expect(answer.mappings[0]).toMatchObject({ mapping: 'Mappings[0]', inScope: true, sends: true, outcome: 'passes' });
    expect(answer.mappings[0]?.candidateThrough).toEqual([{
      path: [{ id: 'gSales', name: 'Sales' }, { id: 'gEmea', name: 'EMEA' }, { id: 'gAll', name: 'All staff' }],
      text: 'Sales ⊂ EMEA ⊂ All staff (LimitToGroups)',
    }]);
  });

  it('names the filter that kept a candidate out: the mapping Filter, the guest option', () => {
    const resolved = config([withFilter({ limitToGroups: ['gSales'], filterText: "department eq 'Sales'" })]);
    expect(explain(resolved, 'bob').mappings[0]).toMatchObject({ inScope: false, outcome: 'filter', filter: { text: "department eq 'Sales'", matched: false } });
    expect(explain(resolved, 'alice').mappings[0]).toMatchObject({ inScope: true, filter: { matched: true } });
    const guest = explain(resolved, 'guest').mappings[0];
    expect(guest).toMatchObject({ inScope: false, outcome: 'guest' });
    expect(guest?.why.join(' ')).toMatch(/IncludeGuests is false/);
    const licensedOnly = config([{ limitToGroups: ['gSales'] }], { licensedUsersOnly: true });
    const unlicensed = explainScope(buildScopeModel(graph, licensedOnly, 'Default'), { ...person('alice'), licensed: false }, new Map()).mappings[0];
    expect(unlicensed).toMatchObject({ inScope: false, outcome: 'unlicensed' });
    expect(unlicensed?.why.join(' ')).toMatch(/LicensedUsersOnly is true/);
  });

  it('shows the path to an excluded group, and an Include that bypasses LimitToGroups', () => {
    const excluded = explain(config([{ limitToGroups: ['gAll'], exclude: ['gEmea'] }]), 'frank').mappings[0];
    expect(excluded).toMatchObject({ inScope: false, outcome: 'excludedGroup' });
    expect(excluded?.excludedThrough.map((path) => path.text)).toEqual(['Contractors ⊂ Sales ⊂ EMEA (Exclude)']);
    const included = explain(config([{ limitToGroups: ['gSales'], include: ['alice@contoso.example'] }, { limitToGroups: ['gSales'], include: ['dave'] }]), 'dave');
    expect(included.mappings[1]).toMatchObject({ inScope: true, outcome: 'included', includedBy: ['dave'] });
    expect(included.mappings[0]).toMatchObject({ inScope: false, outcome: 'notCandidate' });
  });

  it('ends on a cycle of groups', () => {
    expect(shortestGroupPath(graph, 'gCycleB', new Set(['gCycleA']))).toEqual(['gCycleB', 'gCycleA']);
    expect(shortestGroupPath(graph, 'gCycleB', new Set(['gAll']))).toBeUndefined();
  });

  it('unions two mappings to one destination under either OnConflict, and says who won between destinations', () => {
    for (const onConflict of ['All', 'FirstMapping'] as const) {
      const same = explain(config([{ limitToGroups: ['gSales'] }, { limitToGroups: ['gAll'] }], { onConflict }), 'alice');
      expect(same.conflict).toBeNull();
      expect(same.mappings.map((m) => m.sends)).toEqual([true, true]);
      expect(same.mappings[0]?.why.join(' ')).toMatch(/Mappings\[1\] also sends the user to Tenant1: mappings to one destination are unioned/);
    }
    const both = explain(config([{ limitToGroups: ['gSales'] }, { limitToGroups: ['gAll'], destination: 'Tenant2' }], { onConflict: 'All' }), 'alice');
    expect(both.conflict).toMatchObject({ onConflict: 'All', sentTo: ['Tenant1', 'Tenant2'], mappingIndexes: [0, 1] });
    expect(both.mappings.map((m) => m.sends)).toEqual([true, true]);
    const first = explain(config([{ limitToGroups: ['gSales'] }, { limitToGroups: ['gAll'], destination: 'Tenant2' }], { onConflict: 'FirstMapping' }), 'alice');
    expect(first.conflict).toMatchObject({ onConflict: 'FirstMapping', sentTo: ['Tenant1'] });
    expect(first.mappings[1]).toMatchObject({ inScope: true, sends: false });
    expect(first.mappings[1]?.why.join(' ')).toMatch(/not sent to Tenant2: Options.OnConflict is "FirstMapping"/);
  });

  it('agrees with placeUser for every user and mapping set', () => {
    const configs = [
      config([{ limitToGroups: ['gAll'], exclude: ['gContractors', 'bob'] }, { limitToGroups: ['gSales'], destination: 'Tenant2', include: ['erin'] }]),
      config([withFilter({ filterText: "department eq 'Sales'" }), { limitToGroups: ['gCycleA'], destination: 'Tenant2' }], { onConflict: 'FirstMapping', includeGuests: true }),
    ];
    for (const resolved of configs) {
      const model = buildScopeModel(graph, resolved, 'Default');
      for (const someone of people) {
        const answer = explainScope(model, someone, new Map());
        const sentTo = new Set(answer.mappings.filter((m) => m.sends).map((m) => m.destination));
        expect([...sentTo].sort(), someone.id).toEqual([...placeUser(model, someone).destinations.keys()].sort());
      }
    }
  });
});

describe('explainDestination', () => {
  const now = new Date('2026-12-03T10:00:00.000Z');
  const alice = person('alice');
  const sent = (groups: string[], jobTitle: string | null) => {
    const record = buildUserRecord({ ...alice, jobTitle }, null, groups);
    const baseHash = userBaseHash({ ...alice, jobTitle });
    return { record, baseHash, hash: userRecordHash(baseHash, null, groups) };
  };
  const facts = { destination: 'Tenant1', byMappings: [0], health: undefined, hold: undefined, deleteAfterDays: 7, now };

  it('names the fields that differ from the acknowledged record, with the values to be sent, and the acknowledgement time', () => {
    const before = sent(['gSales'], 'Rep');
    const after = sent(['gAll', 'gSales'], 'Lead');
    const entry = { a: before.hash, w: 1 as const, fp: fieldFingerprints(before.record), t: '2026-12-01T08:00:00.000Z' };
    const answer = explainDestination({ ...facts, wouldSend: after, entry });
    expect(answer).toMatchObject({ upToDate: false, next: 'send', acknowledged: { hash: before.hash, at: '2026-12-01T08:00:00.000Z' } });
    expect(answer.difference).toMatchObject({ names: ['groups', 'jobTitle'], willSend: { groups: ['gAll', 'gSales'], jobTitle: 'Lead' } });
    expect(answer.difference?.note).toMatch(/not kept anywhere/);
  });

  it('says "time unknown" and cannot name fields for a record acknowledged before fingerprints were kept', () => {
    const before = sent(['gSales'], 'Rep');
    const answer = explainDestination({ ...facts, wouldSend: sent(['gSales'], 'Lead'), entry: { a: before.hash, w: 1 } });
    expect(answer.acknowledged).toEqual({ hash: before.hash, at: null, atText: 'time unknown' });
    expect(answer.difference?.names).toBeNull();
    expect(explainDestination({ ...facts, wouldSend: before, entry: { a: before.hash, w: 1 } })).toMatchObject({ upToDate: true, difference: null, next: 'nothing' });
  });

  it('reports a failure with its next attempt, queued work, a held deletion and a quarantine', () => {
    const current = sent(['gSales'], 'Rep');
    const failing = explainDestination({
      ...facts, wouldSend: current, entry: { w: 1, f: 2, e: '422: mail domain not verified', r: '2026-12-03T10:01:00.000Z', q: '2026-12-03T09:50:00.000Z', qh: current.hash },
      health: { destination: 'Tenant1', healthy: false, retryAfter: '2026-12-03T11:00:00.000Z', consecutiveFailures: 3, lastError: '401', reason: 'unauthorized', changedAt: now.toISOString() },
    });
    expect(failing.next).toBe('wait');
    expect(failing.pending).toMatchObject({
      failure: { failures: 2, lastError: '422: mail domain not verified', nextAttemptAt: '2026-12-03T10:01:00.000Z' },
      queued: { at: '2026-12-03T09:50:00.000Z', ofCurrentRecord: true, requeuedAfter: '2026-12-03T10:20:00.000Z' },
      quarantine: { reason: 'unauthorized', until: '2026-12-03T11:00:00.000Z' },
    });
    const hold = {
      destination: 'Tenant1', source: 'Default', kind: 'users' as const, holdId: 'h1', held: 1, destinationSize: 10, deletedLast24h: 0, threshold: 0,
      reason: 'threshold 0', leftScopeCutoff: '2026-11-20T00:00:00.000Z', heldSince: '2026-11-28T00:00:00.000Z', plannedAt: now.toISOString(), runId: 'r',
    };
    const held = explainDestination({ ...facts, byMappings: [], wouldSend: null, hold, entry: { a: current.hash, l: '2026-11-20T00:00:00.000Z', h: '2026-12-03T11:00:00.000Z' } });
    expect(held).toMatchObject({ wanted: false, next: 'deleteAfterGrace', pending: { deletion: { graceOver: true, held: { holdId: 'h1', reason: 'threshold 0' } } } });
    const inGrace = explainDestination({ ...facts, byMappings: [], wouldSend: null, hold, entry: { a: current.hash, l: '2026-12-02T00:00:00.000Z' } });
    expect(inGrace.pending.deletion).toMatchObject({ graceOver: false, graceEndsAt: '2026-12-09T00:00:00.000Z', held: null });
  });
});
