/**
 * The records sent to Signature 365, built from the mirror exactly as the contract
 * (docs/signature365-contract.md) defines them: every field present, an absent
 * value null and an absent list [], so an upsert fully replaces what the destination held.
 *
 * The record types live with the wire contract (src/signature365/contract.ts); they are `type`
 * aliases there so they are assignable to JsonValue, which is what payloadHash takes.
 */
import type { MirrorGroup, MirrorUser } from './directory';
import { compareCodeUnits } from './codeUnitOrder';
import { canonicalJson, shortHash } from './payloadHash';

export type { MailboxType, Signature365Group, Signature365Manager, Signature365User } from '../signature365/contract';
import type { Signature365Group, Signature365Manager, Signature365User } from '../signature365/contract';

/** The manager as a record carries it: resolved from the manager's own mirror row, or null. */
export function managerPart(manager: Pick<MirrorUser, 'id' | 'displayName' | 'mail' | 'removed'> | undefined): Signature365Manager | null {
  if (manager === undefined || manager.removed !== null) return null;
  return { id: manager.id, displayName: manager.displayName, mail: manager.mail };
}

/** A User record without `manager` and `groups`: what depends on the user's own attributes only. */
export type Signature365UserBase = Omit<Signature365User, 'manager' | 'groups'>;

/**
 * The User record for one destination. Deliberate choices:
 * - `manager` is the manager's name and mail whether or not the manager is in this mapping's scope
 *   (a signature shows the manager's name either way); an unknown or removed manager is null.
 *   A manager's rename therefore changes the record of every report, which is what re-sends them.
 * - `mailboxType` is the mailbox's purpose as the plan last read it (mailboxTypes.ts), "unknown"
 *   until read, without the MailboxSettings.Read permission, or for a user without a mailbox.
 * - `extensionAttributes` keeps only keys with a string value, in key order: the contract wants
 *   null for absent values, and an absent attribute is best said by leaving its key out. It holds
 *   extensionAttribute1..15 and the directory extensions the source's ExtensionProperties name,
 *   under their Graph names (extension_<appId>_<name>), already text (parseDeltaPage.ts).
 * - `proxyAddresses` is sorted: Graph promises no order and the primary address is marked by its
 *   upper-case "SMTP:" prefix, not its position, so sorting only removes spurious changes.
 *   `businessPhones` keeps Graph's order, where the first is the main number.
 * - `groups` is sorted, so the same membership always hashes the same.
 */
export function buildUserRecord(user: MirrorUser, manager: Signature365Manager | null, groupIds: Iterable<string>): Signature365User {
  const { mailboxType, extensionAttributes, ...leading } = buildUserBase(user);
  return { ...leading, manager, mailboxType, extensionAttributes, groups: [...new Set(groupIds)].sort(compareCodeUnits) };
}

export function buildUserBase(user: MirrorUser): Signature365UserBase {
  return {
    id: user.id,
    userPrincipalName: user.userPrincipalName,
    mail: user.mail,
    displayName: user.displayName,
    givenName: user.givenName,
    surname: user.surname,
    jobTitle: user.jobTitle,
    department: user.department,
    companyName: user.companyName,
    officeLocation: user.officeLocation,
    streetAddress: user.streetAddress,
    city: user.city,
    state: user.state,
    postalCode: user.postalCode,
    country: user.country,
    businessPhones: [...user.businessPhones],
    mobilePhone: user.mobilePhone,
    faxNumber: user.faxNumber,
    employeeId: user.employeeId,
    accountEnabled: user.accountEnabled,
    userType: user.userType,
    proxyAddresses: [...user.proxyAddresses].sort(compareCodeUnits),
    mailboxType: user.mailboxType ?? 'unknown',
    extensionAttributes: presentExtensionAttributes(user.extensionAttributes),
  };
}

export function buildGroupRecord(group: MirrorGroup): Signature365Group {
  return {
    id: group.id,
    displayName: group.displayName,
    mail: group.mail,
    description: group.description,
  };
}

/**
 * A user's record hash in parts: the base (the user's own attributes, canonical JSON) has a hash
 * of its own, and the record's hash is worked out from it, the manager and the groups. A plan can
 * then tell whether a record changed without holding (or rebuilding) every unchanged record.
 */
export function userBaseHash(user: MirrorUser): string {
  return shortHash(canonicalJson(buildUserBase(user)));
}

/** The hash the ledger keeps for a user's record: equal hashes, equal records. */
export function userRecordHash(baseHash: string, manager: Signature365Manager | null, groups: readonly string[]): string {
  // As the record has them: de-duplicated and sorted.
  return shortHash(`${baseHash}|${canonicalJson(manager)}|${JSON.stringify([...new Set(groups)].sort(compareCodeUnits))}`);
}

/** The record as sent, fields in the contract's order. */
export function userRecordJson(user: MirrorUser, manager: Signature365Manager | null, groups: readonly string[]): string {
  return JSON.stringify(buildUserRecord(user, manager, groups));
}

export function groupRecordJson(group: MirrorGroup): string {
  return JSON.stringify(buildGroupRecord(group));
}

export function groupRecordHash(group: MirrorGroup): string {
  return shortHash(canonicalJson(buildGroupRecord(group)));
}

function presentExtensionAttributes(attributes: Record<string, string | null>): Record<string, string> {
  // fromEntries defines own properties, so no attribute name can reach Object.prototype.
  return Object.fromEntries(
    Object.entries(attributes)
      .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
      .sort(([a], [b]) => compareCodeUnits(a, b)),
  );
}

/**
 * The ledger's hash of a User record as the destination holds it (read back by the reconcile):
 * the same parts and the same hashing as `userRecordHash`, so a record the connector sent and
 * the destination kept unchanged hashes exactly as the ledger acknowledged it.
 */
export function heldUserHashes(record: Signature365User): { hash: string; baseHash: string } {
  const { manager, groups, ...base } = record;
  const baseHash = shortHash(canonicalJson(base));
  return { hash: userRecordHash(baseHash, manager, groups), baseHash };
}

/** The ledger's hash of a Group record as the destination holds it (see `groupRecordHash`). */
export function heldGroupHash(record: Signature365Group): string {
  return shortHash(canonicalJson(record));
}
