/**
 * Pure parsing of Graph delta pages (users/delta, groups/delta) into the directory model.
 * A page that is not what Graph documents throws MalformedDeltaPageError: a round must never end,
 * or lose objects, because a body was cut off or garbled.
 */
import { DIRECTORY_EXTENSION_NAME } from '../config/schema';
import type {
  DeltaPage, GroupAttributes, GroupChange, MemberChange, MemberType, RemovalReason, UserAttributes, UserChange,
} from '../sync/directory';

/** What users/delta is asked for ($select); `manager` makes Graph report manager changes as manager@delta. */
export const USER_SELECT = [
  'id', 'userPrincipalName', 'mail', 'displayName', 'givenName', 'surname', 'jobTitle', 'department',
  'companyName', 'officeLocation', 'streetAddress', 'city', 'state', 'postalCode', 'country', 'businessPhones',
  'mobilePhone', 'faxNumber', 'employeeId', 'accountEnabled', 'userType', 'proxyAddresses',
  'onPremisesExtensionAttributes', 'assignedLicenses', 'manager',
] as const;

/** What groups/delta is asked for; `members` makes Graph report membership changes as members@delta. */
export const GROUP_SELECT = ['displayName', 'mail', 'description', 'members'] as const;

export class MalformedDeltaPageError extends Error {
  override readonly name = 'MalformedDeltaPageError';
}

type Json = Record<string, unknown>;

const USER_STRING_PROPERTIES = [
  'userPrincipalName', 'mail', 'displayName', 'givenName', 'surname', 'jobTitle', 'department', 'companyName',
  'officeLocation', 'streetAddress', 'city', 'state', 'postalCode', 'country', 'mobilePhone', 'faxNumber',
  'employeeId', 'userType',
] as const satisfies readonly (keyof UserAttributes)[];

const USER_STRING_LIST_PROPERTIES = ['businessPhones', 'proxyAddresses'] as const satisfies readonly (keyof UserAttributes)[];

const GROUP_STRING_PROPERTIES = ['displayName', 'mail', 'description'] as const satisfies readonly (keyof GroupAttributes)[];

const EXTENSION_ATTRIBUTE_KEY = /^extensionAttribute([1-9]|1[0-5])$/;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function has(item: Json, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(item, key);
}

function nullableString(item: Json, key: string): string | null {
  const value = item[key];
  if (value === null || typeof value === 'string') return value;
  throw new MalformedDeltaPageError(`property ${key} is ${typeof value}, expected a string or null`);
}

function stringList(item: Json, key: string): string[] {
  const value = item[key];
  // Graph sends [] for an empty collection; null is tolerated as empty.
  if (value === null) return [];
  if (Array.isArray(value) && value.every((entry): entry is string => typeof entry === 'string')) return [...value];
  throw new MalformedDeltaPageError(`property ${key} is not a list of strings`);
}

function objectId(item: Json, where: string): string {
  const id = item.id;
  if (typeof id === 'string' && id.length > 0) return id;
  throw new MalformedDeltaPageError(`${where} has no id`);
}

/** `@removed: { reason: 'changed' | 'deleted' }`; an unknown reason is read as restorable. */
function removalReason(item: Json): RemovalReason | undefined {
  if (!has(item, '@removed')) return undefined;
  const removed = item['@removed'];
  return isObject(removed) && removed.reason === 'deleted' ? 'deleted' : 'changed';
}

/**
 * A directory extension's value as the record carries it (a string): Graph sends String, Integer,
 * LargeInteger, Boolean, DateTime (ISO text) or Binary (base64 text), or a list of them for a
 * multi-valued property. Numbers and booleans become their JSON text; a list is joined with ", "
 * (a signature shows it as one line); an empty list is no value.
 */
export function directoryExtensionValue(name: string, value: unknown): string | null {
  if (value === null || typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    const parts = value.map((entry: unknown) => {
      if (typeof entry === 'string' || typeof entry === 'number' || typeof entry === 'boolean') return String(entry);
      throw new MalformedDeltaPageError(`${name} has a value that is not a string, number or boolean`);
    });
    return parts.length === 0 ? null : parts.join(', ');
  }
  throw new MalformedDeltaPageError(`${name} is ${typeof value}, expected a string, number, boolean or a list of them`);
}

function extensionAttributes(value: unknown): Record<string, string | null> {
  if (value === null) return {};
  if (!isObject(value)) throw new MalformedDeltaPageError('onPremisesExtensionAttributes is not an object');
  const result: Record<string, string | null> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (!EXTENSION_ATTRIBUTE_KEY.test(key)) continue;
    if (entry !== null && typeof entry !== 'string') throw new MalformedDeltaPageError(`${key} is not a string or null`);
    result[key] = entry;
  }
  return result;
}

/** assignedLicenses is a list of { skuId, disabledPlans }; scope needs only whether it is empty. */
function hasLicense(value: unknown): boolean {
  if (value === null) return false;
  if (!Array.isArray(value)) throw new MalformedDeltaPageError('assignedLicenses is not a list');
  return value.length > 0;
}

/**
 * manager@delta is a list of directory objects: the current manager, and/or entries carrying @removed
 * for a manager taken away (Graph's way of reporting a removal). What it says:
 * - an entry not removed: that manager (the last one, when a replacement lists old and new);
 * - only removed entries: no manager;
 * - an empty list: nothing. Graph reports a removal with an @removed entry, so an empty list is no
 *   statement about the manager; reading it as "none" wiped managers in incremental rounds. A full
 *   round states "none" for every user it saw without a manager (roundWriter), which settles the rest.
 * `undefined` means "leave the manager as it is".
 */
function managerFromDelta(value: unknown): string | null | undefined {
  if (value === null) return null;
  if (!Array.isArray(value)) throw new MalformedDeltaPageError('manager@delta is not a list');
  if (value.length === 0) return undefined;
  let managerId: string | null = null;
  for (const entry of value) {
    if (!isObject(entry)) throw new MalformedDeltaPageError('manager@delta has an entry that is not an object');
    const id = objectId(entry, 'a manager@delta entry');
    if (removalReason(entry) === undefined) managerId = id;
  }
  return managerId;
}

export function parseUserItem(item: unknown): UserChange {
  if (!isObject(item)) throw new MalformedDeltaPageError('a users/delta entry is not an object');
  const id = objectId(item, 'a users/delta entry');
  const reason = removalReason(item);
  if (reason) return { kind: 'removed', id, reason };

  const attributes: Partial<UserAttributes> = {};
  for (const key of USER_STRING_PROPERTIES) if (has(item, key)) attributes[key] = nullableString(item, key);
  for (const key of USER_STRING_LIST_PROPERTIES) if (has(item, key)) attributes[key] = stringList(item, key);
  if (has(item, 'accountEnabled')) {
    const value = item.accountEnabled;
    if (value !== null && typeof value !== 'boolean') throw new MalformedDeltaPageError('accountEnabled is not a boolean or null');
    attributes.accountEnabled = value;
  }
  if (has(item, 'onPremisesExtensionAttributes')) {
    attributes.extensionAttributes = extensionAttributes(item.onPremisesExtensionAttributes);
  }
  // Directory extensions come as top-level properties, and only those asked for in $select. Graph
  // leaves out one without a value; return=minimal sends null for one cleared. Both mirror well:
  // an incremental round merges the keys it carries, and a full round's complete object replaces
  // the row, so a key it left out is gone.
  for (const key of Object.keys(item)) {
    if (!DIRECTORY_EXTENSION_NAME.test(key)) continue;
    attributes.extensionAttributes = { ...attributes.extensionAttributes, [key]: directoryExtensionValue(key, item[key]) };
  }
  if (has(item, 'assignedLicenses')) attributes.licensed = hasLicense(item.assignedLicenses);
  if (has(item, 'manager@delta')) {
    const managerId = managerFromDelta(item['manager@delta']);
    if (managerId !== undefined) attributes.managerId = managerId;
  }
  return { kind: 'upsert', id, attributes };
}

export function memberTypeOf(odataType: unknown): MemberType {
  if (odataType === '#microsoft.graph.user') return 'user';
  if (odataType === '#microsoft.graph.group') return 'group';
  return 'other';
}

function parseMembersDelta(value: unknown): MemberChange[] {
  if (value === null) return [];
  if (!Array.isArray(value)) throw new MalformedDeltaPageError('members@delta is not a list');
  return value.map((entry) => {
    if (!isObject(entry)) throw new MalformedDeltaPageError('members@delta has an entry that is not an object');
    return {
      memberId: objectId(entry, 'a members@delta entry'),
      memberType: memberTypeOf(entry['@odata.type']),
      removed: removalReason(entry) !== undefined,
    };
  });
}

export function parseGroupItem(item: unknown): GroupChange {
  if (!isObject(item)) throw new MalformedDeltaPageError('a groups/delta entry is not an object');
  const id = objectId(item, 'a groups/delta entry');
  const reason = removalReason(item);
  if (reason) return { kind: 'removed', id, reason };

  const attributes: Partial<GroupAttributes> = {};
  for (const key of GROUP_STRING_PROPERTIES) if (has(item, key)) attributes[key] = nullableString(item, key);
  const members = has(item, 'members@delta') ? parseMembersDelta(item['members@delta']) : [];
  return { kind: 'upsert', id, attributes, members };
}

/**
 * Parses one page body. Exactly one of @odata.nextLink / @odata.deltaLink must be present:
 * a page with neither would otherwise look like the end of a round.
 */
export function parseDeltaPage<TChange>(body: string, parseItem: (item: unknown) => TChange): DeltaPage<TChange> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new MalformedDeltaPageError(`the body is not valid JSON (${body.length} characters)`);
  }
  if (!isObject(json)) throw new MalformedDeltaPageError('the body is not a JSON object');
  const value = json.value;
  if (!Array.isArray(value)) throw new MalformedDeltaPageError('the body has no value list');
  const nextLink = nonEmptyString(json['@odata.nextLink']);
  const deltaLink = nonEmptyString(json['@odata.deltaLink']);
  if (nextLink !== undefined && deltaLink !== undefined) {
    throw new MalformedDeltaPageError('the page has both @odata.nextLink and @odata.deltaLink');
  }
  const changes = value.map(parseItem);
  if (nextLink !== undefined) return { changes, nextLink };
  if (deltaLink !== undefined) return { changes, deltaLink };
  throw new MalformedDeltaPageError('the page has neither @odata.nextLink nor @odata.deltaLink');
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
