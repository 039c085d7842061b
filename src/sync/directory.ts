/**
 * The directory model the core works with: what a delta round reports and what the mirror holds.
 * Graph-specific parsing lives in src/graph; storage encoding lives in src/store.
 */
import type { MailboxType } from '../signature365/contract';

/** Entra user attributes the connector mirrors (the Signature 365 User record, less derived fields). */
export interface UserAttributes {
  userPrincipalName: string | null;
  mail: string | null;
  displayName: string | null;
  givenName: string | null;
  surname: string | null;
  jobTitle: string | null;
  department: string | null;
  companyName: string | null;
  officeLocation: string | null;
  streetAddress: string | null;
  city: string | null;
  state: string | null;
  postalCode: string | null;
  country: string | null;
  businessPhones: string[];
  mobilePhone: string | null;
  faxNumber: string | null;
  employeeId: string | null;
  accountEnabled: boolean | null;
  userType: string | null;
  proxyAddresses: string[];
  /** onPremisesExtensionAttributes.extensionAttribute1..15; absent keys mean null. */
  extensionAttributes: Record<string, string | null>;
  /** Object id of the manager, or null when none. */
  managerId: string | null;
  /**
   * Whether assignedLicenses is non-empty (the licenses themselves are not kept: scope needs only
   * this). null until a round has read it: rows mirrored before it was selected, until the next full round.
   */
  licensed: boolean | null;
}

export const USER_ATTRIBUTE_NAMES = [
  'userPrincipalName', 'mail', 'displayName', 'givenName', 'surname', 'jobTitle', 'department',
  'companyName', 'officeLocation', 'streetAddress', 'city', 'state', 'postalCode', 'country',
  'businessPhones', 'mobilePhone', 'faxNumber', 'employeeId', 'accountEnabled', 'userType',
  'proxyAddresses', 'extensionAttributes', 'managerId', 'licensed',
] as const satisfies readonly (keyof UserAttributes)[];

export interface GroupAttributes {
  displayName: string | null;
  mail: string | null;
  description: string | null;
}

export const GROUP_ATTRIBUTE_NAMES = ['displayName', 'mail', 'description'] as const satisfies readonly (keyof GroupAttributes)[];

/** Why Graph reported an object as removed: `changed` = soft-deleted (restorable for 30 days), `deleted` = gone. */
export type RemovalReason = 'changed' | 'deleted';

export type MemberType = 'user' | 'group' | 'other';

/**
 * One entry of a delta page for users. An update may carry only the properties that changed:
 * `attributes` holds exactly the properties present in the page, to be merged, never replaced.
 */
export type UserChange =
  | { kind: 'upsert'; id: string; attributes: Partial<UserAttributes> }
  | { kind: 'removed'; id: string; reason: RemovalReason };

/** A change to one direct membership edge (members@delta). */
export interface MemberChange {
  memberId: string;
  memberType: MemberType;
  removed: boolean;
}

/**
 * One entry of a delta page for groups. The same group may appear on several pages,
 * each carrying a slice of its members@delta.
 */
export type GroupChange =
  | { kind: 'upsert'; id: string; attributes: Partial<GroupAttributes>; members: MemberChange[] }
  | { kind: 'removed'; id: string; reason: RemovalReason };

/** One page of a delta round. Exactly one of nextLink / deltaLink is set on a well-formed page. */
export interface DeltaPage<TChange> {
  changes: TChange[];
  nextLink?: string;
  deltaLink?: string;
}

export type DirectoryKind = 'users' | 'groups';

/** A user as the mirror holds it: merged attributes plus lifecycle. */
export interface MirrorUser extends UserAttributes {
  id: string;
  /**
   * mailboxSettings/userPurpose as the record sends it, read lazily by the plan (not through
   * delta, so not a UserAttribute: a round never writes or compares it); null until read.
   */
  mailboxType: MailboxType | null;
  /** Set when Graph reported the user removed, or a full round did not see it. */
  removed: { reason: RemovalReason | 'missingFromFullRound'; at: string } | null;
}

export interface MirrorGroup extends GroupAttributes {
  id: string;
  removed: { reason: RemovalReason | 'missingFromFullRound'; at: string } | null;
}

export interface MembershipEdge {
  groupId: string;
  memberId: string;
  memberType: MemberType;
}

/**
 * What a pull changed among users, as the planner needs it (recorded in the change journal).
 * Every id appears once per report.
 */
export interface UserChangeReport {
  /** Users whose row changed: an attribute, a removal or a restore. */
  changed: string[];
  /**
   * The subset whose change reaches their reports' records: displayName or mail changed, or the user
   * was removed or restored (a report's record carries its manager's name and mail).
   */
  identityChanged: string[];
  /** Users whose manager changed: [userId, previous managerId or null, new managerId or null]. */
  managerMoves: [string, string | null, string | null][];
}

/** What a pull changed among groups and direct memberships (recorded in the change journal). */
export interface GroupChangeReport {
  /** Groups whose attributes changed (their own record changes). */
  changed: string[];
  /** Groups removed or restored: scope below them may change. */
  lifecycle: string[];
  /** Direct membership changes: [groupId, memberId, memberType, 1 added or 0 removed]. */
  members: [string, string, MemberType, 0 | 1][];
}

export function emptyUserChangeReport(): UserChangeReport {
  return { changed: [], identityChanged: [], managerMoves: [] };
}

export function emptyGroupChangeReport(): GroupChangeReport {
  return { changed: [], lifecycle: [], members: [] };
}
