/**
 * The reference engine's index (test/support/scopeReference/directoryIndex.ts). Its UPN tie-break
 * (the smallest id wins) is the reference's alone: the per-user engine names every live user
 * carrying a UPN (scopeModel.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { buildDirectoryIndex, findUsers, groupsAtOrBelow, transitiveUserMembers } from '../../support/scopeReference/directoryIndex';
import type { MembershipEdge, MirrorGroup, MirrorUser } from '../../../src/sync/directory';
import { resolveMappingScope } from '../../support/scopeReference/scope';
import { directory, edges, group, mapping, options, removed, user } from './builders';

describe('buildDirectoryIndex', () => {
  it('finds live users by id, by UPN and by mail, case-insensitively', () => {
    const index = directory([user({ id: 'u1', userPrincipalName: 'Ada@Contoso.com', mail: 'Ada.Lovelace@Contoso.com' })], []);
    expect(index.users.get('u1')?.id).toBe('u1');
    expect(index.userIdByUpn.get('ada@contoso.com')).toBe('u1');
    expect(index.userIdsByMail.get('ada.lovelace@contoso.com')).toEqual(['u1']);
    expect(findUsers(index, 'ADA@contoso.COM')).toEqual(['u1']);
    expect(findUsers(index, ' ada.lovelace@contoso.com ')).toEqual(['u1']);
    expect(findUsers(index, 'nobody@contoso.com')).toEqual([]);
  });

  it('lists every user sharing a mail, and keeps the smaller id for a duplicated UPN', () => {
    const index = directory([
      user({ id: 'u2', userPrincipalName: 'same@contoso.com', mail: 'shared@contoso.com' }),
      user({ id: 'u1', userPrincipalName: 'SAME@contoso.com', mail: 'Shared@contoso.com' }),
    ], []);
    expect(index.userIdsByMail.get('shared@contoso.com')).toEqual(['u1', 'u2']);
    expect(index.userIdByUpn.get('same@contoso.com')).toBe('u1');
  });

  it('leaves removed users and groups out of every map and adjacency list', () => {
    const index = directory(
      ['u1', removed(user({ id: 'u2' }))],
      ['g1', removed(group({ id: 'g2' }))],
      [...edges('g1', 'u1', 'u2', 'g2'), ...edges('g2', 'u1')],
    );
    expect([...index.users.keys()]).toEqual(['u1']);
    expect([...index.groups.keys()]).toEqual(['g1']);
    expect(index.userIdByUpn.has('u2@contoso.com')).toBe(false);
    expect([...(index.memberUsers.get('g1') ?? [])]).toEqual(['u1']);
    expect(index.memberGroups.has('g1')).toBe(false);
    expect(index.memberUsers.has('g2')).toBe(false);
    expect([...index.removedUserIds]).toEqual(['u2']);
    expect([...index.removedGroupIds]).toEqual(['g2']);
  });

  it('ignores edges to members the mirror does not hold, "other" members and duplicates', () => {
    const index = directory(['u1'], ['g1'], [
      ...edges('g1', 'u1', 'u1', 'u-unknown', 'g-unknown'),
      { groupId: 'g1', memberId: 'device1', memberType: 'other' },
      ...edges('g-unknown', 'u1'),
    ]);
    expect([...(index.memberUsers.get('g1') ?? [])]).toEqual(['u1']);
    expect(index.memberGroups.has('g1')).toBe(false);
    expect(index.memberUsers.has('g-unknown')).toBe(false);
  });

  it('walks nested groups once each, through cycles', () => {
    const index = directory(['u1', 'u2'], ['g1', 'g2', 'g3'], [
      ...edges('g1', 'g2'), ...edges('g2', 'g3', 'u2'), ...edges('g3', 'g1', 'u1'),
    ]);
    expect([...groupsAtOrBelow(index, ['g2'])].sort()).toEqual(['g1', 'g2', 'g3']);
    expect([...transitiveUserMembers(index, ['g3'])].sort()).toEqual(['u1', 'u2']);
    expect([...groupsAtOrBelow(index, ['g-unknown'])]).toEqual([]);
  });

  it('indexes 100k users and 500k edges and resolves a nested scope over all of them', () => {
    const users: MirrorUser[] = [];
    for (let i = 0; i < 100_000; i += 1) users.push(user({ id: `u${i}` }));
    const groups: MirrorGroup[] = [];
    for (let i = 0; i < 2_000; i += 1) groups.push(group({ id: `g${i}` }));
    const memberships: MembershipEdge[] = [];
    // Five groups per user, plus a 10-deep nesting chain under g0 and a fan-out below it.
    for (let i = 0; i < 500_000; i += 1) {
      memberships.push({ groupId: `g${(i * 7919) % 2_000}`, memberId: `u${i % 100_000}`, memberType: 'user' });
    }
    for (let i = 1; i < 2_000; i += 1) {
      memberships.push({ groupId: `g${i < 10 ? i - 1 : i % 10}`, memberId: `g${i}`, memberType: 'group' });
    }

    // Speed is measured by `npm run bench` (bench/run.ts), not asserted here.
    const index = buildDirectoryIndex(users, groups, memberships);
    const scope = resolveMappingScope(index, mapping({ limitToGroups: ['g0'] }), options());

    expect(scope.users.size).toBe(100_000);
    expect(scope.groups.size).toBe(2_000);
  });
});
