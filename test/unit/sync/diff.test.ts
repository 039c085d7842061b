import { describe, expect, it } from 'vitest';
import { diffDestination } from '../../../src/sync/diff';

const hashes = (entries: Record<string, string>) => new Map(Object.entries(entries));

describe('diffDestination', () => {
  it('upserts new and changed ids, deletes ids no longer desired, and counts the unchanged', () => {
    const diff = diffDestination(
      hashes({ new2: 'h', changed: 'h2', same: 'h', new1: 'h' }),
      hashes({ changed: 'h1', same: 'h', gone2: 'h', gone1: 'h' }),
    );
    expect(diff).toEqual({ upserts: ['changed', 'new1', 'new2'], deletes: ['gone1', 'gone2'], unchanged: 1 });
  });

  it('upserts everything for a destination that acknowledged nothing', () => {
    expect(diffDestination(hashes({ b: '1', a: '2' }), new Map())).toEqual({ upserts: ['a', 'b'], deletes: [], unchanged: 0 });
  });

  it('deletes everything acknowledged when nothing is desired', () => {
    expect(diffDestination(new Map(), hashes({ b: '1', a: '2' }))).toEqual({ upserts: [], deletes: ['a', 'b'], unchanged: 0 });
  });

  it('has nothing to do when both sides agree', () => {
    expect(diffDestination(hashes({ a: '1' }), hashes({ a: '1' }))).toEqual({ upserts: [], deletes: [], unchanged: 1 });
  });
});
