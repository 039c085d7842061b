/**
 * The reference scope engine (test/support/scopeReference/scope.ts), the oracle the per-user
 * engine is compared with in scope.property.test.ts; its rule cases are ported to
 * scopeModel.test.ts, and its reporting (emptyBecause, unmatched entries, skip counts) is its own.
 */
import { describe, expect, it } from 'vitest';
import { resolveMappingScope } from '../../support/scopeReference/scope';
import { directory, edges, flatten, group, mapping, options, removed, user } from './builders';

describe('resolveMappingScope', () => {
  describe('nesting', () => {
    // g1 ⊃ g2 ⊃ g3 ⊃ g4; g5 stands apart.
    const nested = directory(['u1', 'u3', 'u4', 'u5'], ['g1', 'g2', 'g3', 'g4', 'g5'], [
      ...edges('g1', 'u1', 'g2'), ...edges('g2', 'g3'), ...edges('g3', 'u3', 'g4'), ...edges('g4', 'u4'),
      ...edges('g5', 'u5'),
    ]);

    it('takes members of groups nested four levels down, each with every in-scope group above it', () => {
      const scope = resolveMappingScope(nested, mapping({ limitToGroups: ['g1'] }), options());
      expect(flatten(scope.users)).toEqual([
        ['u1', ['g1']],
        ['u3', ['g1', 'g2', 'g3']],
        ['u4', ['g1', 'g2', 'g3', 'g4']],
      ]);
      expect([...scope.groups].sort()).toEqual(['g1', 'g2', 'g3', 'g4']);
      expect(scope.missingGroups).toEqual([]);
      expect(scope.emptyBecause).toBeUndefined();
    });

    it('gives users only the in-scope groups when LimitToGroups starts below the top', () => {
      const scope = resolveMappingScope(nested, mapping({ limitToGroups: ['g3'] }), options());
      expect(flatten(scope.users)).toEqual([['u3', ['g3']], ['u4', ['g3', 'g4']]]);
      expect([...scope.groups].sort()).toEqual(['g3', 'g4']);
    });

    it('terminates on a cycle g1 → g2 → g1 and puts members of either in both', () => {
      const index = directory(['u1', 'u2'], ['g1', 'g2'], [...edges('g1', 'g2', 'u1'), ...edges('g2', 'g1', 'u2')]);
      const scope = resolveMappingScope(index, mapping({ limitToGroups: ['g1'] }), options());
      expect(flatten(scope.users)).toEqual([['u1', ['g1', 'g2']], ['u2', ['g1', 'g2']]]);
      expect([...scope.groups].sort()).toEqual(['g1', 'g2']);
    });

    it('counts a group reached by two paths once', () => {
      const index = directory(['u4'], ['g1', 'g2', 'g3', 'g4'], [
        ...edges('g1', 'g2', 'g3'), ...edges('g2', 'g4'), ...edges('g3', 'g4'), ...edges('g4', 'u4'),
      ]);
      const scope = resolveMappingScope(index, mapping({ limitToGroups: ['g1', 'g4'] }), options());
      expect(flatten(scope.users)).toEqual([['u4', ['g1', 'g2', 'g3', 'g4']]]);
      expect(scope.groups.size).toBe(4);
    });
  });

  describe('filters', () => {
    const index = directory([
      'member',
      user({ id: 'disabled', accountEnabled: false }),
      user({ id: 'unknownState', accountEnabled: null }),
      user({ id: 'guest', userType: 'Guest' }),
      user({ id: 'noMail', mail: null }),
      user({ id: 'blankMail', mail: ' ' }),
    ], ['g1'], edges('g1', 'member', 'disabled', 'unknownState', 'guest', 'noMail', 'blankMail'));
    const idsWith = (fields: Parameters<typeof options>[0]): string[] =>
      [...resolveMappingScope(index, mapping({ limitToGroups: ['g1'] }), options(fields)).users.keys()].sort();

    it('by default leaves out disabled users and guests, and keeps users without mail', () => {
      expect(idsWith({})).toEqual(['blankMail', 'member', 'noMail', 'unknownState']);
    });

    it('keeps disabled users with IncludeDisabledUsers and guests with IncludeGuests', () => {
      expect(idsWith({ includeDisabledUsers: true })).toContain('disabled');
      expect(idsWith({ includeGuests: true })).toContain('guest');
    });

    it('leaves out users without a mail (or a blank one) with RequireMail', () => {
      expect(idsWith({ requireMail: true })).toEqual(['member', 'unknownState']);
    });

    it('counts the candidates each filter left out', () => {
      const scope = resolveMappingScope(index, mapping({ limitToGroups: ['g1'] }), options({ requireMail: true }));
      expect(scope.skipped).toEqual({ disabled: 1, guest: 1, withoutMail: 2, excluded: 0 });
    });
  });

  describe('exclude and include', () => {
    // g1 ⊃ g2 ⊃ g3; u1 in g1, u2 in g2, u3 in g3; outsider in no group.
    const index = directory(
      ['u1', 'u2', 'u3', 'outsider', user({ id: 'disabledOutsider', accountEnabled: false }), removed(user({ id: 'gone' }))],
      ['g1', 'g2', 'g3', 'gOther'],
      [...edges('g1', 'u1', 'g2'), ...edges('g2', 'u2', 'g3'), ...edges('g3', 'u3'), ...edges('gOther', 'outsider')],
    );
    const resolve = (fields: { exclude?: string[]; include?: string[] }) =>
      resolveMappingScope(index, mapping({ limitToGroups: ['g1'], ...fields }), options());

    it('excludes a user by object id', () => {
      expect([...resolve({ exclude: ['u2'] }).users.keys()].sort()).toEqual(['u1', 'u3']);
    });

    it('excludes a user by UPN, ignoring case', () => {
      const scope = resolve({ exclude: ['U3@CONTOSO.com'] });
      expect([...scope.users.keys()].sort()).toEqual(['u1', 'u2']);
      expect(scope.skipped.excluded).toBe(1);
    });

    it('excludes every transitive member of an excluded group, and the group with its nested groups', () => {
      const scope = resolve({ exclude: ['g2'] });
      expect(flatten(scope.users)).toEqual([['u1', ['g1']]]);
      expect([...scope.groups]).toEqual(['g1']);
    });

    it('includes users outside LimitToGroups by id and by UPN, with no groups', () => {
      const scope = resolve({ include: ['outsider', 'DisabledOutsider@Contoso.com'] });
      expect(flatten(scope.users)).toEqual([
        ['disabledOutsider', []], ['outsider', []], ['u1', ['g1']], ['u2', ['g1', 'g2']], ['u3', ['g1', 'g2', 'g3']],
      ]);
      expect(scope.groups.has('gOther')).toBe(false);
    });

    it('lets an explicitly included user bypass the filters', () => {
      const disabledInGroup = directory([user({ id: 'd', accountEnabled: false, userType: 'Guest', mail: null })], ['g1'], edges('g1', 'd'));
      const scope = resolveMappingScope(disabledInGroup, mapping({ limitToGroups: ['g1'], include: ['d'] }), options({ requireMail: true }));
      expect(flatten(scope.users)).toEqual([['d', ['g1']]]);
    });

    it('lets Exclude beat Include, whether by id, UPN or group', () => {
      expect(resolve({ include: ['outsider'], exclude: ['outsider'] }).users.has('outsider')).toBe(false);
      expect(resolve({ include: ['u3'], exclude: ['u3@contoso.com'] }).users.has('u3')).toBe(false);
      expect(resolve({ include: ['outsider'], exclude: ['gOther'] }).users.has('outsider')).toBe(false);
    });

    it('cannot include a removed user, and reports entries that named nobody', () => {
      const scope = resolve({ include: ['gone', 'g3', 'nobody@contoso.com', 'outsider'], exclude: ['ghost', 'u1'] });
      expect(scope.users.has('gone')).toBe(false);
      expect(scope.unmatched).toEqual({ include: ['gone', 'g3', 'nobody@contoso.com'], exclude: ['ghost'] });
    });
  });

  describe('removed objects', () => {
    it('drops removed users, and the members a removed group used to bring in', () => {
      const index = directory(
        ['u1', removed(user({ id: 'u2' })), 'u3'],
        ['g1', removed(group({ id: 'g2' }))],
        [...edges('g1', 'u1', 'u2', 'g2'), ...edges('g2', 'u3')],
      );
      const scope = resolveMappingScope(index, mapping({ limitToGroups: ['g1'] }), options());
      expect(flatten(scope.users)).toEqual([['u1', ['g1']]]);
      expect([...scope.groups]).toEqual(['g1']);
    });

    it('reports a removed or unknown LimitToGroups group as missing, keeping the rest of the scope', () => {
      const index = directory(['u1'], ['g1', removed(group({ id: 'g2' }))], edges('g1', 'u1'));
      const scope = resolveMappingScope(index, mapping({ limitToGroups: ['g1', 'g2', 'g9', 'g9'] }), options());
      expect(scope.missingGroups).toEqual(['g2', 'g9']);
      expect([...scope.users.keys()]).toEqual(['u1']);
    });
  });

  describe('the whole source', () => {
    it('takes every live user and every live group when LimitToGroups is empty', () => {
      const index = directory(
        ['u1', 'u2', 'loner', removed(user({ id: 'gone' })), user({ id: 'guest', userType: 'Guest' })],
        ['g1', 'g2', removed(group({ id: 'g3' }))],
        [...edges('g1', 'g2', 'u1'), ...edges('g2', 'u2')],
      );
      const scope = resolveMappingScope(index, mapping({ limitToGroups: [] }), options());
      expect(flatten(scope.users)).toEqual([['loner', []], ['u1', ['g1']], ['u2', ['g1', 'g2']]]);
      expect([...scope.groups].sort()).toEqual(['g1', 'g2']);
      expect(scope.missingGroups).toEqual([]);
    });
  });

  describe('empty scopes', () => {
    const index = directory([user({ id: 'u1', accountEnabled: false })], ['g1', 'gEmpty'], edges('g1', 'u1'));

    it('says the mirror holds no user when the whole source is empty', () => {
      expect(resolveMappingScope(directory([], []), mapping(), options()).emptyBecause).toBe('noLiveUsers');
    });

    it('says every LimitToGroups group is missing', () => {
      const scope = resolveMappingScope(index, mapping({ limitToGroups: ['g9'] }), options());
      expect(scope.emptyBecause).toBe('allGroupsMissing');
      expect(scope.missingGroups).toEqual(['g9']);
    });

    it('says the groups have no members', () => {
      expect(resolveMappingScope(index, mapping({ limitToGroups: ['gEmpty'] }), options()).emptyBecause).toBe('groupsHaveNoMembers');
    });

    it('says every candidate was filtered out or excluded', () => {
      expect(resolveMappingScope(index, mapping({ limitToGroups: ['g1'] }), options()).emptyBecause).toBe('allFilteredOrExcluded');
    });
  });
});
