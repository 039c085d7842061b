/**
 * The simulated organisation `npm run demo` syncs: a Contoso tenant with nested Sales and
 * Engineering groups, managers, a few guests and disabled accounts, and a handful of people in
 * both departments (the "first matching tenant" conflict the vendor warns about). An HR app
 * registration defines two directory extensions (a cost centre on every member, a pronoun on some),
 * a few Sales people have their mail in a domain the tenant has not verified, and two mailboxes are
 * not a person's: a shared inbox and a meeting room.
 */
import { FakeTenant, seededRandom } from '../test/fakes/graph';

export interface DemoOrganisation {
  tenant: FakeTenant;
  groups: Record<'allSales' | 'salesEmea' | 'salesUk' | 'salesAmericas' | 'allEngineering' | 'platform' | 'platformSre' | 'productEngineering' | 'allStaff', string>;
  salesUkMembers: string[];
  sreMembers: string[];
  salesAmericasMembers: string[];
  outsiders: string[];
  /** Full names (extension_<appId>_<name>) of the HR app's directory extensions. */
  extensions: { costCenter: string; pronoun: string };
  /** A domain added to the tenant but not verified; some users' mail is in it. */
  unverifiedDomain: string;
  /** Users whose mail is in `unverifiedDomain`. */
  unverifiedMailUsers: string[];
  /** A shared mailbox in Sales UK and a meeting room in Sales EMEA (every other mailbox is a user's). */
  mailboxes: { shared: string; room: string };
}

/** The application id of the demo's HR app registration, which owns its directory extensions. */
export const DEMO_HR_APP_ID = '4d1a9c7e-2b3f-4e5a-8c6d-7e8f9a0b1c2d';

const CITIES = [
  { city: 'London', country: 'United Kingdom', postalCode: 'EC1A 1BB', street: '1 Poultry' },
  { city: 'Reading', country: 'United Kingdom', postalCode: 'RG1 1AA', street: '10 Forbury Road' },
  { city: 'Seattle', country: 'United States', postalCode: '98101', street: '500 Pine St' },
  { city: 'Dublin', country: 'Ireland', postalCode: 'D02 X285', street: '1 Grand Canal Quay' },
];

export function buildDemoOrganisation(users: number, seed = 365): DemoOrganisation {
  const random = seededRandom(seed);
  const tenant = new FakeTenant({ seed, domain: 'contoso.example' });
  const group = (displayName: string, mail: string | null) => tenant.addGroup({ displayName, mail, description: `${displayName} (demo)` }).id;
  const groups = {
    allStaff: group('All Staff', 'allstaff@contoso.example'),
    allSales: group('All Sales', 'sales@contoso.example'),
    salesEmea: group('Sales EMEA', null),
    salesUk: group('Sales UK', 'sales-uk@contoso.example'),
    salesAmericas: group('Sales Americas', null),
    allEngineering: group('All Engineering', 'engineering@contoso.example'),
    platform: group('Platform', null),
    platformSre: group('Platform SRE', null),
    productEngineering: group('Product Engineering', null),
  };
  tenant.addMember(groups.allSales, groups.salesEmea);
  tenant.addMember(groups.salesEmea, groups.salesUk);
  tenant.addMember(groups.allSales, groups.salesAmericas);
  tenant.addMember(groups.allEngineering, groups.platform);
  tenant.addMember(groups.platform, groups.platformSre);
  tenant.addMember(groups.allEngineering, groups.productEngineering);

  const extensions = {
    costCenter: tenant.registerExtensionProperty({ appId: DEMO_HR_APP_ID, appDisplayName: 'Contoso HR attributes', name: 'costCenter' }),
    pronoun: tenant.registerExtensionProperty({ appId: DEMO_HR_APP_ID, appDisplayName: 'Contoso HR attributes', name: 'pronoun' }),
  };
  const unverifiedDomain = 'contoso-sales.example';
  tenant.addDomain({ id: unverifiedDomain, isVerified: false, isDefault: false });
  const org: DemoOrganisation = {
    tenant, groups, salesUkMembers: [], sreMembers: [], salesAmericasMembers: [], outsiders: [], extensions, unverifiedDomain, unverifiedMailUsers: [], mailboxes: { shared: '', room: '' },
  };
  const leaves = [
    { id: groups.salesUk, department: 'Sales', title: 'Account Executive', list: org.salesUkMembers },
    { id: groups.salesEmea, department: 'Sales', title: 'Sales Manager', list: undefined },
    { id: groups.salesAmericas, department: 'Sales', title: 'Account Executive', list: org.salesAmericasMembers },
    { id: groups.platformSre, department: 'Engineering', title: 'Site Reliability Engineer', list: org.sreMembers },
    { id: groups.platform, department: 'Engineering', title: 'Platform Engineer', list: undefined },
    { id: groups.productEngineering, department: 'Engineering', title: 'Software Engineer', list: undefined },
  ];
  const managers = new Map<string, string>();
  for (let n = 1; n <= users; n += 1) {
    const roll = random();
    const place = CITIES[Math.floor(random() * CITIES.length)] ?? CITIES[0];
    const leaf = roll < 0.7 ? leaves[Math.floor(random() * leaves.length)] : undefined;
    const guest = random() < 0.02;
    const upn = guest ? `guest${n}_partner.example#EXT#@contoso.example` : `user${n}@contoso.example`;
    const user = tenant.addUser({
      userPrincipalName: upn,
      givenName: `Person${n}`,
      surname: leaf?.department ?? 'Operations',
      jobTitle: leaf?.title ?? 'Operations Analyst',
      department: leaf?.department ?? 'Operations',
      companyName: 'Contoso Ltd',
      officeLocation: place?.city ?? null,
      streetAddress: place?.street ?? null,
      city: place?.city ?? null,
      postalCode: place?.postalCode ?? null,
      country: place?.country ?? null,
      businessPhones: [`+44 20 7946 ${String(n % 10000).padStart(4, '0')}`],
      accountEnabled: random() > 0.02,
      userType: guest ? 'Guest' : 'Member',
      managerId: leaf !== undefined ? managers.get(leaf.id) ?? null : null,
    });
    tenant.addMember(groups.allStaff, user.id);
    if (!guest) {
      const pronoun = n % 3 === 0 ? { [extensions.pronoun]: n % 2 === 0 ? 'she/her' : 'he/him' } : {};
      tenant.updateUser(user.id, { directoryExtensions: { [extensions.costCenter]: `CC-${(leaf?.department ?? 'Operations').toUpperCase()}-${String(100 + (n % 7))}`, ...pronoun } });
    }
    // A few Sales people whose mail was typed in a domain the tenant never verified.
    if (!guest && leaf?.department === 'Sales' && n % 40 === 7) {
      tenant.updateUser(user.id, { mail: `user${n}@${unverifiedDomain}` });
      org.unverifiedMailUsers.push(user.id);
    }
    if (leaf === undefined) {
      org.outsiders.push(user.id);
      continue;
    }
    if (!managers.has(leaf.id)) managers.set(leaf.id, user.id);
    tenant.addMember(leaf.id, user.id);
    if (user.accountEnabled && user.userType === 'Member') leaf.list?.push(user.id);
    // A few people work in both departments: the conflict Options.OnConflict is about.
    if (n % 500 === 0) tenant.addMember(leaf.department === 'Sales' ? groups.productEngineering : groups.salesAmericas, user.id);
  }
  // Added after the people, so the seeded organisation above stays what it was.
  const mailbox = (upn: string, displayName: string, purpose: 'shared' | 'room', groupId: string) => {
    const id = tenant.addUser({
      userPrincipalName: upn, mail: upn, givenName: null, surname: null, displayName, department: 'Sales', companyName: 'Contoso Ltd',
      jobTitle: null, mailboxPurpose: purpose, assignedLicenses: [],
    }).id;
    // Shared and room mailboxes belong to a cost centre like everyone in Sales.
    tenant.updateUser(id, { directoryExtensions: { [extensions.costCenter]: 'CC-SALES-100' } });
    tenant.addMember(groupId, id);
    return id;
  };
  org.mailboxes = {
    shared: mailbox('sales-uk-inbox@contoso.example', 'Sales UK inbox', 'shared', groups.salesUk),
    room: mailbox('room-london-4.01@contoso.example', 'Meeting room London 4.01', 'room', groups.salesEmea),
  };
  return org;
}

/**
 * Who should be at a destination, computed straight from the simulated tenant (not from the
 * connector's mirror): active, enabled members with mail, transitively under the root group.
 */
export function expectedMembers(tenant: FakeTenant, rootGroupId: string): Set<string> {
  const users = new Set<string>();
  const seen = new Set<string>();
  const stack = [rootGroupId];
  while (stack.length > 0) {
    const groupId = stack.pop();
    if (groupId === undefined || seen.has(groupId)) continue;
    seen.add(groupId);
    for (const member of tenant.activeMembersOf(groupId)) {
      if (member.kind === 'group') stack.push(member.id);
      else {
        const user = tenant.getUser(member.id);
        if (user !== undefined && user.accountEnabled && user.userType !== 'Guest' && user.mail) users.add(member.id);
      }
    }
  }
  return users;
}
