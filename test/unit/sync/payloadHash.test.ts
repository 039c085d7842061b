import { describe, expect, it } from 'vitest';
import { buildUserRecord, type Signature365User } from '../../../src/sync/payload';
import { canonicalJson, payloadHash, type JsonValue } from '../../../src/sync/payloadHash';
import { directory, user } from './builders';

function userRecord(): Signature365User {
  const u = user({ id: 'u1', displayName: 'Ada', extensionAttributes: { extensionAttribute1: 'x' } });
  return buildUserRecord(u, directory([u], []), ['g1', 'g2']);
}

describe('payloadHash', () => {
  it('is a base64url SHA-256', () => {
    expect(payloadHash({ a: 1 })).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // sha256('{"a":1}'), computed with openssl dgst -sha256 -binary | base64url.
    expect(payloadHash({ a: 1 })).toBe('AVq9f1zFei3ZS3WQ8ErYCEJzkF7jPsXOvq5iJ2qX-GI');
  });

  it('does not depend on key order, at any depth', () => {
    expect(payloadHash({ b: 1, a: { d: [1, 2], c: null } })).toBe(payloadHash({ a: { c: null, d: [1, 2] }, b: 1 }));
    const record = userRecord();
    const reversed = Object.fromEntries(Object.entries(record).reverse()) as Signature365User;
    expect(payloadHash(reversed)).toBe(payloadHash(record));
  });

  it('keeps array order significant', () => {
    expect(payloadHash({ groups: ['g1', 'g2'] })).not.toBe(payloadHash({ groups: ['g2', 'g1'] }));
  });

  it('changes when any field of a user record changes', () => {
    const base = userRecord();
    const baseHash = payloadHash(base);
    const variants: JsonValue[] = [
      { ...base, displayName: 'Ada L.' },
      { ...base, jobTitle: '' },
      { ...base, accountEnabled: false },
      { ...base, businessPhones: ['1'] },
      { ...base, manager: { id: 'm', displayName: null, mail: null } },
      { ...base, mailboxType: 'shared' },
      { ...base, extensionAttributes: { extensionAttribute1: 'y' } },
      { ...base, groups: ['g1'] },
    ];
    for (const key of Object.keys(base) as (keyof Signature365User)[]) {
      // Every field, set to a value of another kind, must move the hash.
      variants.push({ ...base, [key]: key === 'id' ? 'u2' : 42 });
    }
    const hashes = new Set(variants.map(payloadHash));
    expect(hashes.size).toBe(variants.length);
    expect(hashes.has(baseHash)).toBe(false);
  });

  it('tells null from an empty string and from a missing key', () => {
    expect(payloadHash({ a: null })).not.toBe(payloadHash({ a: '' }));
    expect(payloadHash({ a: null })).not.toBe(payloadHash({}));
  });

  it('writes canonical JSON without whitespace and leaves out undefined members, as on the wire', () => {
    expect(canonicalJson({ z: 'é"', a: [true, null, 1.5], m: undefined })).toBe('{"a":[true,null,1.5],"z":"é\\""}');
  });

  it('refuses non-finite numbers rather than hashing them as null', () => {
    expect(() => payloadHash({ a: Number.NaN })).toThrow(TypeError);
  });
});
