/**
 * The per-user scope engine (src/sync/scopeModel.ts): the rules of its header, one case each.
 * The reference engine's own cases (test/unit/sync/scope.test.ts, destinationScope.test.ts) are
 * ported here where the new engine answers the same question; scope.property.test.ts compares the
 * two over random directories.
 */
import { describe, expect, it } from 'vitest';
import type { ConnectorConfig, ConnectorOptions, MappingConfig } from '../../../src/config/types';
import type { MembershipEdge, MirrorGroup, MirrorUser } from '../../../src/sync/directory';
import { parseUserFilter } from '../../../src/config/userFilter';
import { buildScopeModel, filterReason, matchingEntries, placeUser, type ScopeModel } from '../../../src/sync/scopeModel';
import { config, directoryGraph, edges, group, mapping, placeEveryone, removed, user, type Placements } from './builders';

/** A directory to place users in: the group graph, and the users the planner would evaluate. */
function world(users: (string | MirrorUser)[], groups: (string | MirrorGroup)[], memberships: MembershipEdge[] = []) {
  const graph = directoryGraph(groups, memberships);
  const model = (resolved: ConnectorConfig, source = 'Default'): ScopeModel => buildScopeModel(graph, resolved, source);
  return {
    model,
    place: (resolved: ConnectorConfig): Placements => placeEveryone(model(resolved), users),
  };
}

/** One mapping of the default source to Tenant1. */
const only = (fields: Partial<MappingConfig>, optionFields: Partial<ConnectorOptions> = {}) => config([fields], optionFields);
const at = (placements: Placements, destination = 'Tenant1') => placements.destinations.get(destination) ?? [];
const ids = (placements: Placements, destination = 'Tenant1') => at(placements, destination).map(([id]) => id);
const groupsAt = (model: ScopeModel, destination = 'Tenant1') => [...(model.groupsByDestination.get(destination) ?? [])].sort();

describe('placeUser', () => {
  describe('nesting', () => {
    // g1 ⊃ g2 ⊃ g3 ⊃ g4; g5 stands apart.
    const nested = world(['u1', 'u3', 'u4', 'u5'], ['g1', 'g2', 'g3', 'g4', 'g5'], [
      ...edges('g1', 'u1', 'g2'), ...edges('g2', 'g3'), ...edges('g3', 'u3', 'g4'), ...edges('g4', 'u4'),
      ...edges('g5', 'u5'),
    ]);

    it('takes members of groups nested four levels down, each with every in-scope group above it', () => {
      const resolved = only({ limitToGroups: ['g1'] });
      expect(at(nested.place(resolved))).toEqual([
        ['u1', ['g1']],
        ['u3', ['g1', 'g2', 'g3']],
        ['u4', ['g1', 'g2', 'g3', 'g4']],
      ]);
      const model = nested.model(resolved);
      expect(groupsAt(model)).toEqual(['g1', 'g2', 'g3', 'g4']);
      expect(model.missingGroupsByDestination.get('Tenant1')).toEqual([]);
    });

    it('gives users only the in-scope groups when LimitToGroups starts below the top', () => {
      const resolved = only({ limitToGroups: ['g3'] });
      expect(at(nested.place(resolved))).toEqual([['u3', ['g3']], ['u4', ['g3', 'g4']]]);
      expect(groupsAt(nested.model(resolved))).toEqual(['g3', 'g4']);
    });

    it('terminates on a cycle g1 → g2 → g1 and puts members of either in both', () => {
      const cyclic = world(['u1', 'u2'], ['g1', 'g2'], [...edges('g1', 'g2', 'u1'), ...edges('g2', 'g1', 'u2')]);
      const resolved = only({ limitToGroups: ['g1'] });
      expect(at(cyclic.place(resolved))).toEqual([['u1', ['g1', 'g2']], ['u2', ['g1', 'g2']]]);
      expect(groupsAt(cyclic.model(resolved))).toEqual(['g1', 'g2']);
    });

    it('counts a group reached by two paths once (a diamond)', () => {
      const diamond = world(['u4'], ['g1', 'g2', 'g3', 'g4'], [
        ...edges('g1', 'g2', 'g3'), ...edges('g2', 'g4'), ...edges('g3', 'g4'), ...edges('g4', 'u4'),
      ]);
      const resolved = only({ limitToGroups: ['g1', 'g4'] });
      expect(at(diamond.place(resolved))).toEqual([['u4', ['g1', 'g2', 'g3', 'g4']]]);
      expect(groupsAt(diamond.model(resolved))).toEqual(['g1', 'g2', 'g3', 'g4']);
    });

    it('gives a user of several groups the union of their in-scope groups, in code-unit order', () => {
      const wide = world(['u1'], ['g1', 'g10', 'g2', 'gB', 'ga'], [
        ...edges('g1', 'g10', 'g2'), ...edges('g10', 'u1'), ...edges('g2', 'u1'), ...edges('gB', 'u1'), ...edges('ga', 'u1'),
      ]);
      const placement = placeUser(wide.model(only({ limitToGroups: ['g1', 'gB', 'ga'] })), user({ id: 'u1' }));
      expect(placement.destinations.get('Tenant1')).toEqual(['g1', 'g10', 'g2', 'gB', 'ga']);
    });

    it('matches LimitToGroups entries trimmed and case-insensitively', () => {
      expect(ids(nested.place(only({ limitToGroups: [' G3 '] })))).toEqual(['u3', 'u4']);
    });
  });

  describe('filters', () => {
    const filtered = world([
      'member',
      user({ id: 'disabled', accountEnabled: false }),
      user({ id: 'unknownState', accountEnabled: null }),
      user({ id: 'guest', userType: 'Guest' }),
      user({ id: 'noMail', mail: null }),
      user({ id: 'blankMail', mail: ' ' }),
    ], ['g1'], edges('g1', 'member', 'disabled', 'unknownState', 'guest', 'noMail', 'blankMail'));
    const idsWith = (fields: Partial<ConnectorOptions>): string[] => ids(filtered.place(only({ limitToGroups: ['g1'] }, fields)));

    it('by default leaves out disabled users and guests, and keeps users without mail', () => {
      expect(idsWith({})).toEqual(['blankMail', 'member', 'noMail', 'unknownState']);
    });

    it('keeps disabled users with IncludeDisabledUsers and guests with IncludeGuests', () => {
      expect(idsWith({ includeDisabledUsers: true })).toContain('disabled');
      expect(idsWith({ includeDisabledUsers: true })).not.toContain('guest');
      expect(idsWith({ includeGuests: true })).toContain('guest');
      expect(idsWith({ includeGuests: true })).not.toContain('disabled');
    });

    it('leaves out users without a mail (or a blank one) with RequireMail', () => {
      expect(idsWith({ requireMail: true })).toEqual(['member', 'unknownState']);
    });

    it('applies the filters to the whole source too', () => {
      const placements = filtered.place(config([{ limitToGroups: [] }], { requireMail: true }));
      expect(ids(placements)).toEqual(['member', 'unknownState']);
    });
  });

  describe('LicensedUsersOnly and the mapping Filter', () => {
    const people = world(
      [
        user({ id: 'sales', department: 'Sales' }),
        user({ id: 'svc', department: 'Sales', userPrincipalName: 'svc-backup@contoso.com' }),
        user({ id: 'unlicensed', department: 'Sales', licensed: false }),
        user({ id: 'unread', department: 'Sales', licensed: null }),
        user({ id: 'ops', department: 'Ops' }),
      ],
      ['g1'],
      edges('g1', 'sales', 'svc', 'unlicensed', 'unread', 'ops'),
    );
    const withFilter = (filter: string | null, optionFields: Partial<ConnectorOptions> = {}, fields: Partial<MappingConfig> = {}) =>
      only({ limitToGroups: ['g1'], filter: filter === null ? null : { text: filter, expression: parseUserFilter(filter) }, ...fields }, optionFields);

    it('keeps only candidates the Filter matches', () => {
      expect(ids(people.place(withFilter("department eq 'Sales' and not startswith(userPrincipalName, 'svc-')")))).toEqual(['sales', 'unlicensed', 'unread']);
    });

    it('leaves out users without a license under LicensedUsersOnly; a license not read yet counts as one', () => {
      expect(ids(people.place(withFilter(null, { licensedUsersOnly: true })))).toEqual(['ops', 'sales', 'svc', 'unread']);
      expect(ids(people.place(withFilter(null)))).toEqual(['ops', 'sales', 'svc', 'unlicensed', 'unread']);
    });

    it('lets Include bypass both, as it bypasses the other filters; Exclude still wins', () => {
      const placed = people.place(withFilter("department eq 'Ops'", { licensedUsersOnly: true }, { include: ['unlicensed', 'sales'], exclude: ['sales'] }));
      expect(ids(placed)).toEqual(['ops', 'unlicensed']);
    });

    it('filters per mapping: another mapping to the same destination still holds the user', () => {
      const twoMappings = config([
        { limitToGroups: ['g1'], filter: { text: "department eq 'Ops'", expression: parseUserFilter("department eq 'Ops'") } },
        { limitToGroups: ['g1'], filter: { text: "endswith(userPrincipalName, 'svc-backup@contoso.com')", expression: parseUserFilter("endswith(userPrincipalName, 'svc-backup@contoso.com')") } },
      ]);
      expect(ids(people.place(twoMappings))).toEqual(['ops', 'svc']);
    });
  });

  describe('filterReason', () => {
    const strict = { includeDisabledUsers: false, includeGuests: false, requireMail: true };

    it('names the first failing filter: disabled, then guest, then without mail', () => {
      const everything = { accountEnabled: false, userType: 'Guest', mail: null };
      expect(filterReason(everything, strict)).toBe('disabled');
      expect(filterReason({ ...everything, accountEnabled: true }, strict)).toBe('guest');
      expect(filterReason({ ...everything, accountEnabled: true, userType: 'Member' }, strict)).toBe('withoutMail');
      expect(filterReason({ accountEnabled: true, userType: 'Member', mail: 'a@contoso.com' }, strict)).toBeNull();
    });

    it('counts a null accountEnabled as enabled, reads the user type case-insensitively and a blank mail as none', () => {
      expect(filterReason({ accountEnabled: null, userType: null, mail: 'a@contoso.com' }, strict)).toBeNull();
      expect(filterReason({ accountEnabled: true, userType: 'guest', mail: 'a@contoso.com' }, strict)).toBe('guest');
      expect(filterReason({ accountEnabled: true, userType: 'Member', mail: '  ' }, strict)).toBe('withoutMail');
    });
  });

  describe('exclude and include', () => {
    // g1 ⊃ g2 ⊃ g3; u1 in g1, u2 in g2, u3 in g3; outsider in gOther only.
    const users = [
      'u1', 'u2', user({ id: 'u3', mail: 'Third@Contoso.com' }), 'outsider', user({ id: 'disabledOutsider', accountEnabled: false }),
      removed(user({ id: 'gone' })),
    ];
    const directory = world(users, ['g1', 'g2', 'g3', 'gOther'],
      [...edges('g1', 'u1', 'g2'), ...edges('g2', 'u2', 'g3'), ...edges('g3', 'u3'), ...edges('gOther', 'outsider')]);
    const resolve = (fields: { exclude?: string[]; include?: string[] }) => only({ limitToGroups: ['g1'], ...fields });
    const idsFor = (fields: { exclude?: string[]; include?: string[] }) => ids(directory.place(resolve(fields)));

    it('excludes a user by object id', () => {
      expect(idsFor({ exclude: ['u2'] })).toEqual(['u1', 'u3']);
    });

    it('excludes a user by UPN or by mail, ignoring case and surrounding spaces', () => {
      expect(idsFor({ exclude: ['U3@CONTOSO.com'] })).toEqual(['u1', 'u2']);
      expect(idsFor({ exclude: [' third@contoso.COM '] })).toEqual(['u1', 'u2']);
    });

    it('excludes every transitive member of an excluded group, and the group with its nested groups', () => {
      const resolved = resolve({ exclude: ['g2'] });
      expect(at(directory.place(resolved))).toEqual([['u1', ['g1']]]);
      expect(groupsAt(directory.model(resolved))).toEqual(['g1']);
    });

    it('excludes the members of a group nested under an excluded group, wherever else they are', () => {
      const twice = world(['u1', 'u2'], ['g1', 'g2', 'gX', 'gY'], [
        ...edges('g1', 'u1', 'u2', 'g2'), ...edges('gX', 'gY'), ...edges('gY', 'u2'), ...edges('g2', 'gY'),
      ]);
      const resolved = only({ limitToGroups: ['g1'], exclude: ['gX'] });
      expect(at(twice.place(resolved))).toEqual([['u1', ['g1']]]);
      expect(groupsAt(twice.model(resolved))).toEqual(['g1', 'g2']);
    });

    it('includes users outside LimitToGroups by id and by UPN, with no groups', () => {
      const resolved = resolve({ include: ['outsider', 'DisabledOutsider@Contoso.com'] });
      expect(at(directory.place(resolved))).toEqual([
        ['disabledOutsider', []], ['outsider', []], ['u1', ['g1']], ['u2', ['g1', 'g2']], ['u3', ['g1', 'g2', 'g3']],
      ]);
      expect(groupsAt(directory.model(resolved))).not.toContain('gOther');
    });

    it('lets an explicitly included user bypass the filters', () => {
      const filtered = world([user({ id: 'd', accountEnabled: false, userType: 'Guest', mail: null })], ['g1'], edges('g1', 'd'));
      expect(at(filtered.place(only({ limitToGroups: ['g1'], include: ['d'] }, { requireMail: true })))).toEqual([['d', ['g1']]]);
      expect(at(filtered.place(only({ limitToGroups: ['g1'] }, { requireMail: true })))).toEqual([]);
    });

    it('lets Exclude beat Include, whether by id, UPN, mail or group', () => {
      expect(idsFor({ include: ['outsider'], exclude: ['outsider'] })).not.toContain('outsider');
      expect(idsFor({ include: ['u3'], exclude: ['u3@contoso.com'] })).not.toContain('u3');
      expect(idsFor({ include: ['u3@contoso.com'], exclude: ['third@contoso.com'] })).not.toContain('u3');
      expect(idsFor({ include: ['outsider'], exclude: ['gOther'] })).not.toContain('outsider');
    });

    it('does not expand a group id in Include', () => {
      expect(idsFor({ include: ['gOther'] })).toEqual(['u1', 'u2', 'u3']);
    });

    it('names every user sharing a mail, and every live user carrying a UPN (no tie-break)', () => {
      const shared = world([
        user({ id: 'a', mail: 'team@contoso.com' }), user({ id: 'b', mail: 'Team@Contoso.com' }),
        user({ id: 'c', userPrincipalName: 'same@contoso.com' }), user({ id: 'd', userPrincipalName: 'SAME@contoso.com' }),
      ], ['g1'], edges('g1', 'a', 'b', 'c', 'd'));
      expect(ids(shared.place(only({ limitToGroups: ['g1'], exclude: ['team@contoso.com'] })))).toEqual(['c', 'd']);
      expect(ids(shared.place(only({ limitToGroups: ['g1'], exclude: ['same@contoso.com'] })))).toEqual(['a', 'b']);
    });

    it('collects, per mapping, the Include and Exclude entries that named the user', () => {
      const resolved = config([
        { limitToGroups: ['g1'], include: ['OUTSIDER@contoso.com', 'nobody@contoso.com'], exclude: ['u1'] },
        { destination: 'Tenant2', limitToGroups: ['gOther'], exclude: [' Outsider '] },
      ]);
      const model = directory.model(resolved);
      const matched = new Map<number, Set<string>>();
      for (const id of ['u1', 'outsider']) placeUser(model, user({ id }), matched);
      expect([...matched].map(([index, entries]): [number, string[]] => [index, [...entries].sort()])).toEqual([
        [0, ['outsider@contoso.com', 'u1']],
        [1, ['outsider']],
      ]);
    });
  });

  describe('matchingEntries', () => {
    const ada = user({ id: 'u1', userPrincipalName: 'Ada@Contoso.com', mail: ' Ada.Lovelace@Contoso.com ' });

    it('matches lower-cased entries against the id, UPN and mail, ignoring their case and spaces', () => {
      expect(matchingEntries(new Set(['u1', 'ada@contoso.com', 'ada.lovelace@contoso.com', 'bob@contoso.com']), ada).sort())
        .toEqual(['ada.lovelace@contoso.com', 'ada@contoso.com', 'u1']);
      expect(matchingEntries(new Set(), ada)).toEqual([]);
    });

    it('lets a missing UPN or mail match nothing, not an empty entry', () => {
      expect(matchingEntries(new Set(['']), user({ id: 'u2', userPrincipalName: null, mail: '' }))).toEqual([]);
    });
  });

  describe('removed objects', () => {
    it('drops removed users, and the members a removed group used to bring in', () => {
      const directory = world(
        ['u1', removed(user({ id: 'u2' })), 'u3'],
        ['g1', removed(group({ id: 'g2' }))],
        [...edges('g1', 'u1', 'u2', 'g2'), ...edges('g2', 'u3')],
      );
      const resolved = only({ limitToGroups: ['g1'] });
      expect(at(directory.place(resolved))).toEqual([['u1', ['g1']]]);
      expect(groupsAt(directory.model(resolved))).toEqual(['g1']);
    });

    it('does not reach through a removed group to the groups nested under it', () => {
      const directory = world(['u3'], ['g1', removed(group({ id: 'g2' })), 'g3'], [...edges('g1', 'g2'), ...edges('g2', 'g3'), ...edges('g3', 'u3')]);
      expect(at(directory.place(only({ limitToGroups: ['g1'] })))).toEqual([]);
      expect(at(directory.place(only({ limitToGroups: ['g3'] })))).toEqual([['u3', ['g3']]]);
    });

    it('reports a removed or unknown LimitToGroups group as missing, keeping the rest of the scope', () => {
      const directory = world(['u1'], ['g1', removed(group({ id: 'g2' }))], edges('g1', 'u1'));
      const resolved = only({ limitToGroups: ['g1', 'g2', 'g9', 'g9'] });
      const model = directory.model(resolved);
      expect(model.missingGroupsByDestination.get('Tenant1')).toEqual(['g2', 'g9']);
      expect(model.mappings[0]?.missingGroups).toEqual(['g2', 'g9']);
      expect(model.mappings[0]?.liveRoots).toEqual(['g1']);
      expect(at(directory.place(resolved))).toEqual([['u1', ['g1']]]);
    });

    it('places nobody when every LimitToGroups group is missing, without turning into the whole source', () => {
      const directory = world(['u1'], ['g1'], edges('g1', 'u1'));
      const resolved = only({ limitToGroups: ['g9'] });
      expect(directory.place(resolved).destinations.size).toBe(0);
      expect(groupsAt(directory.model(resolved))).toEqual([]);
      expect(directory.model(resolved).missingGroupsByDestination.get('Tenant1')).toEqual(['g9']);
    });

    it('does not take an excluded group that is removed as excluding its former members', () => {
      const directory = world(['u1'], ['g1', removed(group({ id: 'gX' }))], [...edges('g1', 'u1'), ...edges('gX', 'u1')]);
      expect(ids(directory.place(only({ limitToGroups: ['g1'], exclude: ['gX'] })))).toEqual(['u1']);
    });
  });

  describe('the whole source', () => {
    const directory = world(
      ['u1', 'u2', 'loner', removed(user({ id: 'gone' })), user({ id: 'guest', userType: 'Guest' })],
      ['g1', 'g2', removed(group({ id: 'g3' }))],
      [...edges('g1', 'g2', 'u1'), ...edges('g2', 'u2'), ...edges('g3', 'loner')],
    );

    it('takes every live user and every live group when LimitToGroups is empty', () => {
      const resolved = only({ limitToGroups: [] });
      expect(at(directory.place(resolved))).toEqual([['loner', []], ['u1', ['g1']], ['u2', ['g1', 'g2']]]);
      const model = directory.model(resolved);
      expect(groupsAt(model)).toEqual(['g1', 'g2']);
      expect(model.missingGroupsByDestination.get('Tenant1')).toEqual([]);
      expect(model.mappings[0]?.wholeSource).toBe(true);
    });

    it('still honours Exclude, by user and by group', () => {
      const resolved = only({ limitToGroups: [], exclude: ['g2', 'loner'] });
      expect(at(directory.place(resolved))).toEqual([['u1', ['g1']]]);
      expect(groupsAt(directory.model(resolved))).toEqual(['g1']);
    });
  });
});

describe('destinations', () => {
  // u1 in gSales, u2 in gSupport, both in gEmea; u3 in gSupport only; u4 in all three.
  const directory = world(['u1', 'u2', 'u3', 'u4'], ['gSales', 'gSupport', 'gEmea'], [
    ...edges('gSales', 'u1', 'u4'), ...edges('gSupport', 'u2', 'u3', 'u4'), ...edges('gEmea', 'u1', 'u2', 'u4'),
  ]);

  it('unions two mappings to the same destination: one user carrying both groups', () => {
    const resolved = config([
      { destination: 'Tenant1', limitToGroups: ['gSales'] },
      { destination: 'Tenant1', limitToGroups: ['gEmea'] },
    ]);
    const placements = directory.place(resolved);
    expect(at(placements)).toEqual([['u1', ['gEmea', 'gSales']], ['u2', ['gEmea']], ['u4', ['gEmea', 'gSales']]]);
    expect(placements.conflicts).toEqual([]);
    const model = directory.model(resolved);
    expect(model.destinations).toEqual(['Tenant1']);
    expect(groupsAt(model)).toEqual(['gEmea', 'gSales']);
  });

  it('only models the mappings of the given source', () => {
    const resolved = config([
      { source: 'Other', destination: 'Tenant9', limitToGroups: ['gSales'] },
      { destination: 'Tenant1', limitToGroups: ['gSupport'] },
    ]);
    const model = directory.model(resolved);
    expect(model.destinations).toEqual(['Tenant1']);
    expect(model.mappings.map((m) => m.index)).toEqual([1]);
    expect(model.groupsByDestination.has('Tenant9')).toBe(false);
    expect([...directory.place(resolved).destinations.keys()]).toEqual(['Tenant1']);
    expect(directory.model(resolved, 'Other').destinations).toEqual(['Tenant9']);
  });

  const split = [
    { destination: 'Tenant1', limitToGroups: ['gSales'] },
    { destination: 'Tenant2', limitToGroups: ['gEmea'] },
    { destination: 'Tenant1', limitToGroups: ['gSupport'] },
  ];

  it('sends a user in scope of two destinations to both under All, and reports the conflict', () => {
    const placements = directory.place(config(split, { onConflict: 'All' }));
    expect(at(placements, 'Tenant1')).toEqual([
      ['u1', ['gSales']], ['u2', ['gSupport']], ['u3', ['gSupport']], ['u4', ['gSales', 'gSupport']],
    ]);
    expect(at(placements, 'Tenant2')).toEqual([['u1', ['gEmea']], ['u2', ['gEmea']], ['u4', ['gEmea']]]);
    expect(placements.conflicts).toEqual([
      { userId: 'u1', destinations: ['Tenant1', 'Tenant2'], mappingIndexes: [0, 1] },
      { userId: 'u2', destinations: ['Tenant2', 'Tenant1'], mappingIndexes: [1, 2] },
      { userId: 'u4', destinations: ['Tenant1', 'Tenant2'], mappingIndexes: [0, 1, 2] },
    ]);
  });

  it('sends a conflicting user only to its first mapping\'s destination under FirstMapping, with the groups of every mapping to it', () => {
    const resolved = config(split, { onConflict: 'FirstMapping' });
    const placements = directory.place(resolved);
    expect(at(placements, 'Tenant1')).toEqual([['u1', ['gSales']], ['u3', ['gSupport']], ['u4', ['gSales', 'gSupport']]]);
    expect(at(placements, 'Tenant2')).toEqual([['u2', ['gEmea']]]);
    expect(placements.conflicts.map((c) => c.userId)).toEqual(['u1', 'u2', 'u4']);
    expect(placements.conflicts[2]).toEqual({ userId: 'u4', destinations: ['Tenant1', 'Tenant2'], mappingIndexes: [0, 1, 2] });
    // Groups are not subject to conflicts: each destination keeps the groups its mappings hold.
    const model = directory.model(resolved);
    expect(groupsAt(model, 'Tenant1')).toEqual(['gSales', 'gSupport']);
    expect(groupsAt(model, 'Tenant2')).toEqual(['gEmea']);
  });

  it('follows file order (mapping index), not array order, for FirstMapping', () => {
    const resolved = config([], { onConflict: 'FirstMapping' });
    resolved.mappings = [
      mapping({ index: 1, destination: 'Tenant2', limitToGroups: ['gEmea'] }),
      mapping({ index: 0, destination: 'Tenant1', limitToGroups: ['gSales'] }),
    ];
    const placement = placeUser(directory.model(resolved), user({ id: 'u1' }));
    expect([...placement.destinations.keys()]).toEqual(['Tenant1']);
    expect(placement.conflict).toEqual({ destinations: ['Tenant1', 'Tenant2'], mappingIndexes: [0, 1] });
    expect(directory.model(resolved).destinations).toEqual(['Tenant1', 'Tenant2']);
  });

  it('carries each mapping\'s missing groups to its destination', () => {
    const model = directory.model(config([
      { destination: 'Tenant1', limitToGroups: ['gSales', 'g-gone'] },
      { destination: 'Tenant2', limitToGroups: ['gEmea'] },
      { destination: 'Tenant1', limitToGroups: ['g-gone', 'g-lost'] },
    ]));
    expect(model.missingGroupsByDestination.get('Tenant1')).toEqual(['g-gone', 'g-lost']);
    expect(model.missingGroupsByDestination.get('Tenant2')).toEqual([]);
  });

  it('places a user no mapping holds nowhere, with no conflict', () => {
    const placement = placeUser(directory.model(config(split)), user({ id: 'stranger' }));
    expect(placement.destinations.size).toBe(0);
    expect(placement.conflict).toBeUndefined();
  });
});

describe('placeUser at scale', () => {
  it('places 100k users over 500k edges in a nested scope of 2,000 groups', () => {
    const groupIds = Array.from({ length: 2_000 }, (_, i) => `g${i}`);
    const memberships: MembershipEdge[] = [];
    // Five groups per user, plus a 10-deep nesting chain under g0 and a fan-out below it.
    for (let i = 0; i < 500_000; i += 1) {
      memberships.push({ groupId: `g${(i * 7919) % 2_000}`, memberId: `u${i % 100_000}`, memberType: 'user' });
    }
    for (let i = 1; i < 2_000; i += 1) {
      memberships.push({ groupId: `g${i < 10 ? i - 1 : i % 10}`, memberId: `g${i}`, memberType: 'group' });
    }

    // Speed is measured by `npm run bench` (bench/run.ts), not asserted here.
    const model = buildScopeModel(directoryGraph(groupIds, memberships), only({ limitToGroups: ['g0'] }), 'Default');
    let placed = 0;
    for (let i = 0; i < 100_000; i += 1) {
      const groups = placeUser(model, user({ id: `u${i}` })).destinations.get('Tenant1');
      if (groups !== undefined && groups.includes('g0')) placed += 1;
    }
    expect(placed).toBe(100_000);
    expect(model.groupsByDestination.get('Tenant1')?.size).toBe(2_000);
  });
});
