import { describe, expect, it } from 'vitest';
import { changedFieldNames, fieldFingerprints } from '../../../src/sync/fieldFingerprints';

const record = {
  id: 'u1', displayName: 'Ada Lovelace', jobTitle: 'Engineer', businessPhones: ['+1 555'],
  manager: { id: 'm1', displayName: 'Boss', mail: 'boss@contoso.com' }, groups: ['g1'],
};

describe('field fingerprints', () => {
  it('names exactly the fields that changed, in code-unit order', () => {
    const before = fieldFingerprints(record);
    const after = { ...record, jobTitle: 'Lead', manager: { ...record.manager, displayName: 'New Boss' } };
    expect(changedFieldNames(before, after)).toEqual(['jobTitle', 'manager']);
    expect(changedFieldNames(before, record)).toEqual([]);
  });

  it('does not depend on key order and keeps no value', () => {
    const reordered = { groups: ['g1'], manager: record.manager, businessPhones: ['+1 555'], jobTitle: 'Engineer', displayName: 'Ada Lovelace', id: 'u1' };
    expect(fieldFingerprints(reordered)).toBe(fieldFingerprints(record));
    expect(fieldFingerprints(record)).not.toContain('Ada');
    expect(fieldFingerprints(record)).toHaveLength(2 + 3 * 6);
  });

  it('says unknown without a previous fingerprint or when the field list differs', () => {
    expect(changedFieldNames(undefined, record)).toBeNull();
    expect(changedFieldNames('', record)).toBeNull();
    const { groups: _groups, ...withoutGroups } = record;
    expect(changedFieldNames(fieldFingerprints(withoutGroups), record)).toBeNull();
  });
});
