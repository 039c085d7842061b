/**
 * Storage keys of source and destination names. The vendor tells administrators to name the
 * Signature365 entries "as the Signature 365 tenants" ("Contoso Ltd", "fabrikam.com"), but a name
 * becomes part of Table PartitionKeys, lock names and queue messages, where `/ \ # ?`, control
 * characters, and this project's separators `|` and `~` cannot appear. So a name is kept as
 * written for people (logs, status, mappings) and stored under a key derived from it:
 *
 * 1. A name of letters, digits, `-` and `_` (what earlier versions accepted) is its own key, so a
 *    deployment that upgrades keeps its tables.
 * 2. Any other name is normalised to Unicode NFC, and its key is a readable slug (each run of
 *    other characters becomes `_`, at most 40 characters) plus `.` and the first 12 hex digits of
 *    the SHA-256 of the normalised name: `Contoso Ltd` → `Contoso_Ltd.<12 hex>`. Rule 1 names
 *    never contain `.`, so the two kinds never meet.
 *
 * The key depends on the name alone, so it never changes for the same name. Two names with the
 * same key (the same text in two Unicode forms, or a hash collision) are refused by the config
 * (`findStorageKeyCollisions`), naming both.
 */
import { createHash } from 'node:crypto';

/** Names that are their own storage key (rule 1). */
export const PLAIN_NAME = /^[A-Za-z0-9_-]+$/;
/** Every storage key: rule 1 names, or rule 2 keys (slug, `.`, 12 hex digits). */
export const STORAGE_KEY_PATTERN = /^(?:[A-Za-z0-9_-]{1,64}|[A-Za-z0-9_-]{1,40}\.[0-9a-f]{12})$/;
/** Longest name accepted (as written); keys of rule 1 names must fit STORAGE_KEY_PATTERN. */
export const MAX_NAME_LENGTH = 64;

const SLUG_LENGTH = 40;
const HASH_DIGITS = 12;

/** The storage key of a source or destination name (see the rules above). */
export function storageKeyOf(name: string): string {
  if (PLAIN_NAME.test(name)) return name;
  const normalised = name.normalize('NFC');
  const slug = normalised.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, SLUG_LENGTH) || '_';
  const hash = createHash('sha256').update(normalised, 'utf8').digest('hex').slice(0, HASH_DIGITS);
  return `${slug}.${hash}`;
}

/** Why a name cannot be used at all (before any key is derived), or undefined. */
export function nameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'an empty name; give the entry a name, e.g. "Tenant1" or "Contoso Ltd"';
  if (name !== name.trim()) return 'the name starts or ends with a space; remove it (mappings must repeat the name exactly)';
  if (name.length > MAX_NAME_LENGTH) return `the name is longer than ${MAX_NAME_LENGTH} characters; shorten it`;
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return 'the name holds a control character (a line break or tab?); remove it';
  return undefined;
}

export interface StorageKeyCollision {
  key: string;
  names: [string, string];
}

/** Pairs of names (in the order given) that would share a storage key. */
export function findStorageKeyCollisions(names: readonly string[], keyOf: (name: string) => string = storageKeyOf): StorageKeyCollision[] {
  const firstByKey = new Map<string, string>();
  const collisions: StorageKeyCollision[] = [];
  for (const name of names) {
    const key = keyOf(name);
    const first = firstByKey.get(key);
    if (first === undefined) firstByKey.set(key, name);
    else collisions.push({ key, names: [first, name] });
  }
  return collisions;
}
