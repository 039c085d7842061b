import { describe, expect, it } from 'vitest';
import { planBatches, serializeBatch, splitBatchInHalf } from '../../../src/signature365/batching';
import { backoffDelayInMs, parseRetryAfterInMs } from '../../../src/signature365/httpDestinationClient';
import { s365User, s365Users } from '../../fakes/signature365/builders';

const SOURCE = '11111111-2222-4333-8444-555555555555';
const MiB = 1024 * 1024;

describe('planBatches', () => {
  it('puts at most 100 items in a batch, upserts and deletes together', () => {
    const deletes = Array.from({ length: 60 }, (_, i) => `gone-${i}`);
    const batches = planBatches(SOURCE, s365Users(150), deletes);

    expect(batches.map((b) => b.entries.length)).toEqual([100, 100, 10]);
    expect(batches[1]?.entries.map((e) => e.op)).toEqual([...Array(50).fill('upsert'), ...Array(50).fill('delete')]);
  });

  it('keeps input order, upserts then deletes, and numbers items by their input position', () => {
    const users = s365Users(3);
    const [batch] = planBatches(SOURCE, users, ['x', 'y']);

    expect(batch?.entries.map((e) => [e.index, e.op, e.id])).toEqual([
      [0, 'upsert', users[0]?.id], [1, 'upsert', users[1]?.id], [2, 'upsert', users[2]?.id], [3, 'delete', 'x'], [4, 'delete', 'y'],
    ]);
  });

  it('serialises a batch exactly as JSON.stringify of the request body, and counts its bytes exactly', () => {
    const users = [s365User({ displayName: 'Zoë Ångström 日本' }), s365User()];
    const [batch] = planBatches(SOURCE, users, ['gone']);
    expect(batch).toBeDefined();
    if (!batch) return;

    const body = serializeBatch(batch);

    expect(body).toBe(JSON.stringify({ source: SOURCE, upserts: users, deletes: ['gone'] }));
    expect(batch.bytes).toBe(Buffer.byteLength(body, 'utf8'));
  });

  it('never lets a batch pass 1 MiB of JSON', () => {
    // Multi-byte characters, so counting characters instead of bytes would overflow.
    const users = s365Users(40, { extensionAttributes: { extensionAttribute1: 'é'.repeat(20_000) } });

    const batches = planBatches(SOURCE, users, []);

    expect(batches.length).toBeGreaterThan(1);
    for (const batch of batches) {
      expect(Buffer.byteLength(serializeBatch(batch), 'utf8')).toBeLessThanOrEqual(MiB);
      expect(batch.bytes).toBe(Buffer.byteLength(serializeBatch(batch), 'utf8'));
    }
    expect(batches.flatMap((b) => b.entries.map((e) => e.index))).toEqual(users.map((_, i) => i));
  });

  it('fills a batch up to the byte limit, not one item short', () => {
    const users = s365Users(5);
    const exact = Buffer.byteLength(JSON.stringify({ source: SOURCE, upserts: users.slice(0, 3), deletes: [] }), 'utf8');

    const batches = planBatches(SOURCE, users, [], { maxItems: 100, maxBytes: exact });

    expect(batches.map((b) => b.entries.length)).toEqual([3, 2]);
  });

  it('gives an item too large for any batch a batch of its own', () => {
    const big = s365User({ extensionAttributes: { extensionAttribute1: 'x'.repeat(MiB) } });
    const batches = planBatches(SOURCE, [s365User(), big, s365User()], []);

    expect(batches.map((b) => b.entries.map((e) => e.index))).toEqual([[0], [1], [2]]);
  });

  it('plans nothing for nothing', () => {
    expect(planBatches(SOURCE, [], [])).toEqual([]);
  });
});

describe('splitBatchInHalf', () => {
  it('splits in order, the first half taking the odd item', () => {
    const [batch] = planBatches(SOURCE, s365Users(3), ['gone', 'also-gone']);
    expect(batch).toBeDefined();
    if (!batch) return;

    const [first, second] = splitBatchInHalf(batch);

    expect(first.entries.map((e) => e.index)).toEqual([0, 1, 2]);
    expect(second.entries.map((e) => e.index)).toEqual([3, 4]);
    expect(second.bytes).toBe(Buffer.byteLength(serializeBatch(second), 'utf8'));
  });

  it('refuses to split a single item', () => {
    const [batch] = planBatches(SOURCE, [s365User()], []);
    expect(() => batch && splitBatchInHalf(batch)).toThrow(RangeError);
  });
});

describe('parseRetryAfterInMs', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');

  it('reads seconds', () => {
    expect(parseRetryAfterInMs('1', now)).toBe(1000);
    expect(parseRetryAfterInMs(' 120 ', now)).toBe(120_000);
    expect(parseRetryAfterInMs('0', now)).toBe(0);
  });

  it('reads an HTTP date, and a date in the past as no wait', () => {
    expect(parseRetryAfterInMs('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfterInMs('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
  });

  it('ignores a missing or unreadable value', () => {
    expect(parseRetryAfterInMs(undefined, now)).toBeUndefined();
    expect(parseRetryAfterInMs('', now)).toBeUndefined();
    expect(parseRetryAfterInMs('soon', now)).toBeUndefined();
    expect(parseRetryAfterInMs('-5', now)).toBeUndefined();
  });
});

describe('backoffDelayInMs', () => {
  it('doubles each retry, with jitter between half and all of the step, capped', () => {
    expect([0, 1, 2, 3].map((n) => backoffDelayInMs(n, 1000, 30_000, () => 0))).toEqual([500, 1000, 2000, 4000]);
    expect([0, 1, 2, 3].map((n) => backoffDelayInMs(n, 1000, 30_000, () => 1))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffDelayInMs(10, 1000, 30_000, () => 1)).toBe(30_000);
  });
});
