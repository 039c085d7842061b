import { describe, expect, it } from 'vitest';
import { matchesSecret, newClientState } from '../../../src/realtime/clientState';

describe('newClientState', () => {
  it('is base64url, at least 40 characters, at most the 128 Graph accepts', () => {
    const value = newClientState();
    expect(value).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(value.length).toBeGreaterThanOrEqual(40);
    expect(value.length).toBeLessThanOrEqual(128);
  });

  it('never repeats', () => {
    const values = new Set(Array.from({ length: 200 }, () => newClientState()));
    expect(values.size).toBe(200);
  });
});

describe('matchesSecret', () => {
  const secret = newClientState();

  it('is true for the same text', () => {
    expect(matchesSecret(secret, secret)).toBe(true);
    expect(matchesSecret(`${secret}`.slice(0), secret)).toBe(true);
  });

  it('is false for different text of the same length', () => {
    const flipped = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    expect(flipped).toHaveLength(secret.length);
    expect(matchesSecret(flipped, secret)).toBe(false);
  });

  it('is false for different lengths, prefixes and extensions included', () => {
    expect(matchesSecret(secret.slice(0, -1), secret)).toBe(false);
    expect(matchesSecret(`${secret}x`, secret)).toBe(false);
    expect(matchesSecret('', secret)).toBe(false);
    expect(matchesSecret('short', 'a much longer expected secret value')).toBe(false);
  });

  it('is false for anything that is not a string', () => {
    for (const received of [undefined, null, 42, {}, [secret], { toString: () => secret }, Buffer.from(secret)]) {
      expect(matchesSecret(received, secret)).toBe(false);
    }
  });

  it('compares case-sensitively and without normalising', () => {
    expect(matchesSecret('Secret-Value-123', 'secret-value-123')).toBe(false);
    expect(matchesSecret(' secret', 'secret')).toBe(false);
    // Unicode: same characters, different normal forms are different secrets.
    expect(matchesSecret('caf\u00e9', 'cafe\u0301')).toBe(false);
  });
});
