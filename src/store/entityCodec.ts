/**
 * How directory objects become Table entities and back. The layout is documented in docs/storage.md;
 * change both together and bump SCHEMA_VERSION when a stored row would be read differently.
 */
import { odata } from '@azure/data-tables';
import {
  GROUP_ATTRIBUTE_NAMES, USER_ATTRIBUTE_NAMES,
  type GroupAttributes, type MirrorGroup, type MirrorUser, type RemovalReason, type UserAttributes,
} from '../sync/directory';
import type { MailboxType } from '../signature365/contract';
import { StorageError } from './errors';
import { bucketOfId, fnv1a } from '../sync/bucketOf';

/** Written as column `v` on every row the adapters create or rewrite. */
export const SCHEMA_VERSION = 2;

/**
 * Base names; the deployment prefix is added by createTableClient. Layout 2 (docs/storage.md) lives
 * in tables of its own: the layout-1 tables (`Users`, `Groups`, `Members`, `Uploads`, `Conflicts`)
 * are no longer read and may be deleted.
 */
export const TABLE_NAMES = {
  users: 'MirrorUsers',
  groups: 'MirrorGroups',
  members: 'MirrorMembers',
  cursors: 'Cursors',
  locks: 'Locks',
  journal: 'Journal',
  ledger: 'Ledger',
  outbox: 'Outbox',
  reports: 'Reports',
  conflicts: 'ScopeConflicts',
  subscriptions: 'Subscriptions',
  pullGates: 'PullGates',
} as const;

/**
 * A string property holds at most 64 KiB of UTF-16, i.e. 32,768 code units. Longer JSON is split
 * into several columns; the margin leaves room for a surrogate pair never being cut in half.
 */
export const MAX_CHARS_PER_COLUMN = 30_000;
/** An entity holds at most 1 MiB (service limit, counted as the service does in estimateEntityBytes). */
export const MAX_ENTITY_BYTES = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Keys

// PartitionKey and RowKey may not contain / \ # ? or control characters, and are at most 1 KiB.
const FORBIDDEN_KEY_CHARACTERS = /[/\\#?\u0000-\u001f\u007f-\u009f]/;

function invalidInput(message: string): StorageError {
  return new StorageError(message, { operation: 'encode key', code: 'InvalidKey', retryable: false });
}

/** An object id, group id or lock name used as (part of) a key. */
export function assertKeyPart(value: string, what: string): void {
  if (value.length === 0 || value.length > 256 || FORBIDDEN_KEY_CHARACTERS.test(value)) {
    throw invalidInput(`Invalid ${what} "${value.slice(0, 80)}": it must be 1-256 characters without / \\ # ? or control characters.`);
  }
}

/**
 * A source name prefixes every partition key, and `|` ends it, so a source may not contain `|`
 * (source "a" would otherwise scan the rows of source "a|b") nor `~` (the end of the range).
 */
export function assertSourceName(source: string): void {
  assertKeyPart(source, 'source name');
  if (source.includes('|') || source.includes('~')) {
    throw invalidInput(`Invalid source name "${source}": it may not contain "|" or "~". Rename the source in the configuration.`);
  }
}

const HEX = '0123456789abcdef';

export { fnv1a };

/**
 * Which of 16 buckets an object falls into: the first hex digit of its object id. Entra object ids
 * are random GUIDs, so buckets fill evenly; a non-GUID id (never from Graph) is hashed instead.
 */
export function bucketOf(id: string): string {
  const first = id.charAt(0).toLowerCase();
  if (first !== '' && HEX.includes(first)) return first;
  return HEX.charAt(fnv1a(id) % 16);
}

/** Which of 256 buckets an object falls into (src/sync/bucketOf.ts). */
export const bucket256 = bucketOfId;

/**
 * Users: `<source>|<00…3f>` (the top six bits of the id's first byte), 64 partitions per source.
 * Small partitions keep a lookup cheap on every store (Azurite scans a partition to find a row:
 * inserting 100k users took 84 s with 16 partitions, 24 s with 64, 17 s with 256), and a full
 * round's batch of 6,400 users still gives each partition close to 100 rows per transaction.
 * Ids sorted are partitions sorted: a scan of the source returns users in id order.
 */
export const USER_PARTITIONS = 64;

export function userPartitionKey(source: string, id: string): string {
  return `${source}|${(Number.parseInt(bucket256(id), 16) >> 2).toString(16).padStart(2, '0')}`;
}

/** Groups and their member shards: `<source>|<hex digit>`, 16 partitions per source (a tenant has far fewer groups). */
export function groupPartitionKey(source: string, id: string): string {
  return `${source}|${bucketOf(id)}`;
}

/** Every partition of one source and nothing of another (`~` sorts after every id character). */
export function sourceRangeFilter(source: string): string {
  return odata`PartitionKey ge ${`${source}|`} and PartitionKey lt ${`${source}|~`}`;
}

// ---------------------------------------------------------------------------------------------
// Columns: each attribute is one logical column holding JSON text, so null, booleans and arrays
// survive, and a Merge upsert of some columns leaves the others alone.

/** Logical column name → JSON text. Physical columns (after chunking) come from physicalColumns. */
export type Columns = Map<string, string>;

const ARRAY_ATTRIBUTES: ReadonlySet<string> = new Set<keyof UserAttributes>(['businessPhones', 'proxyAddresses']);
const EXTENSION_COLUMN = /^ext_([A-Za-z0-9_]{1,200})$/;
const EXTENSION_HEX_COLUMN = /^extx_((?:[0-9a-f]{2}){1,100})$/;
const CHUNK_MARKER = /^#chunks:(\d{1,4})$/;

/**
 * extensionAttributes is stored one key per column so a partial update of one key keeps the others.
 * Graph's keys (extensionAttribute1..15, directory extensions extension_<appId>_<name>) are valid
 * property names as they are; any other key is hex-encoded so it still makes one.
 */
export function extensionColumn(key: string): string {
  if (/^[A-Za-z0-9_]{1,200}$/.test(key)) return `ext_${key}`;
  const hex = Buffer.from(key, 'utf8').toString('hex');
  if (hex.length > 200) {
    throw new StorageError(`Extension attribute key "${key.slice(0, 40)}..." is too long to store.`, {
      operation: 'encode user', code: 'InvalidPropertyName', retryable: false,
    });
  }
  return `extx_${hex}`;
}

function extensionKeyOf(column: string): string | undefined {
  const plain = EXTENSION_COLUMN.exec(column);
  if (plain?.[1] !== undefined) return plain[1];
  const hex = EXTENSION_HEX_COLUMN.exec(column);
  if (hex?.[1] !== undefined) return Buffer.from(hex[1], 'hex').toString('utf8');
  return undefined;
}

/** What a missing logical column means: an empty list for list attributes, otherwise null. */
export function defaultColumnValue(column: string): string {
  return ARRAY_ATTRIBUTES.has(column) ? '[]' : 'null';
}

/** The logical columns for exactly the attributes present in a (partial) user update. */
export function userAttributeColumns(attributes: Partial<UserAttributes>): Columns {
  const columns: Columns = new Map();
  for (const name of USER_ATTRIBUTE_NAMES) {
    if (!Object.hasOwn(attributes, name)) continue;
    if (name === 'extensionAttributes') {
      for (const [key, value] of Object.entries(attributes.extensionAttributes ?? {})) {
        columns.set(extensionColumn(key), JSON.stringify(value ?? null));
      }
      continue;
    }
    const value = attributes[name];
    if (value !== undefined) columns.set(name, JSON.stringify(value));
  }
  return columns;
}

export function groupAttributeColumns(attributes: Partial<GroupAttributes>): Columns {
  const columns: Columns = new Map();
  for (const name of GROUP_ATTRIBUTE_NAMES) {
    const value = attributes[name];
    if (Object.hasOwn(attributes, name) && value !== undefined) columns.set(name, JSON.stringify(value));
  }
  return columns;
}

/** JSON text of one logical column as stored (chunks joined), or undefined when absent. */
export function readColumn(entity: Readonly<Record<string, unknown>>, column: string): string | undefined {
  const stored = entity[column];
  if (typeof stored !== 'string') return undefined;
  const marker = CHUNK_MARKER.exec(stored);
  if (marker?.[1] === undefined) return stored;
  const parts: string[] = [];
  for (let i = 1; i <= Number(marker[1]); i += 1) {
    const part = entity[`${column}__${i}`];
    if (typeof part !== 'string') return undefined;
    parts.push(part);
  }
  return parts.join('');
}

/** The logical attribute columns (and extension columns) stored on a user or group row. */
export function readAttributeColumns(entity: Readonly<Record<string, unknown>>, names: readonly string[]): Columns {
  const columns: Columns = new Map();
  for (const name of [...names, ...Object.keys(entity).filter((key) => extensionKeyOf(key) !== undefined)]) {
    const value = readColumn(entity, name);
    if (value !== undefined) columns.set(name, value);
  }
  return columns;
}

function splitForColumns(text: string): string[] {
  const parts: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + MAX_CHARS_PER_COLUMN, text.length);
    // Never cut between the halves of a surrogate pair: each column must be valid UTF-16 on its own.
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    parts.push(text.slice(start, end));
    start = end;
  }
  return parts;
}

/**
 * The physical properties for some logical columns. A value longer than one string property is
 * stored as `#chunks:N` in its column plus columns `<name>__1..N`; JSON never starts with `#`,
 * so the marker cannot be mistaken for a value. Chunk columns left over from an earlier, longer
 * value are ignored because the marker says how many to read.
 */
export function physicalColumns(columns: Columns): Record<string, string> {
  const properties: Record<string, string> = {};
  for (const [name, json] of columns) {
    if (json.length <= MAX_CHARS_PER_COLUMN) {
      properties[name] = json;
      continue;
    }
    const parts = splitForColumns(json);
    properties[name] = `#chunks:${parts.length}`;
    parts.forEach((part, index) => { properties[`${name}__${index + 1}`] = part; });
  }
  return properties;
}

/** Encodes one JSON-able value as a column (chunked when long), for rows outside the mirror. */
export function jsonColumn(name: string, value: unknown): Record<string, string> {
  return physicalColumns(new Map([[name, JSON.stringify(value ?? null)]]));
}

/** Parses one JSON column written by jsonColumn; undefined when missing or unreadable. */
export function readJsonColumn(entity: Readonly<Record<string, unknown>>, name: string): unknown {
  const text = readColumn(entity, name);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Size as the service counts it: 4 bytes + 2 per key character + per property 8 bytes,
 * 2 per name character and the value (strings 4 + 2 per character, numbers/booleans 8).
 */
export function estimateEntityBytes(entity: Readonly<Record<string, unknown>>): number {
  let bytes = 4;
  for (const [name, value] of Object.entries(entity)) {
    if (name === 'partitionKey' || name === 'rowKey') {
      bytes += typeof value === 'string' ? value.length * 2 : 0;
      continue;
    }
    bytes += 8 + name.length * 2 + (typeof value === 'string' ? 4 + value.length * 2 : 8);
  }
  return bytes;
}

/** Refuses an entity the service would reject, naming the object so the failure can be traced. */
export function assertEntityFits(entity: Readonly<Record<string, unknown>>, what: string): void {
  const bytes = estimateEntityBytes(entity);
  if (bytes > MAX_ENTITY_BYTES) {
    throw new StorageError(
      `${what} is about ${Math.ceil(bytes / 1024)} KiB, over the 1 MiB Table storage entity limit; it cannot be mirrored.`,
      { operation: 'encode entity', code: 'EntityTooLarge', retryable: false },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Lifecycle columns

/** Column names shared by the Users, Groups and Members rows. */
export const COLUMN = {
  version: 'v',
  removedReason: 'removedReason',
  removedAt: 'removedAt',
} as const;

export type StoredRemovalReason = RemovalReason | 'missingFromFullRound';

function stringColumn(entity: Readonly<Record<string, unknown>>, name: string): string {
  const value = entity[name];
  return typeof value === 'string' ? value : '';
}

export function removedReasonOf(entity: Readonly<Record<string, unknown>>): StoredRemovalReason | null {
  const reason = stringColumn(entity, COLUMN.removedReason);
  return reason === 'changed' || reason === 'deleted' || reason === 'missingFromFullRound' ? reason : null;
}

export function removedAtOf(entity: Readonly<Record<string, unknown>>): string {
  return stringColumn(entity, COLUMN.removedAt);
}

function removalOf(entity: Readonly<Record<string, unknown>>): MirrorUser['removed'] {
  const reason = removedReasonOf(entity);
  return reason === null ? null : { reason, at: removedAtOf(entity) };
}

// ---------------------------------------------------------------------------------------------
// Decoding: every attribute present; a missing or unreadable column reads as its default.

function parsed(entity: Readonly<Record<string, unknown>>, column: string): unknown {
  return readJsonColumn(entity, column);
}

function text(entity: Readonly<Record<string, unknown>>, column: string): string | null {
  const value = parsed(entity, column);
  return typeof value === 'string' ? value : null;
}

function textList(entity: Readonly<Record<string, unknown>>, column: string): string[] {
  const value = parsed(entity, column);
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function flag(entity: Readonly<Record<string, unknown>>, column: string): boolean | null {
  const value = parsed(entity, column);
  return typeof value === 'boolean' ? value : null;
}

/** Absent keys mean null, so null-valued keys are left out: the same user always reads the same. */
function extensionAttributes(entity: Readonly<Record<string, unknown>>): Record<string, string | null> {
  const result: Record<string, string | null> = {};
  for (const column of Object.keys(entity).sort()) {
    const key = extensionKeyOf(column);
    if (key === undefined) continue;
    const value = parsed(entity, column);
    if (typeof value === 'string') result[key] = value;
  }
  return result;
}

const MAILBOX_TYPES: ReadonlySet<string> = new Set<MailboxType>(['user', 'shared', 'room', 'equipment', 'unknown']);

/** Column `mailboxType` (JSON text), written only by the plan's lazy read; absent: never read. */
export const MAILBOX_TYPE_COLUMN = 'mailboxType';

function mailboxTypeOf(entity: Readonly<Record<string, unknown>>): MailboxType | null {
  const value = parsed(entity, MAILBOX_TYPE_COLUMN);
  return typeof value === 'string' && MAILBOX_TYPES.has(value) ? (value as MailboxType) : null;
}

export function decodeUser(entity: Readonly<Record<string, unknown>>): MirrorUser {
  return {
    id: stringColumn(entity, 'rowKey'),
    userPrincipalName: text(entity, 'userPrincipalName'),
    mail: text(entity, 'mail'),
    displayName: text(entity, 'displayName'),
    givenName: text(entity, 'givenName'),
    surname: text(entity, 'surname'),
    jobTitle: text(entity, 'jobTitle'),
    department: text(entity, 'department'),
    companyName: text(entity, 'companyName'),
    officeLocation: text(entity, 'officeLocation'),
    streetAddress: text(entity, 'streetAddress'),
    city: text(entity, 'city'),
    state: text(entity, 'state'),
    postalCode: text(entity, 'postalCode'),
    country: text(entity, 'country'),
    businessPhones: textList(entity, 'businessPhones'),
    mobilePhone: text(entity, 'mobilePhone'),
    faxNumber: text(entity, 'faxNumber'),
    employeeId: text(entity, 'employeeId'),
    accountEnabled: flag(entity, 'accountEnabled'),
    userType: text(entity, 'userType'),
    proxyAddresses: textList(entity, 'proxyAddresses'),
    extensionAttributes: extensionAttributes(entity),
    managerId: text(entity, 'managerId'),
    licensed: flag(entity, 'licensed'),
    mailboxType: mailboxTypeOf(entity),
    removed: removalOf(entity),
  };
}

export function decodeGroup(entity: Readonly<Record<string, unknown>>): MirrorGroup {
  return {
    id: stringColumn(entity, 'rowKey'),
    displayName: text(entity, 'displayName'),
    mail: text(entity, 'mail'),
    description: text(entity, 'description'),
    removed: removalOf(entity),
  };
}
