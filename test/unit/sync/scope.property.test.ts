/**
 * The scope engine against a naive reference written straight from the rules, over random
 * directories: random nesting (cycles, self-loops, diamonds), removed objects, shared mails,
 * filters, and Exclude/Include entries in every form. A seeded PRNG keeps failures reproducible.
 */
import { describe, expect, it } from 'vitest';
import type { MembershipEdge, MirrorGroup, MirrorUser } from '../../../src/sync/directory';
import type { ConnectorOptions, MappingConfig } from '../../../src/config/types';
import { buildDirectoryIndex } from '../../support/scopeReference/directoryIndex';
import { resolveMappingScope } from '../../support/scopeReference/scope';
import { seededRandom } from '../../fakes/graph';
import { flatten, group, mapping, options, removed, user } from './builders';

/** mulberry32, the fakes' seeded PRNG. */
const prng = seededRandom;

interface World {
  users: MirrorUser[];
  groups: MirrorGroup[];
  edges: MembershipEdge[];
  mapping: MappingConfig;
  options: ConnectorOptions;
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

  return {
    users,
    groups,
    edges,
    mapping: mapping({
      limitToGroups: chance(0.2) ? [] : Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(groupIds)),
      exclude: several(4, entry),
      include: several(4, entry),
    }),
    options: options({ includeDisabledUsers: chance(0.5), includeGuests: chance(0.5), requireMail: chance(0.5) }),
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
});
