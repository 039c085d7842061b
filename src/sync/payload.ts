/**
 * The records sent to Signature 365, built from the mirror exactly as
 * shared/contracts/signature365-directory-api.md defines them: every field present, an absent
 * value null and an absent list [], so an upsert fully replaces what the destination held.
 *
 * The record types live with the wire contract (src/signature365/contract.ts); they are `type`
 * aliases there so they are assignable to JsonValue, which is what payloadHash takes.
 */
import type { MirrorGroup, MirrorUser } from './directory';
import { compareCodeUnits, type DirectoryIndex } from './directoryIndex';

export type { MailboxType, Signature365Group, Signature365Manager, Signature365User } from '../signature365/contract';
import type { Signature365Group, Signature365Manager, Signature365User } from '../signature365/contract';

/**
 * The User record for one destination. Deliberate choices:
 * - `manager` is resolved from the index whether or not the manager is in this mapping's scope
 *   (a signature shows the manager's name either way); an unknown or removed manager is null.
 *   A manager's rename therefore changes the hash of every report, which is what re-sends them.
 * - `mailboxType` is "unknown": the connector reads no mailbox data yet.
 * - `extensionAttributes` keeps only keys with a string value, in key order: the contract wants
 *   null for absent values, and an absent attribute is best said by leaving its key out.
 * - `proxyAddresses` is sorted: Graph promises no order and the primary address is marked by its
 *   upper-case "SMTP:" prefix, not its position, so sorting only removes spurious changes.
 *   `businessPhones` keeps Graph's order, where the first is the main number.
 * - `groups` is sorted, so the same membership always hashes the same.
 */
export function buildUserRecord(user: MirrorUser, index: DirectoryIndex, groupIds: Iterable<string>): Signature365User {
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
    manager: resolveManager(user, index),
    mailboxType: 'unknown',
    extensionAttributes: presentExtensionAttributes(user.extensionAttributes),
    groups: [...new Set(groupIds)].sort(compareCodeUnits),
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

function resolveManager(user: MirrorUser, index: DirectoryIndex): Signature365Manager | null {
  if (user.managerId === null) return null;
  const manager = index.users.get(user.managerId);
  if (manager === undefined) return null;
  return { id: manager.id, displayName: manager.displayName, mail: manager.mail };
}

function presentExtensionAttributes(attributes: Record<string, string | null>): Record<string, string> {
  // fromEntries defines own properties, so no attribute name can reach Object.prototype.
  return Object.fromEntries(
    Object.entries(attributes)
      .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
      .sort(([a], [b]) => compareCodeUnits(a, b)),
  );
}
