/**
 * The mapping Filter grammar (src/config/userFilter.ts): what each operator means, where errors
 * point, and agreement with the plain reading in test/support/expectedDestinations.ts over random
 * expressions.
 */
import { describe, expect, it } from 'vitest';
import { FilterSyntaxError, matchesUserFilter, parseUserFilter, type FilterableUser } from '../../../src/config/userFilter';
import { resolveConfig } from '../../../src/config/resolve';
import { seededRandom, type FakeUser } from '../../fakes/graph/fakeTenant';
import { filterHolds } from '../../support/expectedDestinations';
import { config, issuesOf, mapping } from './builders';

function person(fields: Partial<FilterableUser> = {}): FilterableUser {
  return {
    userPrincipalName: 'ann@contoso.com', mail: 'ann@contoso.com', displayName: 'Ann', givenName: null, surname: null, jobTitle: null,
    department: 'Sales', companyName: 'Contoso', officeLocation: null, streetAddress: null, city: null, state: null, postalCode: null,
    country: null, mobilePhone: null, faxNumber: null, employeeId: null, userType: 'Member', accountEnabled: true, extensionAttributes: {},
    ...fields,
  };
}

const holds = (filter: string, user: FilterableUser = person()) => matchesUserFilter(parseUserFilter(filter), user);

function syntaxError(filter: string): FilterSyntaxError {
  try {
    parseUserFilter(filter);
  } catch (error) {
    if (error instanceof FilterSyntaxError) return error;
    throw error;
  }
  throw new Error(`expected ${filter} not to parse`);
}

describe('mapping Filter: meaning', () => {
  it('compares text case-insensitively with eq and ne, attribute names in any case', () => {
    expect(holds("department eq 'sales'")).toBe(true);
    expect(holds("DEPARTMENT EQ 'Sales'")).toBe(true);
    expect(holds("department ne 'Sales'")).toBe(false);
    expect(holds("department eq 'Marketing'")).toBe(false);
  });

  it('reads in as any of the listed values', () => {
    expect(holds("companyName in ('Fabrikam', 'contoso')")).toBe(true);
    expect(holds("companyName in ('Fabrikam')")).toBe(false);
  });

  it('matches startswith and endswith on text, never on an unset attribute', () => {
    expect(holds("startswith(userPrincipalName, 'ANN@')")).toBe(true);
    expect(holds("endswith(mail, '@contoso.com')")).toBe(true);
    expect(holds("startswith(jobTitle, '')")).toBe(false);
    expect(holds("not startswith(jobTitle, 'x')")).toBe(true);
  });

  it('treats null and empty text alike: eq null holds, ne a string holds, in without null fails', () => {
    expect(holds('jobTitle eq null')).toBe(true);
    expect(holds('jobTitle eq null', person({ jobTitle: '' }))).toBe(true);
    expect(holds('department ne null')).toBe(true);
    expect(holds("jobTitle ne 'Engineer'")).toBe(true);
    expect(holds("jobTitle in ('Engineer')")).toBe(false);
    expect(holds("jobTitle in ('Engineer', null)")).toBe(true);
  });

  it('binds and tighter than or, and not tighter than both; parentheses regroup', () => {
    // false and false or true = true; false and (false or true) = false.
    expect(holds("department eq 'x' and city eq 'y' or mail ne null")).toBe(true);
    expect(holds("department eq 'x' and (city eq 'y' or mail ne null)")).toBe(false);
    expect(holds("not department eq 'x' and not department eq 'Sales'")).toBe(false);
    expect(holds("not (department eq 'x' and department eq 'Sales')")).toBe(true);
  });

  it("reads '' inside a string as one quote", () => {
    expect(holds("companyName eq 'O''Brien & Sons'", person({ companyName: "O'Brien & Sons" }))).toBe(true);
  });

  it('reads accountEnabled as a boolean and extensionAttribute1..15 from the on-premises attributes', () => {
    expect(holds('accountEnabled eq true')).toBe(true);
    expect(holds('accountEnabled eq false', person({ accountEnabled: false }))).toBe(true);
    expect(holds("extensionAttribute7 eq 'VIP'", person({ extensionAttributes: { extensionAttribute7: 'vip' } }))).toBe(true);
    expect(holds('extensionAttribute7 eq null')).toBe(true);
  });

  it('takes the issue example as written', () => {
    const filter = "department eq 'Sales' and not startswith(userPrincipalName, 'svc-')";
    expect(holds(filter)).toBe(true);
    expect(holds(filter, person({ userPrincipalName: 'svc-backup@contoso.com' }))).toBe(false);
  });
});

describe('mapping Filter: errors point at the column', () => {
  it.each([
    ["department eq 'Sales", 15, 'string not closed'],
    ['department eq "Sales"', 15, 'single quotes'],
    ["departmnt eq 'Sales'", 1, 'unknown attribute "departmnt"'],
    ["department = 'Sales'", 12, 'unexpected character "="'],
    ["department is 'Sales'", 12, 'expected eq, ne or in, found "is"'],
    ["department eq 'Sales' and", 26, 'expected an attribute (e.g. department), found the end'],
    ["(department eq 'Sales'", 23, 'expected ")", found the end'],
    ["department eq 'Sales' city eq 'x'", 23, 'expected "and", "or" or the end, found "city"'],
    ["companyName in ('A' 'B')", 21, 'expected "," or ")"'],
    ['startswith(userPrincipalName, svc)', 31, 'startswith takes a string in single quotes'],
    ['department eq Sales', 15, 'expected a string in single quotes, null, true or false, found "Sales"'],
    ['   ', 1, 'the filter is empty'],
  ])('%s → column %i', (filter, column, reason) => {
    const error = syntaxError(filter);
    expect(error.column).toBe(column);
    expect(error.reason).toContain(reason);
  });

  it('is reported by the config with the mapping path, the column and an example, and refused', () => {
    const raw = config({ Mappings: [mapping({ Filter: "department eq 'Sales' and" })] });
    expect(issuesOf(raw)).toEqual([
      {
        path: 'Mappings[0].Filter',
        message:
          "column 26: expected an attribute (e.g. department), found the end; e.g. \"department eq 'Sales' and not startswith(userPrincipalName, 'svc-')\" " +
          '(docs/configuration.md, Filter)',
      },
    ]);
  });

  it('resolves a valid Filter and LicensedUsersOnly', () => {
    const resolved = resolveConfig(config({ Mappings: [mapping({ Filter: "companyName in ('A','B')" })], Options: { LicensedUsersOnly: true } }), {});
    expect(resolved.mappings[0]?.filter?.text).toBe("companyName in ('A','B')");
    expect(resolved.mappings[0]?.filter?.expression).toEqual({ op: 'in', attribute: { kind: 'text', name: 'companyName' }, values: ['A', 'B'] });
    expect(resolved.options.licensedUsersOnly).toBe(true);
  });
});

describe('mapping Filter: agrees with the plain reading of test/support/expectedDestinations', () => {
  const attributes = ['department', 'companyName', 'jobTitle', 'userPrincipalName', 'accountEnabled', 'extensionAttribute3'] as const;
  const texts = ['Sales', 'sales', 'Ops', "O'Neil", '', 'svc-a'];

  function randomFilter(random: () => number, depth: number): string {
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;
    const roll = random();
    if (depth > 0 && roll < 0.2) return `(${randomFilter(random, depth - 1)} ${pick(['and', 'or'])} ${randomFilter(random, depth - 1)})`;
    if (depth > 0 && roll < 0.35) return `${randomFilter(random, depth - 1)} ${pick(['and', 'or', 'AND'])} not ${randomFilter(random, depth - 1)}`;
    if (depth > 0 && roll < 0.45) return `not ${randomFilter(random, depth - 1)}`;
    const attribute = pick(attributes);
    if (attribute === 'accountEnabled') return `accountEnabled ${pick(['eq', 'ne'])} ${pick(['true', 'false', 'null'])}`;
    const literal = () => (random() < 0.15 ? 'null' : quote(pick(texts)));
    const shape = random();
    if (shape < 0.4) return `${attribute} ${pick(['eq', 'ne', 'Eq'])} ${literal()}`;
    if (shape < 0.6) return `${attribute} in (${[literal(), literal(), literal()].slice(0, 1 + Math.floor(random() * 3)).join(', ')})`;
    return `${pick(['startswith', 'endswith'])}(${attribute}, ${quote(pick(texts).slice(0, 2))})`;
  }

  function randomUser(random: () => number): FakeUser {
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const text = () => (random() < 0.2 ? null : pick(texts));
    return {
      id: 'u', userPrincipalName: pick(['svc-a@x.com', 'sales@x.com', 'ann@x.com']), mail: null, displayName: null, givenName: null, surname: null,
      jobTitle: text(), department: text(), companyName: text(), officeLocation: null, streetAddress: null, city: null, state: null, postalCode: null,
      country: null, businessPhones: [], mobilePhone: null, faxNumber: null, employeeId: null, accountEnabled: random() < 0.5, userType: 'Member',
      proxyAddresses: [], onPremisesExtensionAttributes: { extensionAttribute3: text() }, managerId: null, assignedLicenses: [], mailboxPurpose: null, directoryExtensions: {},
    };
  }

  it('gives the same answer for 3,000 random filters and users (and the generator makes both answers)', () => {
    const random = seededRandom(17);
    const answers = { true: 0, false: 0 };
    for (let i = 0; i < 3_000; i += 1) {
      const filter = randomFilter(random, 3);
      const user = randomUser(random);
      const product = matchesUserFilter(parseUserFilter(filter), {
        ...user, extensionAttributes: user.onPremisesExtensionAttributes,
      });
      expect(product, `${filter} on ${JSON.stringify(user)}`).toBe(filterHolds(filter, user));
      answers[String(product) as 'true' | 'false'] += 1;
    }
    expect(answers.true).toBeGreaterThan(300);
    expect(answers.false).toBeGreaterThan(300);
  });
});
