/**
 * What each Signature 365 tenant should hold, worked out straight from the fake Entra tenant and
 * the raw config.json mappings, with none of the product's scope code. Kept deliberately plain
 * (walks and sets, no indexes) so that an agreement with the product means two independent
 * readings of the rules agree:
 * - LimitToGroups: live users under the groups, at any depth (cycles end); empty = every live user
 *   and every live group;
 * - filters (disabled, guest, no mail, no license under LicensedUsersOnly, the mapping's Filter)
 *   apply to those candidates; Include adds users by id, UPN or mail bypassing the filters; Exclude (id, UPN, mail, or a group and everything under it) beats all;
 * - mappings to one destination are unioned; under OnConflict FirstMapping a user goes only to the
 *   destination of the first mapping (file order) that holds them;
 * - a user's `groups` are the destination's groups that contain them, transitively.
 */
import type { FakeTenant, FakeUser } from '../fakes/graph';

export interface RawMapping {
  From: string;
  To: string;
  LimitToGroups?: string[];
  Include?: string[];
  Exclude?: string[];
  Filter?: string;
}

export interface RawOptions {
  IncludeDisabledUsers?: boolean;
  IncludeGuests?: boolean;
  RequireMail?: boolean;
  LicensedUsersOnly?: boolean;
  OnConflict?: 'All' | 'FirstMapping';
  DeleteAfterDays?: number;
  DeleteThreshold?: number | string;
}

export interface ExpectedDestination {
  /** User id → its groups at this destination, sorted. */
  users: Map<string, string[]>;
  groups: Set<string>;
}

/** The group and every live group nested under it, once each (a cycle ends the walk). */
function groupsUnder(tenant: FakeTenant, roots: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const stack = [...roots];
  for (let steps = 0; stack.length > 0 && steps < 1_000_000; steps += 1) {
    const id = stack.pop();
    if (id === undefined || seen.has(id) || tenant.groupState(id) !== 'active') continue;
    seen.add(id);
    for (const member of tenant.activeMembersOf(id)) if (member.kind === 'group') stack.push(member.id);
  }
  return seen;
}

function directUsersOf(tenant: FakeTenant, groups: Iterable<string>): Set<string> {
  const users = new Set<string>();
  for (const groupId of groups) {
    for (const member of tenant.activeMembersOf(groupId)) if (member.kind === 'user') users.add(member.id);
  }
  return users;
}

function names(user: FakeUser, entry: string): boolean {
  const wanted = entry.trim().toLowerCase();
  return [user.id, user.userPrincipalName, user.mail].some((value) => value !== null && value.toLowerCase() === wanted);
}

/**
 * The mapping Filter, read a different way from the product's recursive-descent parser: the text
 * is cut into tokens by one regular expression, each comparison is evaluated on the spot to a
 * boolean, and what remains (booleans, not, and, or, parentheses) is reduced by a shunting-yard
 * pass. Text compares case-insensitively; null and '' both mean "unset".
 */
export function filterHolds(filter: string, user: FakeUser): boolean {
  const tokens = [...filter.matchAll(/\s*('(?:[^']|'')*'|[(),]|[A-Za-z_][A-Za-z0-9_]*)/gy)].map((m) => m[1] ?? '');
  const valueOf = (name: string): string | boolean | null => {
    const lower = name.toLowerCase();
    if (lower === 'accountenabled') return user.accountEnabled;
    const ext = Object.keys(user.onPremisesExtensionAttributes).find((key) => key.toLowerCase() === lower);
    const key = Object.keys(user).find((k) => k.toLowerCase() === lower);
    const raw = ext !== undefined ? user.onPremisesExtensionAttributes[ext] : key === undefined ? undefined : (user as unknown as Record<string, unknown>)[key];
    if (raw === undefined) throw new Error(`filterHolds: unknown attribute ${name}`);
    return raw === '' || raw === null ? null : (raw as string | boolean);
  };
  const literal = (token: string): string | boolean | null => {
    if (token.startsWith("'")) return token.slice(1, -1).replaceAll("''", "'");
    const word = token.toLowerCase();
    if (word === 'null') return null;
    if (word === 'true' || word === 'false') return word === 'true';
    throw new Error(`filterHolds: not a literal: ${token}`);
  };
  const same = (a: string | boolean | null, b: string | boolean | null) =>
    typeof a === 'string' && typeof b === 'string' ? a.toLowerCase() === b.toLowerCase() : a === b;
  // Pass 1: replace each comparison by its truth value.
  const reduced: (boolean | string)[] = [];
  for (let i = 0; i < tokens.length; ) {
    const word = (tokens[i] ?? '').toLowerCase();
    const next = (tokens[i + 1] ?? '').toLowerCase();
    if ((word === 'startswith' || word === 'endswith') && next === '(') {
      const actual = valueOf(tokens[i + 2] ?? '');
      const part = String(literal(tokens[i + 4] ?? '')).toLowerCase();
      const text = typeof actual === 'string' ? actual.toLowerCase() : null;
      reduced.push(text !== null && (word === 'startswith' ? text.startsWith(part) : text.endsWith(part)));
      i += 6;
    } else if (next === 'eq' || next === 'ne') {
      const holds = same(valueOf(tokens[i] ?? ''), literal(tokens[i + 2] ?? ''));
      reduced.push(next === 'eq' ? holds : !holds);
      i += 3;
    } else if (next === 'in') {
      const actual = valueOf(tokens[i] ?? '');
      let j = i + 3;
      let holds = false;
      for (; tokens[j - 1] !== ')'; j += 2) holds = same(actual, literal(tokens[j] ?? '')) || holds;
      reduced.push(holds);
      i = j;
    } else {
      reduced.push(word);
      i += 1;
    }
  }
  // Pass 2: shunting-yard over not (3), and (2), or (1) and parentheses.
  const rank: Record<string, number> = { not: 3, and: 2, or: 1 };
  const values: boolean[] = [];
  const operators: string[] = [];
  const apply = (operator: string) => {
    if (operator === 'not') values.push(!values.pop());
    else {
      const right = values.pop() ?? false;
      const left = values.pop() ?? false;
      values.push(operator === 'and' ? left && right : left || right);
    }
  };
  for (const token of reduced) {
    if (typeof token === 'boolean') values.push(token);
    else if (token === '(') operators.push(token);
    else if (token === ')') {
      while (operators.length > 0 && operators[operators.length - 1] !== '(') apply(operators.pop() ?? '');
      operators.pop();
    } else {
      const mine = rank[token] ?? 0;
      // not is right-associative (it waits for its operand); and / or are left-associative.
      while (token !== 'not' && operators.length > 0 && (rank[operators[operators.length - 1] ?? ''] ?? 0) >= mine) apply(operators.pop() ?? '');
      operators.push(token);
    }
  }
  while (operators.length > 0) apply(operators.pop() ?? '');
  return values[0] ?? false;
}

interface MappingResult {
  destination: string;
  users: Set<string>;
  groups: Set<string>;
}

function resolveMapping(tenant: FakeTenant, mapping: RawMapping, options: RawOptions): MappingResult {
  const live = tenant.activeUsers();
  const limit = mapping.LimitToGroups ?? [];
  const exclude = mapping.Exclude ?? [];
  const include = mapping.Include ?? [];

  const excludedGroups = groupsUnder(tenant, exclude.map((e) => e.toLowerCase()).filter((e) => tenant.groupState(e) === 'active'));
  const excludedUsers = directUsersOf(tenant, excludedGroups);
  for (const user of live) if (exclude.some((entry) => names(user, entry))) excludedUsers.add(user.id);

  const wholeSource = limit.length === 0;
  const groups = wholeSource ? new Set(tenant.activeGroups().map((g) => g.id)) : groupsUnder(tenant, limit.map((g) => g.toLowerCase()));
  for (const id of excludedGroups) groups.delete(id);

  const candidates = wholeSource ? new Set(live.map((u) => u.id)) : directUsersOf(tenant, groups);
  const passes = (user: FakeUser) =>
    (options.IncludeDisabledUsers === true || user.accountEnabled) &&
    (options.IncludeGuests === true || user.userType.toLowerCase() !== 'guest') &&
    (options.RequireMail === false || (user.mail ?? '').trim() !== '') &&
    (options.LicensedUsersOnly !== true || user.assignedLicenses.length > 0) &&
    (mapping.Filter === undefined || filterHolds(mapping.Filter, user));

  const users = new Set<string>();
  for (const user of live) {
    if (excludedUsers.has(user.id)) continue;
    const included = include.some((entry) => names(user, entry));
    if (included || (candidates.has(user.id) && passes(user))) users.add(user.id);
  }
  return { destination: mapping.To.replace(/^Signature365:/i, ''), users, groups };
}

export function expectedDestinations(tenant: FakeTenant, mappings: readonly RawMapping[], options: RawOptions = {}): Map<string, ExpectedDestination> {
  const results = mappings.map((mapping) => resolveMapping(tenant, mapping, options));
  const out = new Map<string, ExpectedDestination>();
  const groupSets = new Map<string, Set<string>>();
  for (const result of results) {
    if (!out.has(result.destination)) out.set(result.destination, { users: new Map(), groups: new Set() });
    for (const id of result.groups) out.get(result.destination)?.groups.add(id);
  }
  const allUsers = new Set(results.flatMap((r) => [...r.users]));
  for (const userId of allUsers) {
    const holding = results.filter((r) => r.users.has(userId));
    const first = holding[0]?.destination;
    for (const result of holding) {
      if (options.OnConflict === 'FirstMapping' && result.destination !== first) continue;
      const destination = out.get(result.destination);
      if (destination === undefined) continue;
      const groups = new Set(destination.users.get(userId) ?? []);
      for (const groupId of result.groups) {
        let members = groupSets.get(groupId);
        if (members === undefined) {
          members = directUsersOf(tenant, groupsUnder(tenant, [groupId]));
          groupSets.set(groupId, members);
        }
        if (members.has(userId)) groups.add(groupId);
      }
      destination.users.set(userId, [...groups].sort());
    }
  }
  return out;
}

/** The manager as a user record at the destination should show it (the contract's `manager`). */
export function expectedManager(tenant: FakeTenant, userId: string): { id: string; displayName: string | null; mail: string | null } | null {
  const managerId = tenant.getUser(userId)?.managerId ?? null;
  if (managerId === null || tenant.userState(managerId) !== 'active') return null;
  const manager = tenant.getUser(managerId);
  return manager === undefined ? null : { id: manager.id, displayName: manager.displayName, mail: manager.mail };
}
