/**
 * An in-memory Entra tenant for the fake Graph: users, groups, direct memberships, managers, and a change
 * log (every mutation appends entries with a sequence number) from which delta rounds are computed.
 * Node built-ins only: the product's `npm run demo` loads this file too.
 */

export const EXTENSION_ATTRIBUTE_NAMES = Array.from({ length: 15 }, (_, i) => `extensionAttribute${i + 1}`);

/** A value of a directory (schema) extension property, as Graph returns it. */
export type DirectoryExtensionValue = string | number | boolean | string[];

/** A directory extension property registered on an application (Graph's extensionProperty). */
export interface FakeExtensionProperty {
  id: string;
  /** extension_<appId without dashes>_<name>: how users carry it. */
  name: string;
  appDisplayName: string;
  dataType: 'String' | 'Integer' | 'LargeInteger' | 'Boolean' | 'DateTime' | 'Binary';
  isMultiValued: boolean;
  isSyncedFromOnPremises: boolean;
  targetObjects: string[];
}

export interface FakeApplication {
  /** Object id (applications/{id}). */
  id: string;
  appId: string;
  displayName: string;
  extensionProperties: FakeExtensionProperty[];
  /** Client secrets as Graph lists them: never the value, only its first three characters (`hint`). */
  passwordCredentials: { keyId: string; displayName: string | null; hint: string; startDateTime: string; endDateTime: string }[];
}

/** A domain of the tenant (Graph's domain resource, the properties the connector reads). */
export interface FakeDomain {
  id: string;
  isVerified: boolean;
  isDefault: boolean;
}

/** A user as Graph stores it (the properties the connector selects). */
export interface FakeUser {
  id: string;
  userPrincipalName: string;
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
  accountEnabled: boolean;
  userType: string;
  proxyAddresses: string[];
  /** extensionAttribute1..15, every key present (null when unset), as Graph returns the complex type. */
  onPremisesExtensionAttributes: Record<string, string | null>;
  /** Directory extension values by their extension_<appId>_<name> name; only those with a value. */
  directoryExtensions: Record<string, DirectoryExtensionValue>;
  managerId: string | null;
  /** As Graph lists them; empty for an unlicensed user. */
  assignedLicenses: { skuId: string; disabledPlans: string[] }[];
  /** mailboxSettings/userPurpose; null: the user has no mailbox (Graph answers 404). */
  mailboxPurpose: 'user' | 'linked' | 'shared' | 'room' | 'equipment' | 'others' | null;
}

export type FakeUserPatch = Partial<Omit<FakeUser, 'id' | 'managerId' | 'onPremisesExtensionAttributes' | 'directoryExtensions'>> & {
  onPremisesExtensionAttributes?: Record<string, string | null>;
  /** Registered extension names only; null clears a value. */
  directoryExtensions?: Record<string, DirectoryExtensionValue | null>;
};
export type FakeUserInput = FakeUserPatch & { id?: string; managerId?: string | null };

export interface FakeGroup {
  id: string;
  displayName: string | null;
  mail: string | null;
  description: string | null;
}
export type FakeGroupPatch = Partial<Omit<FakeGroup, 'id'>>;
export type FakeGroupInput = FakeGroupPatch & { id?: string };

export type ObjectState = 'active' | 'softDeleted';
export type MemberKind = 'user' | 'group';

/** One entry of the change log. `properties` are Graph property names (incl. `manager`). */
export type ChangeEntry =
  | { seq: number; type: 'user'; id: string; op: 'created' | 'updated' | 'softDeleted' | 'restored' | 'hardDeleted'; properties?: string[]; previousManagerId?: string | null }
  | { seq: number; type: 'group'; id: string; op: 'created' | 'updated' | 'softDeleted' | 'restored' | 'hardDeleted'; properties?: string[] }
  | { seq: number; type: 'member'; groupId: string; memberId: string; memberKind: MemberKind; removed: boolean };

type ChangeEntryInput = ChangeEntry extends infer E ? (E extends ChangeEntry ? Omit<E, 'seq'> : never) : never;

export interface GenerateOptions {
  users: number;
  groups: number;
  /** Length of the longest chain of nested groups (group in group in group ...). Default 2. */
  nestingDepth?: number;
  seed?: number;
  /** Share of users that are guests (userType Guest). Default 0.05. */
  guestShare?: number;
  /** Share of users with accountEnabled false. Default 0.03. */
  disabledShare?: number;
  /** When set, an "All Staff" group holding this share of the users (picked at random) comes first among the groups. */
  allStaffShare?: number;
}

const USER_SCALAR_KEYS = [
  'userPrincipalName', 'mail', 'displayName', 'givenName', 'surname', 'jobTitle', 'department', 'companyName',
  'officeLocation', 'streetAddress', 'city', 'state', 'postalCode', 'country', 'mobilePhone', 'faxNumber',
  'employeeId', 'accountEnabled', 'userType', 'mailboxPurpose',
] as const;
const USER_LIST_KEYS = ['businessPhones', 'proxyAddresses', 'assignedLicenses'] as const;
const GROUP_KEYS = ['displayName', 'mail', 'description'] as const;

/** The license every new fake user gets unless told otherwise (Microsoft 365 E3's sku id). */
export const DEFAULT_SKU = '05e9a617-0261-4cee-bb44-138d3ef5d965';

/** Deterministic PRNG (mulberry32) so a seed always yields the same tenant. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function guidFrom(random: () => number): string {
  const hex = (digits: number) => {
    let out = '';
    for (let i = 0; i < digits; i++) out += Math.floor(random() * 16).toString(16);
    return out;
  };
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[Math.floor(random() * 4)] ?? '8'}${hex(3)}-${hex(12)}`;
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class FakeTenant {
  private readonly users = new Map<string, { data: FakeUser; state: ObjectState }>();
  private readonly groups = new Map<string, { data: FakeGroup; state: ObjectState }>();
  /** groupId → memberId → kind (direct members; kept while a member is soft-deleted, for restore). */
  private readonly members = new Map<string, Map<string, MemberKind>>();
  /** memberId → groups it is a direct member of. */
  private readonly memberOf = new Map<string, Set<string>>();
  private readonly log: ChangeEntry[] = [];
  private readonly listeners = new Set<(entry: ChangeEntry) => void>();
  private seq = 0;
  private readonly idRandom: () => number;
  private counter = 0;

  constructor(options: { seed?: number; domain?: string } = {}) {
    this.idRandom = seededRandom(options.seed ?? 1);
    this.domain = options.domain ?? 'contoso.example';
  }

  readonly domain: string;

  private readonly applications: FakeApplication[] = [];
  private readonly domains: FakeDomain[] = [];

  /**
   * Registers a directory extension property on an application (created on first use, as an app
   * registration that owns extensions); returns its full name, extension_<appId without dashes>_<name>.
   */
  registerExtensionProperty(input: {
    appId: string;
    appDisplayName?: string;
    name: string;
    dataType?: FakeExtensionProperty['dataType'];
    isMultiValued?: boolean;
    isSyncedFromOnPremises?: boolean;
  }): string {
    let application = this.applications.find((app) => app.appId === input.appId);
    if (!application) {
      application = { id: guidFrom(this.idRandom), appId: input.appId, displayName: input.appDisplayName ?? 'Tenant Schema Extension App', extensionProperties: [], passwordCredentials: [] };
      this.applications.push(application);
    }
    const name = `extension_${input.appId.replace(/-/g, '').toLowerCase()}_${input.name}`;
    if (application.extensionProperties.some((property) => property.name === name)) throw new Error(`${name} is already registered`);
    application.extensionProperties.push({
      id: guidFrom(this.idRandom),
      name,
      appDisplayName: application.displayName,
      dataType: input.dataType ?? 'String',
      isMultiValued: input.isMultiValued ?? false,
      isSyncedFromOnPremises: input.isSyncedFromOnPremises ?? false,
      targetObjects: ['User'],
    });
    return name;
  }

  /** Adds a client secret to an app registration (created on first use); Graph keeps its first three characters only. */
  addClientSecret(input: { appId: string; secret: string; endDateTime: string; displayName?: string }): void {
    let application = this.applications.find((app) => app.appId === input.appId);
    if (!application) {
      application = { id: guidFrom(this.idRandom), appId: input.appId, displayName: 'Signature 365 connector', extensionProperties: [], passwordCredentials: [] };
      this.applications.push(application);
    }
    application.passwordCredentials.push({
      keyId: guidFrom(this.idRandom), displayName: input.displayName ?? null, hint: input.secret.slice(0, 3),
      startDateTime: new Date(Date.parse(input.endDateTime) - 730 * 86_400_000).toISOString(), endDateTime: input.endDateTime,
    });
  }

  /** The app registrations of the tenant (copies). */
  listApplications(): FakeApplication[] {
    return structuredClone(this.applications);
  }

  isExtensionPropertyName(name: string): boolean {
    return this.applications.some((app) => app.extensionProperties.some((property) => property.name === name));
  }

  /** Adds a domain (the tenant's own `domain` is verified and the default without being added). */
  addDomain(domain: FakeDomain): void {
    this.domains.push({ ...domain });
  }

  listDomains(): FakeDomain[] {
    const own = this.domains.some((domain) => domain.id === this.domain) ? [] : [{ id: this.domain, isVerified: true, isDefault: !this.domains.some((domain) => domain.isDefault) }];
    return [...own, ...this.domains.map((domain) => ({ ...domain }))];
  }

  /** The sequence number of the latest change (0 when nothing happened yet). */
  get sequence(): number {
    return this.seq;
  }

  /** Entries with seq in (afterSeq, upToSeq], in order. */
  changesBetween(afterSeq: number, upToSeq: number): ChangeEntry[] {
    // Sequence numbers are dense and start at 1, so entry n sits at index n - 1.
    return this.log.slice(Math.max(0, afterSeq), Math.max(0, upToSeq));
  }

  /** Calls `listener` with every change from now on (after it is logged); returns the unsubscribe. */
  onChange(listener: (entry: ChangeEntry) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  // ---- reads -------------------------------------------------------------------------------------

  getUser(id: string): FakeUser | undefined {
    const entry = this.users.get(id);
    return entry ? structuredClone(entry.data) : undefined;
  }

  userState(id: string): ObjectState | 'hardDeleted' {
    return this.users.get(id)?.state ?? 'hardDeleted';
  }

  groupState(id: string): ObjectState | 'hardDeleted' {
    return this.groups.get(id)?.state ?? 'hardDeleted';
  }

  getGroup(id: string): FakeGroup | undefined {
    const entry = this.groups.get(id);
    return entry ? { ...entry.data } : undefined;
  }

  /** Live (not soft-deleted) users, in creation order. The returned objects are the tenant's own: do not modify. */
  activeUsers(): FakeUser[] {
    const result: FakeUser[] = [];
    for (const entry of this.users.values()) if (entry.state === 'active') result.push(entry.data);
    return result;
  }

  activeGroups(): FakeGroup[] {
    const result: FakeGroup[] = [];
    for (const entry of this.groups.values()) if (entry.state === 'active') result.push(entry.data);
    return result;
  }

  /** Read-only view of a user for rendering (no copy). */
  peekUser(id: string): FakeUser | undefined {
    return this.users.get(id)?.data;
  }

  peekGroup(id: string): FakeGroup | undefined {
    return this.groups.get(id)?.data;
  }

  /** Direct members whose object is live, as Graph lists them. */
  activeMembersOf(groupId: string): { id: string; kind: MemberKind }[] {
    const result: { id: string; kind: MemberKind }[] = [];
    for (const [id, kind] of this.members.get(groupId) ?? []) {
      const state = kind === 'user' ? this.users.get(id)?.state : this.groups.get(id)?.state;
      if (state === 'active') result.push({ id, kind });
    }
    return result;
  }

  // ---- users -------------------------------------------------------------------------------------

  addUser(input: FakeUserInput = {}): FakeUser {
    const n = ++this.counter;
    const id = input.id ?? guidFrom(this.idRandom);
    if (this.users.has(id) || this.groups.has(id)) throw new Error(`object ${id} already exists`);
    const given = input.givenName ?? `Given${n}`;
    const surname = input.surname ?? `Surname${n}`;
    const upn = input.userPrincipalName ?? `user${n}@${this.domain}`;
    const user: FakeUser = {
      id,
      userPrincipalName: upn,
      mail: upn,
      displayName: `${given} ${surname}`,
      givenName: given,
      surname,
      jobTitle: null,
      department: null,
      companyName: null,
      officeLocation: null,
      streetAddress: null,
      city: null,
      state: null,
      postalCode: null,
      country: null,
      businessPhones: [],
      mobilePhone: null,
      faxNumber: null,
      employeeId: null,
      accountEnabled: true,
      userType: 'Member',
      proxyAddresses: [`SMTP:${upn}`],
      onPremisesExtensionAttributes: Object.fromEntries(EXTENSION_ATTRIBUTE_NAMES.map((name) => [name, null])),
      directoryExtensions: {},
      managerId: null,
      assignedLicenses: [{ skuId: DEFAULT_SKU, disabledPlans: [] }],
      mailboxPurpose: 'user',
    };
    this.assignUserFields(user, input);
    if (input.managerId) this.requireUser(input.managerId);
    user.managerId = input.managerId ?? null;
    this.users.set(id, { data: user, state: 'active' });
    this.append({ type: 'user', id, op: 'created' });
    return structuredClone(user);
  }

  /** Changes only the given properties; logs those whose value actually changed. */
  updateUser(id: string, patch: FakeUserPatch): void {
    const user = this.requireUser(id).data;
    const before = structuredClone(user);
    this.assignUserFields(user, patch);
    const changed: string[] = [];
    for (const key of [...USER_SCALAR_KEYS, ...USER_LIST_KEYS, 'onPremisesExtensionAttributes'] as const) {
      if (!sameValue(before[key], user[key])) changed.push(key);
    }
    // Each directory extension is a property of its own for delta ($select names it).
    for (const name of new Set([...Object.keys(before.directoryExtensions), ...Object.keys(user.directoryExtensions)])) {
      if (!sameValue(before.directoryExtensions[name], user.directoryExtensions[name])) changed.push(name);
    }
    if (changed.length > 0) this.append({ type: 'user', id, op: 'updated', properties: changed });
  }

  setManager(userId: string, managerId: string | null): void {
    const user = this.requireUser(userId).data;
    if (managerId !== null) {
      if (managerId === userId) throw new Error('a user cannot be their own manager');
      this.requireUser(managerId);
    }
    if (user.managerId === managerId) return;
    const previousManagerId = user.managerId;
    user.managerId = managerId;
    this.append({ type: 'user', id: userId, op: 'updated', properties: ['manager'], previousManagerId });
  }

  /** Deleted to the recycle bin: delta reports `@removed: { reason: 'changed' }`; memberships hidden until restore. */
  softDeleteUser(id: string): void {
    const entry = this.requireUser(id);
    if (entry.state === 'softDeleted') return;
    entry.state = 'softDeleted';
    this.append({ type: 'user', id, op: 'softDeleted' });
    for (const groupId of this.memberOf.get(id) ?? []) {
      this.append({ type: 'member', groupId, memberId: id, memberKind: 'user', removed: true });
    }
  }

  restoreUser(id: string): void {
    const entry = this.requireUser(id);
    if (entry.state === 'active') return;
    entry.state = 'active';
    this.append({ type: 'user', id, op: 'restored' });
    for (const groupId of this.memberOf.get(id) ?? []) {
      this.append({ type: 'member', groupId, memberId: id, memberKind: 'user', removed: false });
    }
  }

  /** Gone for good: delta reports `@removed: { reason: 'deleted' }`; memberships and manager links go too. */
  hardDeleteUser(id: string): void {
    this.requireUser(id);
    for (const groupId of [...(this.memberOf.get(id) ?? [])]) this.removeMember(groupId, id);
    for (const entry of this.users.values()) {
      if (entry.data.managerId === id) this.setManager(entry.data.id, null);
    }
    this.users.delete(id);
    this.memberOf.delete(id);
    this.append({ type: 'user', id, op: 'hardDeleted' });
  }

  // ---- groups ------------------------------------------------------------------------------------

  addGroup(input: FakeGroupInput = {}): FakeGroup {
    const n = ++this.counter;
    const id = input.id ?? guidFrom(this.idRandom);
    if (this.users.has(id) || this.groups.has(id)) throw new Error(`object ${id} already exists`);
    const group: FakeGroup = {
      id,
      displayName: input.displayName !== undefined ? input.displayName : `Group ${n}`,
      mail: input.mail !== undefined ? input.mail : null,
      description: input.description !== undefined ? input.description : null,
    };
    this.groups.set(id, { data: group, state: 'active' });
    this.members.set(id, new Map());
    this.append({ type: 'group', id, op: 'created' });
    return { ...group };
  }

  updateGroup(id: string, patch: FakeGroupPatch): void {
    const group = this.requireGroup(id).data;
    const changed: string[] = [];
    for (const key of GROUP_KEYS) {
      const value = patch[key];
      if (value === undefined || group[key] === value) continue;
      group[key] = value;
      changed.push(key);
    }
    if (changed.length > 0) this.append({ type: 'group', id, op: 'updated', properties: changed });
  }

  /** Hard delete by default (`@removed: deleted`); `{ soft: true }` is the recycle bin (`changed`), e.g. a Microsoft 365 group. */
  deleteGroup(id: string, options: { soft?: boolean } = {}): void {
    const entry = this.requireGroup(id);
    if (options.soft) {
      if (entry.state === 'softDeleted') return;
      entry.state = 'softDeleted';
      this.append({ type: 'group', id, op: 'softDeleted' });
      for (const parentId of this.memberOf.get(id) ?? []) {
        this.append({ type: 'member', groupId: parentId, memberId: id, memberKind: 'group', removed: true });
      }
      return;
    }
    for (const parentId of [...(this.memberOf.get(id) ?? [])]) this.removeMember(parentId, id);
    for (const memberId of this.members.get(id)?.keys() ?? []) this.memberOf.get(memberId)?.delete(id);
    this.members.delete(id);
    this.memberOf.delete(id);
    this.groups.delete(id);
    this.append({ type: 'group', id, op: 'hardDeleted' });
  }

  restoreGroup(id: string): void {
    const entry = this.requireGroup(id);
    if (entry.state === 'active') return;
    entry.state = 'active';
    this.append({ type: 'group', id, op: 'restored' });
    for (const parentId of this.memberOf.get(id) ?? []) {
      this.append({ type: 'member', groupId: parentId, memberId: id, memberKind: 'group', removed: false });
    }
  }

  /** Adds a direct member (a user or a group); no-op when already a member. */
  addMember(groupId: string, memberId: string): void {
    this.requireGroup(groupId);
    const memberKind = this.kindOf(memberId);
    if (memberKind === 'group' && this.reaches(memberId, groupId)) throw new Error('membership would create a cycle');
    const groupMembers = this.members.get(groupId);
    if (!groupMembers || groupMembers.has(memberId)) return;
    groupMembers.set(memberId, memberKind);
    let parents = this.memberOf.get(memberId);
    if (!parents) this.memberOf.set(memberId, (parents = new Set()));
    parents.add(groupId);
    this.append({ type: 'member', groupId, memberId, memberKind, removed: false });
  }

  removeMember(groupId: string, memberId: string): void {
    const groupMembers = this.members.get(groupId);
    const memberKind = groupMembers?.get(memberId);
    if (!groupMembers || memberKind === undefined) return;
    groupMembers.delete(memberId);
    this.memberOf.get(memberId)?.delete(groupId);
    this.append({ type: 'member', groupId, memberId, memberKind, removed: true });
  }

  // ---- generation --------------------------------------------------------------------------------

  /**
   * Adds a deterministic, realistic tenant: departments with a manager tree, a few guests and disabled
   * accounts, one group per department, a chain of nested groups `nestingDepth` deep, and extra groups.
   */
  generate(options: GenerateOptions): { userIds: string[]; groupIds: string[] } {
    const random = seededRandom(options.seed ?? 42);
    const pick = <T>(items: readonly T[]): T => {
      const item = items[Math.floor(random() * items.length)];
      if (item === undefined) throw new Error('pick from an empty list');
      return item;
    };
    const givenNames = ['Ada', 'Ben', 'Chloé', 'Dmitri', 'Elif', 'Farah', 'Göran', 'Hana', 'Ines', 'Jonas', 'Kenji', 'Lea', 'Mateo', 'Noor', 'Oskar', 'Priya', 'Quinn', 'Rosa', 'Søren', 'Tariq', 'Uma', 'Viktor', 'Wen', 'Ximena', 'Yusuf', 'Zoë'];
    const surnames = ['Adler', 'Brandt', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'García', 'Hoffmann', 'Ivanova', 'Jansen', 'Kowalski', 'Lindqvist', 'Müller', 'Nakamura', 'O’Brien', 'Petrov', 'Rossi', 'Schmidt', 'Tanaka', 'Urban', 'Vogel', 'Weber', 'Yilmaz', 'Zimmermann'];
    const departments = ['Sales', 'Marketing', 'Engineering', 'Finance', 'Legal', 'Operations', 'Support', 'HR'];
    const titles = ['Associate', 'Specialist', 'Senior Specialist', 'Lead', 'Manager', 'Director'];
    const offices = [
      { office: 'Berlin HQ', street: 'Friedrichstraße 100', city: 'Berlin', state: 'BE', postalCode: '10117', country: 'DE' },
      { office: 'London', street: '1 King William St', city: 'London', state: null, postalCode: 'EC4N 7AR', country: 'GB' },
      { office: 'Seattle', street: '400 Broad St', city: 'Seattle', state: 'WA', postalCode: '98109', country: 'US' },
    ];
    const guestShare = options.guestShare ?? 0.05;
    const disabledShare = options.disabledShare ?? 0.03;

    const userIds: string[] = [];
    const byDepartment = new Map<string, string[]>();
    for (let i = 0; i < options.users; i++) {
      const given = pick(givenNames);
      const surname = pick(surnames);
      const department = pick(departments);
      const place = pick(offices);
      const guest = random() < guestShare;
      const n = this.counter + 1;
      const local = `${given}.${surname}.${n}`.toLowerCase().normalize('NFD').replace(/[^a-z0-9.]/g, '');
      const mail = guest ? `${local}@partner.example` : `${local}@${this.domain}`;
      const upn = guest ? `${local}_partner.example#EXT#@${this.domain}` : mail;
      let colleagues = byDepartment.get(department);
      if (!colleagues) byDepartment.set(department, (colleagues = []));
      // Managers come from the first eighth of a department, so the tree is a few levels deep.
      const managerId = colleagues.length > 0 && !guest ? (colleagues[Math.floor(random() * (1 + Math.floor(colleagues.length / 8)))] ?? null) : null;
      const user = this.addUser({
        givenName: given,
        surname,
        displayName: `${given} ${surname}`,
        userPrincipalName: upn,
        mail,
        jobTitle: guest ? null : `${pick(titles)}, ${department}`,
        department: guest ? null : department,
        companyName: guest ? 'Partner Ltd' : 'Contoso',
        officeLocation: guest ? null : place.office,
        streetAddress: guest ? null : place.street,
        city: guest ? null : place.city,
        state: guest ? null : place.state,
        postalCode: guest ? null : place.postalCode,
        country: guest ? null : place.country,
        businessPhones: guest ? [] : [`+49 30 ${String(1000000 + Math.floor(random() * 8999999))}`],
        mobilePhone: random() < 0.6 ? `+49 170 ${String(1000000 + Math.floor(random() * 8999999))}` : null,
        faxNumber: random() < 0.05 ? `+49 30 ${String(2000000 + Math.floor(random() * 999999))}` : null,
        employeeId: guest ? null : String(100000 + n),
        accountEnabled: random() >= disabledShare,
        userType: guest ? 'Guest' : 'Member',
        proxyAddresses: guest ? [] : [`SMTP:${mail}`, `smtp:${local}@contoso.mail.example`],
        onPremisesExtensionAttributes: guest ? {} : { extensionAttribute1: department.toUpperCase(), extensionAttribute7: random() < 0.3 ? 'Remote' : null },
        managerId,
      });
      userIds.push(user.id);
      if (!guest) colleagues.push(user.id);
    }

    const groupIds: string[] = [];
    const addGroup = (displayName: string, description: string) => {
      const mailNickname = displayName.toLowerCase().replace(/[^a-z0-9]+/g, '-');
      const group = this.addGroup({ displayName, description, mail: `${mailNickname}@${this.domain}` });
      groupIds.push(group.id);
      return group.id;
    };
    if (options.allStaffShare !== undefined && options.groups > 0) {
      const allStaff = addGroup('All Staff', 'Everyone on staff');
      for (const userId of userIds) if (random() < (options.allStaffShare ?? 0)) this.addMember(allStaff, userId);
    }
    for (const department of departments) {
      if (groupIds.length >= options.groups) break;
      const groupId = addGroup(`Dept ${department}`, `Everyone in ${department}`);
      for (const userId of byDepartment.get(department) ?? []) this.addMember(groupId, userId);
    }
    // A chain of nested groups: level k is a member of level k-1.
    const depth = Math.max(0, options.nestingDepth ?? 2);
    let parentId: string | undefined;
    for (let level = 1; level <= depth && groupIds.length < options.groups; level++) {
      const groupId = addGroup(`Nested level ${level}`, `Nesting level ${level}`);
      if (parentId) this.addMember(parentId, groupId);
      for (let k = 0; k < 5 && userIds.length > 0; k++) this.addMember(groupId, pick(userIds));
      parentId = groupId;
    }
    while (groupIds.length < options.groups) {
      const groupId = addGroup(`Project ${groupIds.length + 1}`, 'Project team');
      const size = Math.min(userIds.length, 3 + Math.floor(random() * 25));
      for (let k = 0; k < size; k++) this.addMember(groupId, pick(userIds));
      if (random() < 0.2 && groupIds.length > 1) {
        const other = pick(groupIds);
        if (other !== groupId && !this.reaches(groupId, other)) this.addMember(other, groupId);
      }
    }
    return { userIds, groupIds };
  }

  // ---- internals ---------------------------------------------------------------------------------

  private append(entry: ChangeEntryInput): void {
    this.seq += 1;
    const logged: ChangeEntry = { ...entry, seq: this.seq };
    this.log.push(logged);
    for (const listener of this.listeners) {
      // An observer (e.g. the notification service) must never undo or break the mutation it watches.
      try {
        listener(logged);
      } catch {
        // ignored on purpose
      }
    }
  }

  private assignUserFields(user: FakeUser, patch: FakeUserPatch): void {
    for (const key of USER_SCALAR_KEYS) {
      const value = patch[key];
      if (value !== undefined) (user as unknown as Record<string, unknown>)[key] = value;
    }
    for (const key of USER_LIST_KEYS) {
      const value = patch[key];
      if (value !== undefined) (user as unknown as Record<string, unknown>)[key] = structuredClone(value);
    }
    if (patch.onPremisesExtensionAttributes) {
      for (const [key, value] of Object.entries(patch.onPremisesExtensionAttributes)) {
        if (!EXTENSION_ATTRIBUTE_NAMES.includes(key)) throw new Error(`unknown extension attribute ${key}`);
        user.onPremisesExtensionAttributes[key] = value;
      }
    }
    if (patch.directoryExtensions) {
      for (const [name, value] of Object.entries(patch.directoryExtensions)) {
        if (!this.isExtensionPropertyName(name)) throw new Error(`no directory extension property ${name} is registered in the fake tenant`);
        if (value === null) delete user.directoryExtensions[name];
        else user.directoryExtensions[name] = Array.isArray(value) ? [...value] : value;
      }
    }
  }

  private requireUser(id: string): { data: FakeUser; state: ObjectState } {
    const entry = this.users.get(id);
    if (!entry) throw new Error(`no user ${id} in the fake tenant`);
    return entry;
  }

  private requireGroup(id: string): { data: FakeGroup; state: ObjectState } {
    const entry = this.groups.get(id);
    if (!entry) throw new Error(`no group ${id} in the fake tenant`);
    return entry;
  }

  private kindOf(id: string): MemberKind {
    if (this.users.has(id)) return 'user';
    if (this.groups.has(id)) return 'group';
    throw new Error(`no user or group ${id} in the fake tenant`);
  }

  /** Whether `to` is `from` or one of its (transitive) members. */
  private reaches(from: string, to: string): boolean {
    const seen = new Set<string>();
    const stack = [from];
    while (stack.length > 0) {
      const current = stack.pop();
      if (current === undefined || seen.has(current)) continue;
      if (current === to) return true;
      seen.add(current);
      for (const [memberId, kind] of this.members.get(current) ?? []) if (kind === 'group') stack.push(memberId);
    }
    return false;
  }
}
