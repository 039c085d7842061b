import { describe, expect, it } from 'vitest';
import type { MirrorUser } from '../../../src/sync/directory';
import {
  buildGroupRecord, buildUserBase, buildUserRecord, groupRecordHash, groupRecordJson, managerPart, userBaseHash, userRecordHash,
  userRecordJson, type Signature365Manager,
} from '../../../src/sync/payload';
import { canonicalJson, shortHash } from '../../../src/sync/payloadHash';
import { group, removed, user } from './builders';

const CONTRACT_USER_FIELDS = [
  'id', 'userPrincipalName', 'mail', 'displayName', 'givenName', 'surname', 'jobTitle', 'department',
  'companyName', 'officeLocation', 'streetAddress', 'city', 'state', 'postalCode', 'country',
  'businessPhones', 'mobilePhone', 'faxNumber', 'employeeId', 'accountEnabled', 'userType',
  'proxyAddresses', 'manager', 'mailboxType', 'extensionAttributes', 'groups',
];

const CONTRACT_GROUP_FIELDS = ['id', 'displayName', 'mail', 'description'];

const boss = user({ id: 'boss', displayName: 'Grace Hopper', mail: 'grace@contoso.com', jobTitle: 'CTO' });
const ada = user({
  id: 'ada', displayName: 'Ada Lovelace', jobTitle: 'Engineer', businessPhones: ['+44 1', '+44 2'],
  proxyAddresses: ['smtp:ada@alias.contoso.com', 'SMTP:ada@contoso.com'], accountEnabled: true,
  extensionAttributes: { extensionAttribute2: 'B', extensionAttribute1: null, extension_abc_costCenter: 'CC1' },
  managerId: 'boss',
});

describe('buildUserRecord', () => {
  it('has every contract field, absent values null and lists empty, and nothing else', () => {
    const bare = user({ id: 'u1', userPrincipalName: null, mail: null, accountEnabled: null, userType: null });
    const record = buildUserRecord(bare, null, []);
    expect(Object.keys(record).sort()).toEqual([...CONTRACT_USER_FIELDS].sort());
    expect(record).toEqual({
      id: 'u1', userPrincipalName: null, mail: null, displayName: null, givenName: null, surname: null,
      jobTitle: null, department: null, companyName: null, officeLocation: null, streetAddress: null,
      city: null, state: null, postalCode: null, country: null, businessPhones: [], mobilePhone: null,
      faxNumber: null, employeeId: null, accountEnabled: null, userType: null, proxyAddresses: [],
      manager: null, mailboxType: 'unknown', extensionAttributes: {}, groups: [],
    });
  });

  it('carries the attributes and the manager, and sorts groups and proxy addresses', () => {
    const record = buildUserRecord(ada, managerPart(boss), ['g2', 'g10', 'g1', 'g2']);
    expect(record.manager).toEqual({ id: 'boss', displayName: 'Grace Hopper', mail: 'grace@contoso.com' });
    expect(record.groups).toEqual(['g1', 'g10', 'g2']);
    expect(record.proxyAddresses).toEqual(['SMTP:ada@contoso.com', 'smtp:ada@alias.contoso.com']);
    expect(record.businessPhones).toEqual(['+44 1', '+44 2']);
    expect(record).toMatchObject({ id: 'ada', displayName: 'Ada Lovelace', jobTitle: 'Engineer', accountEnabled: true, userType: 'Member' });
  });

  it('keeps only extension attributes that have a value', () => {
    expect(buildUserRecord(ada, null, []).extensionAttributes).toEqual({ extensionAttribute2: 'B', extension_abc_costCenter: 'CC1' });
  });

  it('does not share arrays with the mirror object', () => {
    const u = user({ id: 'u', businessPhones: ['1'], proxyAddresses: ['SMTP:u@contoso.com'] });
    const record = buildUserRecord(u, null, []);
    record.businessPhones.push('2');
    record.proxyAddresses.push('smtp:x@contoso.com');
    expect(u.businessPhones).toEqual(['1']);
    expect(u.proxyAddresses).toEqual(['SMTP:u@contoso.com']);
  });

  it('is the base with the manager and the groups added', () => {
    const record = buildUserRecord(ada, managerPart(boss), ['g1']);
    const { manager, groups, ...rest } = record;
    expect(rest).toEqual(buildUserBase(ada));
    expect({ manager, groups }).toEqual({ manager: managerPart(boss), groups: ['g1'] });
  });
});

describe('managerPart', () => {
  it('carries only the manager\'s id, name and mail', () => {
    expect(managerPart(boss)).toEqual({ id: 'boss', displayName: 'Grace Hopper', mail: 'grace@contoso.com' });
  });

  it('gives a null manager when the manager is unknown or removed', () => {
    expect(managerPart(undefined)).toBeNull();
    expect(managerPart(removed(boss))).toBeNull();
    expect(buildUserRecord(ada, managerPart(removed(boss)), []).manager).toBeNull();
  });
});

describe('userRecordJson', () => {
  it('writes the fields in the contract\'s order and parses back to buildUserRecord\'s record', () => {
    const json = userRecordJson(ada, managerPart(boss), ['g2', 'g1']);
    const parsed = JSON.parse(json) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(CONTRACT_USER_FIELDS);
    expect(parsed).toEqual(buildUserRecord(ada, managerPart(boss), ['g2', 'g1']));
    expect(json).toBe(JSON.stringify(buildUserRecord(ada, managerPart(boss), ['g1', 'g2'])));
  });

  it('writes the manager\'s fields in the contract\'s order', () => {
    const parsed = JSON.parse(userRecordJson(ada, managerPart(boss), [])) as { manager: Record<string, unknown> };
    expect(Object.keys(parsed.manager)).toEqual(['id', 'displayName', 'mail']);
  });
});

describe('userBaseHash', () => {
  it('is the short hash of the base\'s canonical JSON', () => {
    expect(userBaseHash(ada)).toBe(shortHash(canonicalJson(buildUserBase(ada))));
    expect(userBaseHash(ada)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('leaves out what is not the user\'s own record: the manager id, the removal mark', () => {
    expect(userBaseHash({ ...ada, managerId: 'someoneElse' })).toBe(userBaseHash(ada));
    expect(userBaseHash(removed(ada))).toBe(userBaseHash(ada));
  });
});

describe('userRecordHash', () => {
  const manager = managerPart(boss);
  const hashOf = (u: MirrorUser, m: Signature365Manager | null, groups: readonly string[]) => userRecordHash(userBaseHash(u), m, groups);
  const baseHash = hashOf(ada, manager, ['g1', 'g2']);

  it('is a 22-character base64url hash, the same for the same record', () => {
    expect(baseHash).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(hashOf(user({ ...ada }), managerPart({ ...boss }), ['g1', 'g2'])).toBe(baseHash);
  });

  it('changes when the base changes: any attribute of the user\'s own record', () => {
    const variants: MirrorUser[] = [
      { ...ada, displayName: 'Ada L.' },
      { ...ada, jobTitle: '' },
      { ...ada, jobTitle: null },
      { ...ada, accountEnabled: false },
      { ...ada, businessPhones: ['+44 2', '+44 1'] },
      { ...ada, proxyAddresses: ['SMTP:ada@contoso.com'] },
      { ...ada, extensionAttributes: { ...ada.extensionAttributes, extensionAttribute1: 'A' } },
      { ...ada, userType: 'Guest' },
      { ...ada, id: 'ada2' },
    ];
    const hashes = new Set(variants.map((variant) => hashOf(variant, manager, ['g1', 'g2'])));
    expect(hashes.size).toBe(variants.length);
    expect(hashes.has(baseHash)).toBe(false);
  });

  it('changes when the manager changes: another manager, its name, its mail, or none', () => {
    const variants: (Signature365Manager | null)[] = [
      null,
      { id: 'boss2', displayName: 'Grace Hopper', mail: 'grace@contoso.com' },
      { id: 'boss', displayName: 'Grace B. Hopper', mail: 'grace@contoso.com' },
      { id: 'boss', displayName: 'Grace Hopper', mail: 'g.hopper@contoso.com' },
      { id: 'boss', displayName: 'Grace Hopper', mail: null },
    ];
    const hashes = new Set(variants.map((variant) => hashOf(ada, variant, ['g1', 'g2'])));
    expect(hashes.size).toBe(variants.length);
    expect(hashes.has(baseHash)).toBe(false);
  });

  it('changes when the group set changes', () => {
    const variants = [[], ['g1'], ['g2'], ['g1', 'g2', 'g3'], ['g1', 'g3']];
    const hashes = new Set(variants.map((groups) => hashOf(ada, manager, groups)));
    expect(hashes.size).toBe(variants.length);
    expect(hashes.has(baseHash)).toBe(false);
  });

  it('does not change when only the order of proxy addresses or extension attributes changes', () => {
    const reordered: MirrorUser = {
      ...ada,
      proxyAddresses: [...ada.proxyAddresses].reverse(),
      extensionAttributes: Object.fromEntries(Object.entries(ada.extensionAttributes).reverse()),
    };
    expect(hashOf(reordered, manager, ['g1', 'g2'])).toBe(baseHash);
  });

  it('does not change with the order the groups were found in, once placed as the record sorts them', () => {
    const record = (groups: string[]) => buildUserRecord(ada, manager, groups).groups;
    expect(hashOf(ada, manager, record(['g2', 'g1', 'g2']))).toBe(baseHash);
  });

  it('agrees with the record: equal hashes exactly when the record JSON is equal', () => {
    const cases: [MirrorUser, Signature365Manager | null, string[]][] = [
      [ada, manager, ['g1', 'g2']],
      [{ ...ada, proxyAddresses: [...ada.proxyAddresses].reverse() }, manager, ['g1', 'g2']],
      [{ ...ada, managerId: null }, manager, ['g1', 'g2']],
      [ada, null, ['g1', 'g2']],
      [ada, manager, ['g1']],
      [{ ...ada, department: 'R&D' }, manager, ['g1', 'g2']],
      [{ ...ada, extensionAttributes: { extensionAttribute2: 'B', extension_abc_costCenter: 'CC1' } }, manager, ['g1', 'g2']],
    ];
    for (const [u1, m1, g1] of cases) {
      for (const [u2, m2, g2] of cases) {
        const sameRecord = userRecordJson(u1, m1, g1) === userRecordJson(u2, m2, g2);
        expect(hashOf(u1, m1, g1) === hashOf(u2, m2, g2)).toBe(sameRecord);
      }
    }
  });
});

describe('buildGroupRecord', () => {
  it('is exactly the contract group: id, displayName, mail, description', () => {
    expect(buildGroupRecord(group({ id: 'g1', displayName: 'Sales', mail: null }))).toEqual({
      id: 'g1', displayName: 'Sales', mail: null, description: null,
    });
    expect(Object.keys(buildGroupRecord(removed(group({ id: 'g2' })))).sort()).toEqual([...CONTRACT_GROUP_FIELDS].sort());
  });
});

describe('groupRecordJson and groupRecordHash', () => {
  const sales = group({ id: 'g1', displayName: 'Sales', mail: 'sales@contoso.com', description: 'EMEA sales' });

  it('writes the fields in the contract\'s order and parses back to buildGroupRecord\'s record', () => {
    const parsed = JSON.parse(groupRecordJson(sales)) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(CONTRACT_GROUP_FIELDS);
    expect(parsed).toEqual(buildGroupRecord(sales));
  });

  it('is equal for equal groups, however they were built', () => {
    const again = { removed: null, description: 'EMEA sales', mail: 'sales@contoso.com', displayName: 'Sales', id: 'g1' };
    expect(groupRecordHash(again)).toBe(groupRecordHash(sales));
    expect(groupRecordHash(removed(sales))).toBe(groupRecordHash(sales));
    expect(groupRecordHash(sales)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('changes when any field of the group record changes', () => {
    const variants = [
      { ...sales, id: 'g2' }, { ...sales, displayName: 'Sales ' }, { ...sales, displayName: null },
      { ...sales, mail: null }, { ...sales, description: '' }, { ...sales, description: null },
    ];
    const hashes = new Set(variants.map(groupRecordHash));
    expect(hashes.size).toBe(variants.length);
    expect(hashes.has(groupRecordHash(sales))).toBe(false);
  });
});

describe('userRecordHash and group order', () => {
  it('is the same for the same groups in any order or repeated, as the record is', () => {
    const ada = user({ id: 'ada' });
    const base = userBaseHash(ada);
    expect(userRecordHash(base, null, ['g2', 'g1', 'g2'])).toBe(userRecordHash(base, null, ['g1', 'g2']));
    expect(userRecordJson(ada, null, ['g2', 'g1', 'g2'])).toBe(userRecordJson(ada, null, ['g1', 'g2']));
  });
});
