/**
 * Builders for contract records, so a test names only what it is about. Typed with the client's
 * contract types: what they build is exactly what the product sends.
 */
import type { Signature365Group, Signature365User } from '../../../src/signature365/contract';

let counter = 0;

/** A full user record (every property present, absent values null/[]); `id` defaults to a fresh one. */
export function s365User(overrides: Partial<Signature365User> = {}): Signature365User {
  counter += 1;
  const id = overrides.id ?? `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`;
  return {
    id,
    userPrincipalName: `user${counter}@contoso.example`,
    mail: `user${counter}@contoso.example`,
    displayName: `User ${counter}`,
    givenName: 'User',
    surname: String(counter),
    jobTitle: null,
    department: null,
    companyName: 'Contoso',
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
    proxyAddresses: [`SMTP:user${counter}@contoso.example`],
    manager: null,
    mailboxType: 'user',
    extensionAttributes: {},
    groups: [],
    ...overrides,
  };
}

export function s365Users(count: number, overrides: Partial<Omit<Signature365User, 'id'>> = {}): Signature365User[] {
  return Array.from({ length: count }, () => s365User(overrides));
}

export function s365Group(overrides: Partial<Signature365Group> = {}): Signature365Group {
  counter += 1;
  return {
    id: overrides.id ?? `10000000-0000-4000-8000-${String(counter).padStart(12, '0')}`,
    displayName: `Group ${counter}`,
    mail: null,
    description: null,
    ...overrides,
  };
}
