/**
 * Options.LicensedUsersOnly and a mapping's Filter deciding scope, run as the CLI runs a sync
 * (pull, plan, in-process uploads) on Azurite with the fake Graph and Signature 365, and checked
 * against test/support/expectedDestinations.ts, which reads the filters its own way. Users who
 * stop matching (a department moved, a license removed) leave the destination; a user who starts
 * matching arrives; the deletions go through the gate like any leaver's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTenant, startFakeGraph, type FakeGraph } from '../../fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../../fakes/signature365';
import { SECRET_SETTING, TOKEN_SETTING, configForFakes, newSecrets } from '../../support/cliConfig';
import { expectedDestinations, type RawMapping, type RawOptions } from '../../support/expectedDestinations';
import { destinationDifferences } from '../../support/faultRuns';
import { inProcessConnector } from '../../support/inProcessSync';
import { isolatedStorage } from '../../support/storage';

const { clientSecret, token } = newSecrets();
const SALES_NOT_SVC = "department eq 'Sales' and not startswith(userPrincipalName, 'svc-')";
const OPTIONS: RawOptions = { LicensedUsersOnly: true, DeleteAfterDays: 0, RequireMail: true };

let graph: FakeGraph;
let s365: FakeSignature365;
let tenant: FakeTenant;

beforeAll(async () => {
  tenant = new FakeTenant({ seed: 1717 });
  tenant.generate({ users: 120, groups: 8, seed: 1717, guestShare: 0.05, disabledShare: 0.03 });
  const users = tenant.activeUsers();
  // Every fifth user has no license; one Sales user is a service account.
  users.forEach((user, index) => {
    if (index % 5 === 0) tenant.updateUser(user.id, { assignedLicenses: [] });
  });
  const sales = users.filter((user) => user.department === 'Sales' && user.userType === 'Member');
  const service = sales[1];
  if (service === undefined) throw new Error('the generated tenant has fewer than 2 Sales members');
  tenant.updateUser(service.id, { userPrincipalName: 'svc-mailer@contoso.example', assignedLicenses: [{ skuId: 'c7df2760-2c81-4ef7-b578-5b5392b571df', disabledPlans: [] }] });
  graph = await startFakeGraph({ tenant, clientSecret });
  s365 = await startFakeSignature365({
    tenants: [
      { name: 'Sales', token, tenantId: '5a1e5000-0000-4000-8000-000000001701' },
      { name: 'Partners', token: `${token}p`, tenantId: '5a1e5000-0000-4000-8000-000000001702' },
    ],
  });
});
afterAll(async () => {
  await Promise.all([graph?.close(), s365?.close()]);
});

describe('LicensedUsersOnly and the mapping Filter on the engine', () => {
  it('send exactly the users the independent expectation names, and follow users who stop or start matching', async () => {
    const mappings: RawMapping[] = [
      { From: 'EntraId:Default', To: 'Signature365:Sales', LimitToGroups: [], Filter: SALES_NOT_SVC },
      { From: 'EntraId:Default', To: 'Signature365:Partners', LimitToGroups: [], Filter: "companyName in ('Partner Ltd', 'Fabrikam') or extensionAttribute1 eq 'LEGAL'" },
    ];
    const base = configForFakes(graph, s365.endpoint, 'Sales');
    const raw = {
      ...base,
      Signature365: {
        Sales: { Token: `@AppSetting(${TOKEN_SETTING})`, Endpoint: s365.endpoint },
        Partners: { Token: '@AppSetting(S365_TOKEN_PARTNERS)', Endpoint: s365.endpoint },
      },
      Mappings: mappings,
      Options: { ...OPTIONS, IncludeGuests: true, DeleteThreshold: 'off' },
    };
    const options: RawOptions = { ...OPTIONS, IncludeGuests: true };
    const connector = await inProcessConnector(raw, { [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token, S365_TOKEN_PARTNERS: `${token}p` }, isolatedStorage());

    const first = await connector.sync();
    expect(first.summary.failures).toEqual([]);
    expect(destinationDifferences(tenant, s365, graph.tenantId, mappings, options)).toEqual([]);
    const expected = expectedDestinations(tenant, mappings, options);
    const salesUsers = expected.get('Sales')?.users ?? new Map<string, string[]>();
    // The case is not empty, and each filter keeps some users out.
    expect(salesUsers.size).toBeGreaterThan(3);
    expect((expected.get('Partners')?.users.size ?? 0)).toBeGreaterThan(3);
    const salesMembers = tenant.activeUsers().filter((user) => user.department === 'Sales' && user.accountEnabled);
    expect(salesMembers.some((user) => user.assignedLicenses.length === 0 && !salesUsers.has(user.id))).toBe(true);
    expect(salesMembers.some((user) => user.userPrincipalName.startsWith('svc-') && !salesUsers.has(user.id))).toBe(true);

    // Changes: one Sales user moves to Finance, one loses its license, an unlicensed one gets one.
    const [moved, unlicensed] = [...salesUsers.keys()];
    const licensedNow = salesMembers.find((user) => user.assignedLicenses.length === 0 && user.mail !== null);
    if (moved === undefined || unlicensed === undefined || licensedNow === undefined) throw new Error('the case needs two Sales users and an unlicensed one');
    tenant.updateUser(moved, { department: 'Finance' });
    tenant.updateUser(unlicensed, { assignedLicenses: [] });
    tenant.updateUser(licensedNow.id, { assignedLicenses: [{ skuId: 'c7df2760-2c81-4ef7-b578-5b5392b571df', disabledPlans: [] }] });

    const second = await connector.sync();
    expect(second.summary.failures).toEqual([]);
    const held = new Set(s365.tenant('Sales').users(graph.tenantId).map((user) => user.id));
    expect([held.has(moved), held.has(unlicensed), held.has(licensedNow.id)]).toEqual([false, false, true]);
    expect(destinationDifferences(tenant, s365, graph.tenantId, mappings, options)).toEqual([]);
  });
});
