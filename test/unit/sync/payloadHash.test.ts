import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { compareCodeUnits } from '../../../src/sync/codeUnitOrder';
import { buildUserRecord, type Signature365User } from '../../../src/sync/payload';
import { canonicalJson, payloadHash, shortHash, type JsonValue } from '../../../src/sync/payloadHash';
import { user } from './builders';

function userRecord(): Signature365User {
  const u = user({ id: 'u1', displayName: 'Ada', extensionAttributes: { extensionAttribute1: 'x' } });
  return buildUserRecord(u, null, ['g1', 'g2']);
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

describe('shortHash', () => {
  it('is the first 22 base64url characters (128 bits) of the text\'s SHA-256', () => {
    const text = '{"a":1}';
    expect(shortHash(text)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(shortHash(text)).toBe(createHash('sha256').update(text, 'utf8').digest('base64url').slice(0, 22));
    expect(shortHash(text)).toBe('AVq9f1zFei3ZS3WQ8ErYCE');
  });

  it('of a record\'s canonical JSON, starts the record\'s payloadHash', () => {
    const record = userRecord();
    expect(payloadHash(record).startsWith(shortHash(canonicalJson(record)))).toBe(true);
  });

  it('tells texts apart that differ in one character, and hashes UTF-8', () => {
    expect(shortHash('a')).not.toBe(shortHash('b'));
    expect(shortHash('é')).toBe(createHash('sha256').update(Buffer.from('c3a9', 'hex')).digest('base64url').slice(0, 22));
  });
});

describe('compareCodeUnits', () => {
  it('orders by UTF-16 code unit, not by locale: capitals before lower case, accents last', () => {
    expect(['b', 'é', 'B', 'a', 'g10', 'g2'].sort(compareCodeUnits)).toEqual(['B', 'a', 'b', 'g10', 'g2', 'é']);
    expect(compareCodeUnits('x', 'x')).toBe(0);
  });

  it('is the key order of canonical JSON', () => {
    expect(canonicalJson({ b: 1, é: 2, B: 3, a: 4 })).toBe('{"B":3,"a":4,"b":1,"é":2}');
  });
});
