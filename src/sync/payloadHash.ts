/**
 * The project's one hashing function: what the destination acknowledged is remembered by hash,
 * and a record whose hash has not changed is not sent again.
 */
import { createHash } from 'node:crypto';
import { compareCodeUnits } from './codeUnitOrder';

export type JsonValue =
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue | undefined };

/**
 * SHA-256 of the record's canonical JSON, base64url (43 characters). Canonical: object keys sorted
 * by code unit at every depth, arrays kept in their order (so a builder sorts lists whose order
 * carries no meaning, such as User.groups), no whitespace. Otherwise it is JSON.stringify's text:
 * properties whose value is undefined are left out, as they would be on the wire.
 */
export function payloadHash(record: JsonValue): string {
  return createHash('sha256').update(canonicalJson(record), 'utf8').digest('base64url');
}

/**
 * The first 128 bits of SHA-256 (22 base64url characters) of a text: what the ledger keeps per
 * object, half the size of a full hash, with no practical chance of two records colliding.
 */
export function shortHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64url').slice(0, 22);
}

export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      // JSON.stringify would write null, silently hashing NaN and Infinity alike.
      throw new TypeError(`Cannot hash the non-finite number ${value}.`);
    }
    return JSON.stringify(value);
  }
  if (isArray(value)) {
    return `[${value.map(canonicalJson).join(',')}]`;
  }
  const parts: string[] = [];
  for (const key of Object.keys(value).sort(compareCodeUnits)) {
    const member = value[key];
    if (member !== undefined) parts.push(`${JSON.stringify(key)}:${canonicalJson(member)}`);
  }
  return `{${parts.join(',')}}`;
}

// Array.isArray does not narrow readonly arrays out of a union.
function isArray(value: JsonValue): value is readonly JsonValue[] {
  return Array.isArray(value);
}
