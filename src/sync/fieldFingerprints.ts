/**
 * Which fields of a record changed, without keeping any value: the audit trail names the fields a
 * write changed and `explain` names the fields that differ from what the destination acknowledged,
 * and neither may store names, phones or addresses a second time.
 *
 * A fingerprint is a short text kept on the ledger entry (`fp`): two characters that identify the
 * record's field list, then three base64url characters (18 bits of SHA-256) per field in code-unit
 * order of the field names. A field whose three characters match is taken as unchanged: one change
 * in 262,144 is missed, which costs a name in an audit row, never a send (whether to send is decided
 * by the whole-record hash). A user record's fingerprint is 77 characters.
 */
import { createHash } from 'node:crypto';
import { compareCodeUnits } from './codeUnitOrder';
import { canonicalJson, type JsonValue } from './payloadHash';

const CHARS_PER_FIELD = 3;
const LAYOUT_CHARS = 2;

function digest(text: string, length: number): string {
  return createHash('sha256').update(text, 'utf8').digest('base64url').slice(0, length);
}

function fieldNames(record: { readonly [key: string]: JsonValue | undefined }): string[] {
  return Object.keys(record).filter((key) => record[key] !== undefined).sort(compareCodeUnits);
}

/** The fingerprint of a record (a User or Group record as sent). */
export function fieldFingerprints(record: { readonly [key: string]: JsonValue | undefined }): string {
  const names = fieldNames(record);
  let text = digest(names.join('\u0000'), LAYOUT_CHARS);
  for (const name of names) text += digest(canonicalJson(record[name] ?? null), CHARS_PER_FIELD);
  return text;
}

/**
 * The names of the fields of `record` that differ from the record `previous` was taken of, in
 * code-unit order. `null` when that cannot be told: no previous fingerprint (the destination holds
 * a record sent before fingerprints were kept, or nothing), or a record with another field list.
 */
export function changedFieldNames(previous: string | undefined, record: { readonly [key: string]: JsonValue | undefined }): string[] | null {
  if (previous === undefined || previous.length === 0) return null;
  const current = fieldFingerprints(record);
  if (current.length !== previous.length || current.slice(0, LAYOUT_CHARS) !== previous.slice(0, LAYOUT_CHARS)) return null;
  const names = fieldNames(record);
  const changed: string[] = [];
  names.forEach((name, index) => {
    const at = LAYOUT_CHARS + index * CHARS_PER_FIELD;
    if (current.slice(at, at + CHARS_PER_FIELD) !== previous.slice(at, at + CHARS_PER_FIELD)) changed.push(name);
  });
  return changed;
}
