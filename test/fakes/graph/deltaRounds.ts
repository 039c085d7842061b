/**
 * Delta rounds of the fake Graph, computed from a FakeTenant's change log the way Graph documents them:
 * - a round is fixed when it starts (its entries rendered then), so replaying a nextLink returns the same page,
 *   and changes made while a round is being paged show up in the next round;
 * - a full round lists live objects with the selected properties (null included), manager@delta / members@delta;
 * - an incremental round lists objects changed since the token: new or restored ones in full, updates with
 *   `Prefer: return=minimal` as id + the changed selected properties (otherwise all selected properties),
 *   removals as `@removed` with reason `changed` (recycle bin) or `deleted`;
 * - a group's members@delta is split into slices of `memberSliceSize`, the group repeated once per slice.
 * Tokens are opaque base64url; they expire with `expireAll()` or after `maxTokenAgeInMs`.
 */
import { randomUUID } from 'node:crypto';
import type { FakeGroup, FakeTenant, FakeUser, MemberKind } from './fakeTenant';

export type DeltaKind = 'users' | 'groups';
type Item = Record<string, unknown>;

export const USER_PROPERTIES: ReadonlySet<string> = new Set([
  'id', 'userPrincipalName', 'mail', 'displayName', 'givenName', 'surname', 'jobTitle', 'department', 'companyName',
  'officeLocation', 'streetAddress', 'city', 'state', 'postalCode', 'country', 'businessPhones', 'mobilePhone',
  'faxNumber', 'employeeId', 'accountEnabled', 'userType', 'proxyAddresses', 'onPremisesExtensionAttributes', 'assignedLicenses', 'manager',
]);
export const GROUP_PROPERTIES: ReadonlySet<string> = new Set(['id', 'displayName', 'mail', 'description', 'members']);

/** Graph's default selection when $select is absent (a subset, as the real service does). */
const DEFAULT_SELECT: Record<DeltaKind, string[]> = {
  users: ['businessPhones', 'displayName', 'givenName', 'jobTitle', 'mail', 'mobilePhone', 'officeLocation', 'surname', 'userPrincipalName'],
  groups: ['displayName', 'description', 'mail', 'members'],
};

interface DeltaTokenState {
  v: 1;
  k: DeltaKind;
  /** Changes up to this sequence number are covered. */
  t: number;
  sel: string[];
  e: number;
  at: number;
}

interface SkipTokenState {
  v: 1;
  s: string;
  o: number;
  n: number;
}

interface Round {
  id: string;
  kind: DeltaKind;
  items: Item[];
  endSeq: number;
  select: string[];
  epoch: number;
  createdAt: number;
  /** Fixed when the round starts, so every replay of the last page carries the same deltaLink. */
  deltaToken: string;
}

export type DeltaOutcome =
  | { type: 'page'; value: Item[]; nextSkipToken?: string; deltaToken?: string }
  | { type: 'expired' }
  | { type: 'badRequest'; code: string; message: string };

function encode(state: object): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

function decode(token: string): unknown {
  try {
    return JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

function isDeltaToken(value: unknown): value is DeltaTokenState {
  return typeof value === 'object' && value !== null && (value as DeltaTokenState).v === 1 && typeof (value as DeltaTokenState).t === 'number'
    && ((value as DeltaTokenState).k === 'users' || (value as DeltaTokenState).k === 'groups') && Array.isArray((value as DeltaTokenState).sel);
}

function isSkipToken(value: unknown): value is SkipTokenState {
  return typeof value === 'object' && value !== null && (value as SkipTokenState).v === 1 && typeof (value as SkipTokenState).s === 'string'
    && typeof (value as SkipTokenState).o === 'number' && typeof (value as SkipTokenState).n === 'number';
}

export interface DeltaRoundsOptions {
  /** members@delta entries per group entry before the group is repeated with the next slice. */
  memberSliceSize: number;
  /** Tokens older than this are rejected as expired. Default: never (until expireAll). */
  maxTokenAgeInMs?: number;
  /** Rounds kept for nextLink paging; the oldest are dropped (their links then expire). */
  maxRounds?: number;
  /**
   * A shape Graph has been seen to send: `"manager@delta": []` on a user entry whose manager did not
   * change (incremental rounds) or who has none (full rounds). An empty list is ambiguous; a manager
   * removal still comes as an @removed entry. Default false (manager@delta only when there is a manager).
   */
  emptyManagerDelta?: boolean;
}

export class DeltaRounds {
  private readonly rounds = new Map<string, Round>();
  private epoch = 0;

  constructor(
    private readonly tenant: FakeTenant,
    private readonly options: DeltaRoundsOptions,
  ) {}

  /** Every delta and skip token issued so far becomes invalid (Graph's "sync state not found"). */
  expireAll(): void {
    this.epoch += 1;
    this.rounds.clear();
  }

  /** Validates a $select list; returns the unknown property names. */
  unknownProperties(kind: DeltaKind, select: string[]): string[] {
    const known = kind === 'users' ? USER_PROPERTIES : GROUP_PROPERTIES;
    return select.filter((name) => !known.has(name) && !(kind === 'users' && this.tenant.isExtensionPropertyName(name)));
  }

  start(kind: DeltaKind, select: string[] | undefined, pageSize: number): DeltaOutcome {
    const effective = select && select.length > 0 ? select : DEFAULT_SELECT[kind];
    return this.firstPage(this.createRound(kind, effective, undefined, false), pageSize);
  }

  /** `$deltatoken=latest`: no objects, just a deltaLink from now. */
  latest(kind: DeltaKind, select: string[] | undefined): DeltaOutcome {
    const effective = select && select.length > 0 ? select : DEFAULT_SELECT[kind];
    return { type: 'page', value: [], deltaToken: this.deltaToken(kind, this.tenant.sequence, effective) };
  }

  resumeDelta(kind: DeltaKind, token: string, pageSize: number, minimal: boolean): DeltaOutcome {
    const state = decode(token);
    if (!isDeltaToken(state)) return { type: 'badRequest', code: 'Request_BadRequest', message: 'Invalid delta token.' };
    if (state.k !== kind) return { type: 'badRequest', code: 'Request_BadRequest', message: `The delta token is for ${state.k}, not ${kind}.` };
    if (this.isExpired(state.e, state.at)) return { type: 'expired' };
    return this.firstPage(this.createRound(kind, state.sel, state.t, minimal), pageSize);
  }

  resumeSkip(kind: DeltaKind, token: string): DeltaOutcome {
    const state = decode(token);
    if (!isSkipToken(state)) return { type: 'badRequest', code: 'Request_BadRequest', message: 'Invalid skip token.' };
    const round = this.rounds.get(state.s);
    if (!round || this.isExpired(round.epoch, round.createdAt)) return { type: 'expired' };
    if (round.kind !== kind) return { type: 'badRequest', code: 'Request_BadRequest', message: `The skip token is for ${round.kind}, not ${kind}.` };
    return this.page(round, state.o, state.n);
  }

  private isExpired(epoch: number, issuedAt: number): boolean {
    if (epoch !== this.epoch) return true;
    return this.options.maxTokenAgeInMs !== undefined && Date.now() - issuedAt > this.options.maxTokenAgeInMs;
  }

  private deltaToken(kind: DeltaKind, seq: number, select: string[]): string {
    const state: DeltaTokenState = { v: 1, k: kind, t: seq, sel: select, e: this.epoch, at: Date.now() };
    return encode(state);
  }

  private firstPage(round: Round, pageSize: number): DeltaOutcome {
    return this.page(round, 0, pageSize);
  }

  private page(round: Round, offset: number, pageSize: number): DeltaOutcome {
    const end = offset + pageSize;
    const value = round.items.slice(offset, end);
    if (end < round.items.length) {
      const skip: SkipTokenState = { v: 1, s: round.id, o: end, n: pageSize };
      return { type: 'page', value, nextSkipToken: encode(skip) };
    }
    return { type: 'page', value, deltaToken: round.deltaToken };
  }

  private createRound(kind: DeltaKind, select: string[], sinceSeq: number | undefined, minimal: boolean): Round {
    const endSeq = this.tenant.sequence;
    const items = kind === 'users'
      ? (sinceSeq === undefined ? this.fullUsers(select) : this.incrementalUsers(select, sinceSeq, endSeq, minimal))
      : (sinceSeq === undefined ? this.fullGroups(select) : this.incrementalGroups(select, sinceSeq, endSeq, minimal));
    const round: Round = {
      id: randomUUID(), kind, items, endSeq, select, epoch: this.epoch, createdAt: Date.now(),
      deltaToken: this.deltaToken(kind, endSeq, select),
    };
    this.rounds.set(round.id, round);
    const maxRounds = this.options.maxRounds ?? 64;
    for (const id of this.rounds.keys()) {
      if (this.rounds.size <= maxRounds) break;
      this.rounds.delete(id);
    }
    return round;
  }

  // ---- users -------------------------------------------------------------------------------------

  /**
   * `changedOnly`: the entry of a return=minimal incremental round, which says null for a directory
   * extension that lost its value; otherwise Graph leaves out an extension without a value.
   */
  private renderUser(user: FakeUser, properties: Iterable<string>, changedOnly = false): Item {
    const item: Item = {};
    for (const name of properties) {
      if (name === 'id') continue;
      if (name.startsWith('extension_')) {
        const value = user.directoryExtensions[name];
        if (value !== undefined) item[name] = Array.isArray(value) ? [...value] : value;
        else if (changedOnly) item[name] = null;
        continue;
      }
      if (name === 'manager') {
        if (user.managerId) item['manager@delta'] = [{ '@odata.type': '#microsoft.graph.user', id: user.managerId }];
        else if (this.options.emptyManagerDelta === true) item['manager@delta'] = [];
        continue;
      }
      const value = (user as unknown as Record<string, unknown>)[name];
      item[name] = Array.isArray(value) ? [...(value as unknown[])] : typeof value === 'object' && value !== null ? { ...value } : value;
    }
    item.id = user.id;
    return item;
  }

  private fullUsers(select: string[]): Item[] {
    return this.tenant.activeUsers().map((user) => this.renderUser(user, select));
  }

  private incrementalUsers(select: string[], sinceSeq: number, endSeq: number, minimal: boolean): Item[] {
    const touched = new Map<string, { whole: boolean; properties: Set<string>; managerAtStart: string | null | undefined }>();
    for (const entry of this.tenant.changesBetween(sinceSeq, endSeq)) {
      if (entry.type !== 'user') continue;
      let state = touched.get(entry.id);
      if (!state) touched.set(entry.id, (state = { whole: false, properties: new Set(), managerAtStart: undefined }));
      if (entry.op === 'created' || entry.op === 'restored') state.whole = true;
      for (const name of entry.properties ?? []) state.properties.add(name);
      if (entry.previousManagerId !== undefined && state.managerAtStart === undefined) state.managerAtStart = entry.previousManagerId;
    }
    const items: Item[] = [];
    const selected = new Set(select);
    for (const [id, state] of touched) {
      const status = this.tenant.userState(id);
      if (status === 'hardDeleted') { items.push({ id, '@removed': { reason: 'deleted' } }); continue; }
      if (status === 'softDeleted') { items.push({ id, '@removed': { reason: 'changed' } }); continue; }
      const user = this.tenant.peekUser(id);
      if (!user) continue;
      const changedSelected = [...state.properties].filter((name) => selected.has(name));
      if (state.whole || !minimal) {
        if (state.whole || changedSelected.length > 0) items.push(this.renderUser(user, select));
        continue;
      }
      if (changedSelected.length === 0) continue; // only unselected properties changed: Graph does not report the object
      const item = this.renderUser(user, changedSelected, true);
      if (changedSelected.includes('manager') && !user.managerId && state.managerAtStart) {
        item['manager@delta'] = [{ '@odata.type': '#microsoft.graph.user', id: state.managerAtStart, '@removed': { reason: 'deleted' } }];
      } else if (!changedSelected.includes('manager') && this.options.emptyManagerDelta === true) {
        item['manager@delta'] = [];
      }
      items.push(item);
    }
    return items;
  }

  // ---- groups ------------------------------------------------------------------------------------

  private renderGroupAttributes(group: FakeGroup, properties: Iterable<string>): Item {
    const item: Item = {};
    for (const name of properties) {
      if (name === 'id' || name === 'members') continue;
      item[name] = (group as unknown as Record<string, unknown>)[name];
    }
    return item;
  }

  /** One entry per slice of members@delta (at least one entry). */
  private groupEntries(group: FakeGroup, attributes: Item, members: Item[] | undefined): Item[] {
    const slice = Math.max(1, this.options.memberSliceSize);
    if (!members || members.length === 0) return [{ ...attributes, id: group.id }];
    const entries: Item[] = [];
    for (let start = 0; start < members.length; start += slice) {
      entries.push({ ...attributes, id: group.id, 'members@delta': members.slice(start, start + slice) });
    }
    return entries;
  }

  private memberEntry(id: string, kind: MemberKind, removed: boolean): Item {
    const entry: Item = { '@odata.type': kind === 'user' ? '#microsoft.graph.user' : '#microsoft.graph.group', id };
    if (removed) entry['@removed'] = { reason: 'deleted' };
    return entry;
  }

  private fullGroups(select: string[]): Item[] {
    const withMembers = select.includes('members');
    const items: Item[] = [];
    for (const group of this.tenant.activeGroups()) {
      const members = withMembers ? this.tenant.activeMembersOf(group.id).map((m) => this.memberEntry(m.id, m.kind, false)) : undefined;
      items.push(...this.groupEntries(group, this.renderGroupAttributes(group, select), members));
    }
    return items;
  }

  private incrementalGroups(select: string[], sinceSeq: number, endSeq: number, minimal: boolean): Item[] {
    const withMembers = select.includes('members');
    const touched = new Map<string, { whole: boolean; properties: Set<string>; members: Map<string, { kind: MemberKind; removed: boolean }> }>();
    const touch = (id: string) => {
      let state = touched.get(id);
      if (!state) touched.set(id, (state = { whole: false, properties: new Set(), members: new Map() }));
      return state;
    };
    for (const entry of this.tenant.changesBetween(sinceSeq, endSeq)) {
      if (entry.type === 'group') {
        const state = touch(entry.id);
        if (entry.op === 'created' || entry.op === 'restored') state.whole = true;
        for (const name of entry.properties ?? []) state.properties.add(name);
      } else if (entry.type === 'member' && withMembers) {
        // The last change of an edge within the window wins.
        const state = touch(entry.groupId);
        state.members.delete(entry.memberId);
        state.members.set(entry.memberId, { kind: entry.memberKind, removed: entry.removed });
      }
    }
    const items: Item[] = [];
    const selected = new Set(select);
    for (const [id, state] of touched) {
      const status = this.tenant.groupState(id);
      if (status === 'hardDeleted') { items.push({ id, '@removed': { reason: 'deleted' } }); continue; }
      if (status === 'softDeleted') { items.push({ id, '@removed': { reason: 'changed' } }); continue; }
      const group = this.tenant.peekGroup(id);
      if (!group) continue;
      if (state.whole) {
        const members = withMembers ? this.tenant.activeMembersOf(id).map((m) => this.memberEntry(m.id, m.kind, false)) : undefined;
        items.push(...this.groupEntries(group, this.renderGroupAttributes(group, select), members));
        continue;
      }
      const changedSelected = [...state.properties].filter((name) => selected.has(name));
      const memberChanges = [...state.members].map(([memberId, change]) => this.memberEntry(memberId, change.kind, change.removed));
      if (changedSelected.length === 0 && memberChanges.length === 0) continue;
      const attributes = this.renderGroupAttributes(group, minimal ? changedSelected : select);
      items.push(...this.groupEntries(group, attributes, memberChanges));
    }
    return items;
  }
}
