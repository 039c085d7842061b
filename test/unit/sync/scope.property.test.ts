/**
 * Scope over random directories: random nesting (cycles, self-loops, diamonds), removed objects,
 * shared mails, filters, and Exclude/Include entries in every form. A seeded PRNG keeps failures
 * reproducible.
 *
 * Two layers: the reference engine (test/support/scopeReference) against a naive oracle written
 * straight from the rules, which keeps the reference trustworthy; then the per-user engine
 * (src/sync/scopeModel.ts) against the reference, one mapping at a time and with several mappings
 * to two destinations. Live users never share a UPN here: the reference breaks such a tie by the
 * smallest id, the per-user engine deliberately names every user carrying the UPN.
 */
import { describe, expect, it } from 'vitest';
import type { MembershipEdge, MirrorGroup, MirrorUser } from '../../../src/sync/directory';
import type { ConnectorConfig, ConnectorOptions, MappingConfig } from '../../../src/config/types';
import { buildScopeModel, placeUser } from '../../../src/sync/scopeModel';
import { resolveDestinationScopes } from '../../support/scopeReference/destinationScope';
import { buildDirectoryIndex } from '../../support/scopeReference/directoryIndex';
import { resolveMappingScope } from '../../support/scopeReference/scope';
import { seededRandom } from '../../fakes/graph';
import { directoryGraph, flatten, group, mapping, options, placeEveryone, removed, user } from './builders';

/** mulberry32, the fakes' seeded PRNG. */
const prng = seededRandom;

interface World {
  users: MirrorUser[];
  groups: MirrorGroup[];
  edges: MembershipEdge[];
  mapping: MappingConfig;
  options: ConnectorOptions;
  /** Two or three mappings of source Default to destinations D1 and D2 (both used), for the per-destination property. */
  split: MappingConfig[];
  onConflict: ConnectorOptions['onConflict'];
}

function randomWorld(seed: number): World {
  const random = prng(seed);
  const chance = (p: number) => random() < p;
  const pick = <T>(items: readonly T[]): T => {
    const item = items[Math.floor(random() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  };
  const mixCase = (text: string) => [...text].map((c) => (chance(0.5) ? c.toUpperCase() : c)).join('');

  const userCount = 200 + Math.floor(random() * 200);
  const groupCount = 20 + Math.floor(random() * 40);
  const users: MirrorUser[] = [];
  for (let i = 0; i < userCount; i += 1) {
    const id = `u${i}`;
    const built = user({
      id,
      userPrincipalName: chance(0.05) ? null : `${id}@contoso.com`,
      mail: chance(0.1) ? null : chance(0.05) ? 'shared@contoso.com' : `${mixCase(`mail.${id}`)}@contoso.com`,
      accountEnabled: chance(0.1) ? false : chance(0.05) ? null : true,
      userType: chance(0.1) ? 'Guest' : 'Member',
    });
    users.push(chance(0.05) ? removed(built) : built);
  }
  // A UPN freed by a removed account and now carried by a live one: unique among live users still.
  for (let i = 0; i < 3; i += 1) {
    const holder = pick(users);
    users.push(removed(user({ id: `u-former${i}`, userPrincipalName: holder.userPrincipalName, mail: null })));
  }
  const groups: MirrorGroup[] = [];
  for (let i = 0; i < groupCount; i += 1) {
    const built = group({ id: `g${i}` });
    groups.push(chance(0.07) ? removed(built) : built);
  }
  const userIds = users.map((u) => u.id).concat(['u-unknown']);
  const groupIds = groups.map((g) => g.id).concat(['g-unknown']);

  const edges: MembershipEdge[] = [];
  for (const u of userIds) {
    const memberships = Math.floor(random() * 4);
    for (let k = 0; k < memberships; k += 1) edges.push({ groupId: pick(groupIds), memberId: u, memberType: 'user' });
  }
  const nestings = Math.floor(groupCount * (0.5 + random()));
  for (let k = 0; k < nestings; k += 1) edges.push({ groupId: pick(groupIds), memberId: pick(groupIds), memberType: 'group' });
  for (let k = 0; k < 5; k += 1) edges.push({ groupId: pick(groupIds), memberId: `device${k}`, memberType: 'other' });

  const entry = (): string => {
    const target = pick(users);
    switch (Math.floor(random() * 5)) {
      case 0: return target.id;
      case 1: return mixCase(target.userPrincipalName ?? target.id);
      case 2: return mixCase(target.mail ?? 'nobody@contoso.com');
      case 3: return pick(groupIds);
      default: return chance(0.5) ? 'nobody@contoso.com' : pick(userIds);
    }
  };
  const several = (max: number, make: () => string) => Array.from({ length: Math.floor(random() * (max + 1)) }, make);

  const randomMapping = (fields: Partial<MappingConfig> = {}): MappingConfig => mapping({
    limitToGroups: chance(0.2) ? [] : Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(groupIds)),
    exclude: several(4, entry),
    include: several(4, entry),
    ...fields,
  });
  const single = randomMapping();
  const worldOptions = options({ includeDisabledUsers: chance(0.5), includeGuests: chance(0.5), requireMail: chance(0.5) });

  const destinations = chance(0.5) ? ['D1', 'D2', 'D1'] : ['D2', 'D1', 'D2'];
  const count = chance(0.5) ? 2 : 3;
  const split = destinations.slice(0, count).map((destination, index) => randomMapping({ index, destination }));
  return {
    users,
    groups,
    edges,
    mapping: single,
    options: worldOptions,
    split,
    onConflict: chance(0.5) ? 'All' : 'FirstMapping',
  };
}

/** The rules, computed the slow and obvious way: a fixed-point closure over all edges. */
function referenceScope(world: World): { users: [string, string[]][]; groups: string[]; missingGroups: string[] } {
  const liveUsers = world.users.filter((u) => u.removed === null);
  const liveGroupIds = world.groups.filter((g) => g.removed === null).map((g) => g.id);
  const liveUserIds = new Set(liveUsers.map((u) => u.id));
  const isLiveGroup = (id: string) => liveGroupIds.includes(id);

  // below[h] = groups at or below h.
  const below = new Map<string, Set<string>>(liveGroupIds.map((h) => [h, new Set([h])]));
  const nestings = world.edges.filter((e) => e.memberType === 'group' && isLiveGroup(e.groupId) && isLiveGroup(e.memberId));
  let grew = true;
  while (grew) {
    grew = false;
    for (const set of below.values()) {
      for (const e of nestings) {
        if (set.has(e.groupId) && !set.has(e.memberId)) {
          set.add(e.memberId);
          grew = true;
        }
      }
    }
  }
  const direct = world.edges.filter((e) => e.memberType === 'user' && isLiveGroup(e.groupId) && liveUserIds.has(e.memberId));
  const isMember = (userId: string, groupId: string): boolean =>
    direct.some((e) => e.memberId === userId && (below.get(groupId)?.has(e.groupId) ?? false));
  const names = (u: MirrorUser, text: string): boolean => {
    const t = text.toLowerCase();
    return t === u.id || t === u.userPrincipalName?.toLowerCase() || t === u.mail?.toLowerCase();
  };

  const whole = world.mapping.limitToGroups.length === 0;
  const roots = world.mapping.limitToGroups.filter(isLiveGroup);
  const excludedGroupRoots = world.mapping.exclude.filter(isLiveGroup);
  const excludedGroups = liveGroupIds.filter((g) => excludedGroupRoots.some((x) => below.get(x)?.has(g)));
  const scopeGroups = (whole ? liveGroupIds : liveGroupIds.filter((g) => roots.some((r) => below.get(r)?.has(g))))
    .filter((g) => !excludedGroups.includes(g));

  const users: [string, string[]][] = [];
  for (const u of liveUsers) {
    const excluded = world.mapping.exclude.some((x) => names(u, x)) || excludedGroupRoots.some((x) => isMember(u.id, x));
    const included = world.mapping.include.some((x) => names(u, x));
    const candidate = whole || roots.some((r) => isMember(u.id, r));
    const o = world.options;
    const passes = (o.includeDisabledUsers || u.accountEnabled !== false)
      && (o.includeGuests || u.userType !== 'Guest')
      && (!o.requireMail || (u.mail ?? '').trim() !== '');
    if (!excluded && (included || (candidate && passes))) {
      users.push([u.id, scopeGroups.filter((g) => isMember(u.id, g)).sort()]);
    }
  }
  return {
    users: users.sort(([a], [b]) => (a < b ? -1 : 1)),
    groups: [...scopeGroups].sort(),
    missingGroups: [...new Set(world.mapping.limitToGroups.filter((g) => !isLiveGroup(g)))],
  };
}

describe('resolveMappingScope on random directories', () => {
  const seeds = Array.from({ length: 40 }, (_, i) => 1000 + i);

  it.each(seeds)('matches the naive reference for seed %i', (seed) => {
    const world = randomWorld(seed);
    const index = buildDirectoryIndex(world.users, world.groups, world.edges);
    const scope = resolveMappingScope(index, world.mapping, world.options);
    const expected = referenceScope(world);

    expect(flatten(scope.users)).toEqual(expected.users);
    expect([...scope.groups].sort()).toEqual(expected.groups);
    expect(scope.missingGroups).toEqual(expected.missingGroups);
  });

  it('exercises nesting, filters, exclusions and inclusions across the seeds', () => {
    // Guards the generator: a reference that only ever sees trivial worlds proves nothing.
    let nestedMembers = 0;
    let withExclusions = 0;
    let includedOutsiders = 0;
    for (const seed of seeds) {
      const world = randomWorld(seed);
      const index = buildDirectoryIndex(world.users, world.groups, world.edges);
      const scope = resolveMappingScope(index, world.mapping, world.options);
      for (const groupIds of scope.users.values()) if (groupIds.size >= 3) nestedMembers += 1;
      if (scope.skipped.excluded > 0) withExclusions += 1;
      for (const groupIds of scope.users.values()) if (groupIds.size === 0 && world.mapping.limitToGroups.length > 0) includedOutsiders += 1;
    }
    expect(nestedMembers).toBeGreaterThan(100);
    expect(withExclusions).toBeGreaterThan(5);
    expect(includedOutsiders).toBeGreaterThan(5);
  });

  it('never gives two live users the same UPN, while removed users reuse live ones', () => {
    let reused = 0;
    for (const seed of seeds) {
      const world = randomWorld(seed);
      const upnOf = (u: MirrorUser): string => u.userPrincipalName?.toLowerCase() ?? '';
      const live = world.users.filter((u) => u.removed === null && u.userPrincipalName !== null).map(upnOf);
      expect(new Set(live).size).toBe(live.length);
      const liveUpns = new Set(live);
      reused += world.users.filter((u) => u.removed !== null && liveUpns.has(upnOf(u))).length;
    }
    expect(reused).toBeGreaterThan(40);
  });
});

/** The config the per-user engine is built from: the given mappings of source Default, and the world's options. */
function configOf(world: World, mappings: MappingConfig[], onConflict: ConnectorOptions['onConflict'] = 'All'): ConnectorConfig {
  return { sources: [], destinations: [], mappings, options: { ...world.options, onConflict } };
}

/** Group ids in order, to compare sets. */
const sortedGroups = (groups: Iterable<string>): string[] => [...groups].sort();

describe('placeUser against the reference on random directories', () => {
  const seeds = Array.from({ length: 40 }, (_, i) => 1000 + i);

  it.each(seeds)('places every live user where one mapping\'s reference scope does, with its groups, for seed %i', (seed) => {
    const world = randomWorld(seed);
    const index = buildDirectoryIndex(world.users, world.groups, world.edges);
    const graph = directoryGraph(world.groups, world.edges);
    // The world's own mapping, and each mapping of its split, as the only mapping, to D.
    for (const candidate of [world.mapping, ...world.split]) {
      const only = { ...candidate, index: 0, destination: 'D' };
      const reference = resolveMappingScope(index, only, world.options);
      const model = buildScopeModel(graph, configOf(world, [only]), 'Default');

      for (const u of world.users) {
        if (u.removed !== null) continue;
        const placement = placeUser(model, u);
        const expected = reference.users.get(u.id);
        expect(placement.conflict).toBeUndefined();
        expect([...placement.destinations]).toEqual(expected === undefined ? [] : [['D', sortedGroups(expected)]]);
      }
      expect(sortedGroups(model.groupsByDestination.get('D') ?? [])).toEqual(sortedGroups(reference.groups));
      expect(model.missingGroupsByDestination.get('D')).toEqual(reference.missingGroups);
    }
  });

  it.each(seeds)('places users, groups and conflicts across two destinations as the reference does, for seed %i', (seed) => {
    const world = randomWorld(seed);
    const index = buildDirectoryIndex(world.users, world.groups, world.edges);
    const resolved = configOf(world, world.split, world.onConflict);
    const reference = resolveDestinationScopes(index, resolved, 'Default');
    const model = buildScopeModel(directoryGraph(world.groups, world.edges), resolved, 'Default');
    const placements = placeEveryone(model, world.users);

    expect(model.destinations).toEqual([...reference.destinations.keys()]);
    for (const [destination, scope] of reference.destinations) {
      expect(placements.destinations.get(destination) ?? []).toEqual(flatten(scope.users));
      expect(sortedGroups(model.groupsByDestination.get(destination) ?? [])).toEqual(sortedGroups(scope.groups));
      expect(model.missingGroupsByDestination.get(destination)).toEqual(scope.missingGroups);
    }
    expect([...placements.destinations.keys()].every((destination) => reference.destinations.has(destination))).toBe(true);
    expect(placements.conflicts).toEqual(reference.conflicts.map(({ userId, destinations, mappingIndexes }) => ({ userId, destinations, mappingIndexes })));
  });

  it('exercises conflicts under both policies, and users carrying two mappings\' groups to one destination', () => {
    // Guards the generator, as above: the comparison must meet the cases it is there for.
    const conflicts = { All: 0, FirstMapping: 0 };
    // Conflicting users whose first destination has several of their mappings: FirstMapping must carry the groups of each.
    let firstDestinationUnions = 0;
    let unionedUsers = 0;
    let placedUsers = 0;
    for (const seed of seeds) {
      const world = randomWorld(seed);
      const index = buildDirectoryIndex(world.users, world.groups, world.edges);
      const reference = resolveDestinationScopes(index, configOf(world, world.split, world.onConflict), 'Default');
      conflicts[world.onConflict] += reference.conflicts.length;
      for (const conflict of reference.conflicts) {
        const toFirst = conflict.mappingIndexes.filter((i) => world.split[i]?.destination === conflict.destinations[0]);
        if (world.onConflict === 'FirstMapping' && toFirst.length > 1) firstDestinationUnions += 1;
      }
      for (const scope of reference.destinations.values()) {
        placedUsers += scope.users.size;
        if (scope.mappingIndexes.length < 2) continue;
        const [first, second] = scope.mappingIndexes.map((i) => reference.mappings.get(i)?.users);
        for (const [id, groups] of scope.users) {
          const a = first?.get(id);
          const b = second?.get(id);
          if (a !== undefined && b !== undefined && a.size > 0 && b.size > 0 && groups.size > Math.max(a.size, b.size)) unionedUsers += 1;
        }
      }
    }
    expect(conflicts.All).toBeGreaterThan(100);
    expect(conflicts.FirstMapping).toBeGreaterThan(100);
    expect(firstDestinationUnions).toBeGreaterThan(20);
    expect(unionedUsers).toBeGreaterThan(20);
    expect(placedUsers).toBeGreaterThan(2_000);
  });
});
