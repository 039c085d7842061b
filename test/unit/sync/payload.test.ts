import { describe, expect, it } from 'vitest';
import { buildGroupRecord, buildUserRecord } from '../../../src/sync/payload';
import { directory, group, removed, user } from './builders';

const CONTRACT_USER_FIELDS = [
  'id', 'userPrincipalName', 'mail', 'displayName', 'givenName', 'surname', 'jobTitle', 'department',
  'companyName', 'officeLocation', 'streetAddress', 'city', 'state', 'postalCode', 'country',
  'businessPhones', 'mobilePhone', 'faxNumber', 'employeeId', 'accountEnabled', 'userType',
  'proxyAddresses', 'manager', 'mailboxType', 'extensionAttributes', 'groups',
];

describe('buildUserRecord', () => {
  it('has every contract field, absent values null and lists empty, and nothing else', () => {
    const bare = user({ id: 'u1', userPrincipalName: null, mail: null, accountEnabled: null, userType: null });
    const record = buildUserRecord(bare, directory([bare], []), []);
    expect(Object.keys(record).sort()).toEqual([...CONTRACT_USER_FIELDS].sort());
    expect(record).toEqual({
      id: 'u1', userPrincipalName: null, mail: null, displayName: null, givenName: null, surname: null,
      jobTitle: null, department: null, companyName: null, officeLocation: null, streetAddress: null,
      city: null, state: null, postalCode: null, country: null, businessPhones: [], mobilePhone: null,
      faxNumber: null, employeeId: null, accountEnabled: null, userType: null, proxyAddresses: [],
      manager: null, mailboxType: 'unknown', extensionAttributes: {}, groups: [],
    });
  });

  it('carries the attributes, resolves the manager and sorts groups and proxy addresses', () => {
    const boss = user({ id: 'boss', displayName: 'Grace Hopper', mail: 'grace@contoso.com', jobTitle: 'CTO' });
    const ada = user({
      id: 'ada', displayName: 'Ada Lovelace', jobTitle: 'Engineer', businessPhones: ['+44 1', '+44 2'],
      proxyAddresses: ['smtp:ada@alias.contoso.com', 'SMTP:ada@contoso.com'], accountEnabled: true,
      managerId: 'boss',
    });
    const record = buildUserRecord(ada, directory([ada, boss], []), ['g2', 'g10', 'g1', 'g2']);
    expect(record.manager).toEqual({ id: 'boss', displayName: 'Grace Hopper', mail: 'grace@contoso.com' });
    expect(record.groups).toEqual(['g1', 'g10', 'g2']);
    expect(record.proxyAddresses).toEqual(['SMTP:ada@contoso.com', 'smtp:ada@alias.contoso.com']);
    expect(record.businessPhones).toEqual(['+44 1', '+44 2']);
    expect(record).toMatchObject({ id: 'ada', displayName: 'Ada Lovelace', jobTitle: 'Engineer', accountEnabled: true, userType: 'Member' });
  });

  it('gives a null manager when the manager is unknown or removed', () => {
    const boss = removed(user({ id: 'boss' }));
    const a = user({ id: 'a', managerId: 'boss' });
    const b = user({ id: 'b', managerId: 'nobody' });
    const index = directory([a, b, boss], []);
    expect(buildUserRecord(a, index, []).manager).toBeNull();
    expect(buildUserRecord(b, index, []).manager).toBeNull();
  });

  it('keeps only extension attributes that have a value', () => {
    const u = user({ id: 'u', extensionAttributes: { extensionAttribute2: 'B', extensionAttribute1: null, extension_abc_costCenter: 'CC1' } });
    const record = buildUserRecord(u, directory([u], []), []);
    expect(record.extensionAttributes).toEqual({ extensionAttribute2: 'B', extension_abc_costCenter: 'CC1' });
  });

  it('does not share arrays with the mirror object', () => {
    const u = user({ id: 'u', businessPhones: ['1'] });
    const record = buildUserRecord(u, directory([u], []), []);
    record.businessPhones.push('2');
    expect(u.businessPhones).toEqual(['1']);
  });
});

describe('buildGroupRecord', () => {
  it('is exactly the contract group: id, displayName, mail, description', () => {
    expect(buildGroupRecord(group({ id: 'g1', displayName: 'Sales', mail: null }))).toEqual({
      id: 'g1', displayName: 'Sales', mail: null, description: null,
    });
    expect(Object.keys(buildGroupRecord(removed(group({ id: 'g2' })))).sort()).toEqual(['description', 'displayName', 'id', 'mail']);
  });
});
