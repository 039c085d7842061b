/**
 * The reference per-destination scope (test/support/scopeReference/destinationScope.ts), the
 * oracle the per-user engine is compared with in scope.property.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { resolveDestinationScopes } from '../../support/scopeReference/destinationScope';
import { config, directory, edges, flatten, mapping } from './builders';

// u1 in gSales, u2 in gSupport, both in gEmea; u3 in gSupport only.
const index = directory(['u1', 'u2', 'u3'], ['gSales', 'gSupport', 'gEmea'], [
  ...edges('gSales', 'u1'), ...edges('gSupport', 'u2', 'u3'), ...edges('gEmea', 'u1', 'u2'),
]);

describe('resolveDestinationScopes', () => {
  it('unions two mappings to the same destination: one user carrying both groups', () => {
    const scopes = resolveDestinationScopes(index, config([
      { destination: 'Tenant1', limitToGroups: ['gSales'] },
      { destination: 'Tenant1', limitToGroups: ['gEmea'] },
    ]), 'Default');

    const tenant1 = scopes.destinations.get('Tenant1');
    expect(flatten(tenant1?.users ?? new Map())).toEqual([['u1', ['gEmea', 'gSales']], ['u2', ['gEmea']]]);
    expect([...(tenant1?.groups ?? [])].sort()).toEqual(['gEmea', 'gSales']);
    expect(tenant1?.mappingIndexes).toEqual([0, 1]);
    expect(scopes.conflicts).toEqual([]);
  });

  it('only resolves the mappings of the given source', () => {
    const scopes = resolveDestinationScopes(index, config([
      { source: 'Other', destination: 'Tenant9', limitToGroups: ['gSales'] },
      { destination: 'Tenant1', limitToGroups: ['gSupport'] },
    ]), 'Default');
    expect([...scopes.destinations.keys()]).toEqual(['Tenant1']);
    expect([...scopes.mappings.keys()]).toEqual([1]);
    expect(scopes.destinations.get('Tenant1')?.mappingIndexes).toEqual([1]);
  });

  const split = [
    { destination: 'Tenant1', limitToGroups: ['gSales'] },
    { destination: 'Tenant2', limitToGroups: ['gEmea'] },
    { destination: 'Tenant1', limitToGroups: ['gSupport'] },
  ];

  it('sends a user in scope of two destinations to both under All, and reports the conflict', () => {
    const scopes = resolveDestinationScopes(index, config(split, { onConflict: 'All' }), 'Default');
    expect(flatten(scopes.destinations.get('Tenant1')?.users ?? new Map())).toEqual([
      ['u1', ['gSales']], ['u2', ['gSupport']], ['u3', ['gSupport']],
    ]);
    expect(flatten(scopes.destinations.get('Tenant2')?.users ?? new Map())).toEqual([['u1', ['gEmea']], ['u2', ['gEmea']]]);
    expect(scopes.conflicts).toEqual([
      { userId: 'u1', upn: 'u1@contoso.com', destinations: ['Tenant1', 'Tenant2'], mappingIndexes: [0, 1] },
      { userId: 'u2', upn: 'u2@contoso.com', destinations: ['Tenant2', 'Tenant1'], mappingIndexes: [1, 2] },
    ]);
  });

  it('sends a conflicting user only to its first mapping\'s destination under FirstMapping, still reporting it', () => {
    const scopes = resolveDestinationScopes(index, config(split, { onConflict: 'FirstMapping' }), 'Default');
    expect(flatten(scopes.destinations.get('Tenant1')?.users ?? new Map())).toEqual([
      ['u1', ['gSales']], ['u3', ['gSupport']],
    ]);
    expect(flatten(scopes.destinations.get('Tenant2')?.users ?? new Map())).toEqual([['u2', ['gEmea']]]);
    expect(scopes.conflicts.map((c) => c.userId)).toEqual(['u1', 'u2']);
    // Groups are not subject to conflicts: each destination keeps the groups its mappings hold.
    expect([...(scopes.destinations.get('Tenant2')?.groups ?? [])]).toEqual(['gEmea']);
  });

  it('follows file order (mapping index), not array order, for FirstMapping', () => {
    const resolved = config([], { onConflict: 'FirstMapping' });
    resolved.mappings = [
      mapping({ index: 1, destination: 'Tenant2', limitToGroups: ['gEmea'] }),
      mapping({ index: 0, destination: 'Tenant1', limitToGroups: ['gSales'] }),
    ];
    const scopes = resolveDestinationScopes(index, resolved, 'Default');
    expect(scopes.destinations.get('Tenant1')?.users.has('u1')).toBe(true);
    expect(scopes.destinations.get('Tenant2')?.users.has('u1')).toBe(false);
    expect(scopes.conflicts[0]?.destinations).toEqual(['Tenant1', 'Tenant2']);
  });

  it('carries each mapping\'s missing groups to its destination', () => {
    const scopes = resolveDestinationScopes(index, config([
      { destination: 'Tenant1', limitToGroups: ['gSales', 'g-gone'] },
      { destination: 'Tenant2', limitToGroups: ['gEmea'] },
    ]), 'Default');
    expect(scopes.destinations.get('Tenant1')?.missingGroups).toEqual(['g-gone']);
    expect(scopes.destinations.get('Tenant2')?.missingGroups).toEqual([]);
    expect(scopes.mappings.get(0)?.missingGroups).toEqual(['g-gone']);
  });
});
