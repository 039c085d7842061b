/**
 * Directory extensions and domains through the CLI, as child processes against the fake Graph and
 * Signature 365: `extensions list` with and without Application.Read.All, `test-connection`'s
 * optional checks (WARN, not FAIL, when a permission is missing), a sync that sends a configured
 * extension in the record, and `status --mail-domains` reporting users whose mail domain the
 * tenant has not verified (and what is missing without Domain.Read.All).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeTenant, startFakeGraph, type FakeGraph } from '../fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../fakes/signature365';
import { killCliChildren, runCli } from '../support/cliProcess';
import { SECRET_SETTING, TOKEN_SETTING, configForFakes, newSecrets, tempFolder, type TempFolder } from '../support/cliConfig';

const APP_ID = 'b7d8e648-520f-41d3-b9c0-fdeb91768a0a';
const OTHER_APP_ID = '0c1d2e3f-4a5b-4c6d-8e7f-90a1b2c3d4e5';
const ALL_PERMISSIONS = ['User.Read.All', 'GroupMember.Read.All', 'Group.Read.All', 'Application.Read.All', 'Domain.Read.All'];
const { clientSecret, token } = newSecrets();
const env = { [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token };
let granted: FakeGraph;
let basic: FakeGraph;
let s365: FakeSignature365;
let folder: TempFolder;
let costCenter: string;
let pronoun: string;
let syncedAttribute: string;
let typoUser: string;

function tenantWithExtensionsAndDomains(): FakeTenant {
  const tenant = new FakeTenant({ seed: 9 });
  tenant.generate({ users: 24, groups: 3, seed: 9, guestShare: 0, disabledShare: 0 });
  costCenter = tenant.registerExtensionProperty({ appId: APP_ID, appDisplayName: 'HR attributes', name: 'costCenter' });
  pronoun = tenant.registerExtensionProperty({ appId: APP_ID, appDisplayName: 'HR attributes', name: 'pronoun' });
  syncedAttribute = tenant.registerExtensionProperty({ appId: OTHER_APP_ID, appDisplayName: 'Tenant Schema Extension App', name: 'employeeNumber', isSyncedFromOnPremises: true });
  tenant.addDomain({ id: 'fabrikam.example', isVerified: false, isDefault: false });
  const [first, second] = tenant.activeUsers();
  if (first === undefined || second === undefined) throw new Error('the generated tenant has too few users');
  tenant.updateUser(first.id, { directoryExtensions: { [costCenter]: 'CC-4711' } });
  tenant.updateUser(second.id, { mail: `${second.id.slice(0, 8)}@fabrikam.example` });
  typoUser = second.id;
  return tenant;
}

async function configFor(graph: FakeGraph, name: string, extensionProperties: string[]): Promise<string> {
  const raw = configForFakes(graph, s365.endpoint);
  const source = (raw.EntraId as Record<string, Record<string, unknown>>).Default;
  return folder.file(name, { ...raw, EntraId: { Default: { ...source, ExtensionProperties: extensionProperties } } });
}

beforeAll(async () => {
  granted = await startFakeGraph({ tenant: tenantWithExtensionsAndDomains(), clientSecret, permissions: ALL_PERMISSIONS });
  basic = await startFakeGraph({ tenant: tenantWithExtensionsAndDomains(), clientSecret });
  s365 = await startFakeSignature365({ tenants: [{ name: 'Tenant1', token, tenantId: '5a1e5000-0000-4000-8000-0000000000e1' }] });
  folder = await tempFolder();
});
afterEach(() => killCliChildren());
afterAll(async () => {
  killCliChildren();
  await Promise.all([granted.close(), basic.close(), s365.close()]);
  await folder.remove();
});

describe('s365-connector extensions list', () => {
  it('lists the user extension properties of the tenant\'s app registrations, marking the configured ones and those not found', async () => {
    const missing = 'extension_b7d8e648520f41d3b9c0fdeb91768a0a_notThere';
    const config = await configFor(granted, 'list.json', [costCenter, missing]);
    const run = await runCli(['extensions', 'list', '--config', config], env, { timeoutInMs: 30_000 });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toContain('EntraId:Default (tenant ');
    expect(run.stdout).toContain('3 extension properties on users in 2 app registration(s) searched');
    expect(run.stdout).toContain(`  ${costCenter}  String, "HR attributes", configured`);
    expect(run.stdout).toContain(`  ${pronoun}  String, "HR attributes"\n`);
    expect(run.stdout).toContain(`  ${syncedAttribute}  String, "Tenant Schema Extension App", synced from on-premises`);
    expect(run.stdout).toContain(`Configured in ExtensionProperties but not found: ${missing}`);
    expect(run.stdout + run.stderr).not.toContain(clientSecret);
  });

  it('searches only the named application with --app, and prints JSON with --json', async () => {
    const config = await configFor(granted, 'list-app.json', []);
    const run = await runCli(['extensions', 'list', '--config', config, '--app', OTHER_APP_ID, '--json'], env, { timeoutInMs: 30_000 });
    expect(run.code).toBe(0);
    const json = JSON.parse(run.stdout) as { Default: { kind: string; properties: { name: string }[]; applicationsSearched: number } };
    expect(json.Default).toMatchObject({ kind: 'listed', applicationsSearched: 1 });
    expect(json.Default.properties.map((property) => property.name)).toEqual([syncedAttribute]);
    const mark = granted.requests.length;
    const bad = await runCli(['extensions', 'list', '--config', config, '--app', 'HR attributes'], env, { timeoutInMs: 30_000 });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--app "HR attributes" is not an application id');
    expect(granted.requests.length).toBe(mark);
  });

  it('says which permission is missing without Application.Read.All, and that the configured ones are read all the same', async () => {
    const config = await configFor(basic, 'list-basic.json', [costCenter]);
    const run = await runCli(['extensions', 'list', '--config', config], env, { timeoutInMs: 30_000 });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('cannot list extension properties: the app lacks the optional application permission Application.Read.All');
    expect(run.stdout).toContain('The 1 configured in ExtensionProperties are read all the same');
  });
});

describe('s365-connector test-connection: optional permissions', () => {
  it('checks the configured extensions and lists the domains when both optional permissions are granted', async () => {
    const config = await configFor(granted, 'tc.json', [costCenter]);
    const run = await runCli(['test-connection', '--config', config], env, { timeoutInMs: 30_000 });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/OK {4}EntraId:Default users\/delta .*read 1 object/);
    expect(run.stdout).toContain('OK    EntraId:Default extension properties (Application.Read.All): the 1 configured extension property exists');
    expect(run.stdout).toContain('OK    EntraId:Default domains (Domain.Read.All): 2 domain(s); verified: contoso.example; not verified: fabrikam.example');
  });

  it('fails the users/delta check with the config key to fix when a configured extension does not exist', async () => {
    const unknown = 'extension_b7d8e648520f41d3b9c0fdeb91768a0a_costCentre';
    const config = await configFor(granted, 'tc-typo.json', [unknown]);
    const run = await runCli(['test-connection', '--config', config], env, { timeoutInMs: 30_000 });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/FAIL {2}EntraId:Default users\/delta .*HTTP 400/);
    expect(run.stdout).toContain(`remove or correct "${unknown}" in EntraId.Default.ExtensionProperties`);
    expect(run.stdout).toContain('→ correct ExtensionProperties in this source as the message says');
    expect(run.stdout).toContain(`WARN  EntraId:Default extension properties (Application.Read.All): 1 of 1 configured extension properties not found on their applications: ${unknown}`);
  });

  it('warns, and still passes, when the optional permissions are missing', async () => {
    const config = await configFor(basic, 'tc-basic.json', [costCenter]);
    const run = await runCli(['test-connection', '--config', config], env, { timeoutInMs: 30_000 });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/OK {4}EntraId:Default users\/delta .*read 1 object/);
    expect(run.stdout).toContain('WARN  EntraId:Default extension properties (Application.Read.All): cannot list extension properties: the app lacks the optional application permission Application.Read.All');
    expect(run.stdout).toContain('WARN  EntraId:Default domains (Domain.Read.All): the app lacks the optional application permission Domain.Read.All');
    expect(run.stdout).not.toContain('FAIL');
  });
});

describe('sync with extension properties, then status --mail-domains', () => {
  it('sends the configured extension in the record, and reports the in-scope user whose mail domain is not verified', async () => {
    const config = await configFor(granted, 'sync.json', [costCenter]);
    const state = `${folder.path}/state-granted`;
    const sync = await runCli(['sync', '--config', config, '--state', state], env, { timeoutInMs: 120_000 });
    expect(sync.code).toBe(0);
    const held = s365.tenant('Tenant1').users(granted.tenantId);
    const withCostCenter = held.filter((user) => (user.extensionAttributes as Record<string, unknown>)[costCenter] !== undefined);
    expect(withCostCenter.map((user) => (user.extensionAttributes as Record<string, unknown>)[costCenter])).toEqual(['CC-4711']);
    expect(held.every((user) => !Object.hasOwn(user.extensionAttributes as Record<string, unknown>, pronoun))).toBe(true);

    const status = await runCli(['status', '--config', config, '--state', state, '--mail-domains'], env, { timeoutInMs: 60_000 });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('Mail domains of Default: 1 in-scope user(s) have a mail domain the tenant has not verified (verified: contoso.example)');
    expect(status.stdout).toContain('  domains: fabrikam.example (1)');
    expect(status.stdout).toContain(`(${typoUser})`);
    const json = await runCli(['status', '--config', config, '--state', state, '--mail-domains', '--json'], env, { timeoutInMs: 60_000 });
    expect((JSON.parse(json.stdout) as { mailDomains: unknown[] }).mailDomains).toEqual([
      expect.objectContaining({ source: 'Default', kind: 'checked', unverifiedMail: expect.objectContaining({ count: 1 }) }),
    ]);
  });

  it('says what is missing without Domain.Read.All', async () => {
    const config = await configFor(basic, 'sync-basic.json', []);
    const state = `${folder.path}/state-basic`;
    expect((await runCli(['sync', '--config', config, '--state', state], env, { timeoutInMs: 120_000 })).code).toBe(0);
    const status = await runCli(['status', '--config', config, '--state', state, '--mail-domains'], env, { timeoutInMs: 60_000 });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('Mail domains of Default: not checked: the app lacks the optional application permission Domain.Read.All');
  });
});
