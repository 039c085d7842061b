import { describe, expect, it } from 'vitest';
import { directoryGraph, edges, group, removed } from './builders';

const sorted = (ids: Iterable<string>): string[] => [...ids].sort();

describe('DirectoryGraph', () => {
  // g1 ⊃ g2 (removed) ⊃ g3 ⊃ g4; g1 ⊃ g5; u1 in g1, u2 in g2, u3 in g3 and g5.
  const graph = directoryGraph(['g1', removed(group({ id: 'g2' })), 'g3', 'g4', 'g5'], [
    ...edges('g1', 'u1', 'g2', 'g5'), ...edges('g2', 'u2', 'g3'), ...edges('g3', 'u3', 'g4'), ...edges('g5', 'u3'),
    { groupId: 'g1', memberId: 'device1', memberType: 'other' },
  ]);

  it('knows live groups from removed and unknown ones', () => {
    expect(graph.isLiveGroup('g1')).toBe(true);
    expect(graph.isLiveGroup('g2')).toBe(false);
    expect(graph.isLiveGroup('g9')).toBe(false);
    expect(sorted(graph.liveGroupIds())).toEqual(['g1', 'g3', 'g4', 'g5']);
    expect(graph.groups.has('g2')).toBe(true);
  });

  it('walks down live groups only: a removed group is a member of nothing and holds nothing', () => {
    expect(sorted(graph.liveAtOrBelow(['g1']))).toEqual(['g1', 'g5']);
    expect(sorted(graph.liveAtOrBelow(['g3']))).toEqual(['g3', 'g4']);
    expect(sorted(graph.liveAtOrBelow(['g2', 'g9']))).toEqual([]);
  });

  it('walks down every stored edge for what a change reaches, removed groups included', () => {
    expect(sorted(graph.anyAtOrBelow(['g1']))).toEqual(['g1', 'g2', 'g3', 'g4', 'g5']);
    expect(sorted(graph.anyAtOrBelow(['g2']))).toEqual(['g2', 'g3', 'g4']);
  });

  it('walks up live groups only, the group itself included', () => {
    expect(sorted(graph.liveAncestorsOrSelf('g4'))).toEqual(['g3', 'g4']);
    expect(sorted(graph.liveAncestorsOrSelf('g5'))).toEqual(['g1', 'g5']);
    expect(sorted(graph.liveAncestorsOrSelf('g2'))).toEqual([]);
    // Asked twice (the answer is cached), the same.
    expect(sorted(graph.liveAncestorsOrSelf('g4'))).toEqual(['g3', 'g4']);
  });

  it('walks up every stored edge for what a change reaches, the group itself excluded', () => {
    expect(sorted(graph.anyAncestors('g4'))).toEqual(['g1', 'g2', 'g3']);
    expect(sorted(graph.anyAncestors('g1'))).toEqual([]);
  });

  it('lists a user\'s direct live groups, and the stored user members of any group', () => {
    expect(sorted(graph.directLiveGroupsOf('u3'))).toEqual(['g3', 'g5']);
    expect(sorted(graph.directLiveGroupsOf('u2'))).toEqual([]);
    expect(sorted(graph.directLiveGroupsOf('device1'))).toEqual([]);
    expect(sorted(graph.directUsersOf('g2'))).toEqual(['u2']);
    expect(sorted(graph.directUsersOf('g9'))).toEqual([]);
    expect(sorted(graph.usersInLiveGroups())).toEqual(['u1', 'u3']);
  });

  it('ends on cycles and self-loops, each group once', () => {
    const cyclic = directoryGraph(['g1', 'g2', 'g3'], [...edges('g1', 'g2', 'g1'), ...edges('g2', 'g3'), ...edges('g3', 'g1')]);
    expect(sorted(cyclic.liveAtOrBelow(['g2']))).toEqual(['g1', 'g2', 'g3']);
    expect(sorted(cyclic.anyAtOrBelow(['g3']))).toEqual(['g1', 'g2', 'g3']);
    expect(sorted(cyclic.liveAncestorsOrSelf('g1'))).toEqual(['g1', 'g2', 'g3']);
    expect(sorted(cyclic.anyAncestors('g1'))).toEqual(['g1', 'g2', 'g3']);
  });

  it('takes a group with stored members but no group row for an unknown, not live, group', () => {
    const orphan = directoryGraph(['g1'], [...edges('gOrphan', 'u1', 'g1')]);
    expect(orphan.isLiveGroup('gOrphan')).toBe(false);
    expect(sorted(orphan.directLiveGroupsOf('u1'))).toEqual([]);
    expect(sorted(orphan.liveAncestorsOrSelf('g1'))).toEqual(['g1']);
    expect(sorted(orphan.anyAncestors('g1'))).toEqual(['gOrphan']);
  });
});
