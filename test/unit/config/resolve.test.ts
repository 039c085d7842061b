import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/config/resolve';
import { CLIENT_ID, CLIENT_SECRET, GROUP_ID, TENANT_ID, TOKEN, config, destination, issuesOf, mapping, source } from './builders';

const TLS_DIR = resolve(__dirname, '../../fakes/tls');
const CLIENT_PEM = readFileSync(resolve(TLS_DIR, 'client-cert.pem'), 'utf8');

function sourceOf(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) {
  const [first] = resolveConfig(raw, env, { baseDir: TLS_DIR }).sources;
  if (first === undefined) throw new Error('no source');
  return first;
}

describe('resolveConfig: defaults', () => {
  it('fills every option default when Options is absent', () => {
    expect(resolveConfig(config(), {}).options).toEqual({
      deltaIntervalMinutes: 15,
      fullReconcileHours: 24,
      includeDisabledUsers: false,
      includeGuests: false,
      requireMail: true,
      licensedUsersOnly: false,
      onConflict: 'All',
      deleteAfterDays: 7,
      deleteThreshold: { kind: 'percent', percent: 20 },
      deleteThresholdMax: 500,
      auditRetentionDays: 30,
    });
  });

  it('keeps the options that are given and defaults the rest', () => {
    const options = resolveConfig(config({ Options: { DeleteAfterDays: 0, OnConflict: 'FirstMapping' } }), {}).options;
    expect(options).toMatchObject({ deleteAfterDays: 0, onConflict: 'FirstMapping', deltaIntervalMinutes: 15, requireMail: true });
  });

  it('uses the Global cloud and the public Signature 365 endpoint by default', () => {
    const resolved = resolveConfig(config(), {});
    expect(resolved.sources[0]).toMatchObject({ authorityHost: 'https://login.microsoftonline.com', graphEndpoint: 'https://graph.microsoft.com' });
    expect(resolved.destinations[0]).toEqual({ name: 'Tenant1', token: TOKEN, endpoint: 'https://app.signature365.com' });
  });

  it('reads an absent LimitToGroups, Include and Exclude as empty: the whole source', () => {
    const resolved = resolveConfig(config({ Mappings: [{ From: 'EntraId:Default', To: 'Signature365:Tenant1' }] }), {});
    expect(resolved.mappings).toEqual([{ index: 0, source: 'Default', destination: 'Tenant1', limitToGroups: [], include: [], exclude: [], filter: null }]);
  });

  it('lower-cases GUIDs and UPNs and drops duplicates', () => {
    const raw = config({
      EntraId: { Default: source({ TenantId: TENANT_ID.toUpperCase(), ClientId: CLIENT_ID.toUpperCase() }) },
      Signature365: { Tenant1: destination({ TenantId: 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE' }) },
      Mappings: [mapping({ LimitToGroups: [GROUP_ID.toUpperCase(), GROUP_ID], Include: ['Ann@Contoso.com'], Exclude: ['ANN@contoso.com', GROUP_ID.toUpperCase()] })],
    });
    const resolved = resolveConfig(raw, {});
    expect(resolved.sources[0]?.tenantId).toBe(TENANT_ID);
    expect(resolved.sources[0]?.auth).toMatchObject({ clientId: CLIENT_ID });
    expect(resolved.destinations[0]?.tenantId).toBe('aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee');
    expect(resolved.mappings[0]).toMatchObject({ limitToGroups: [GROUP_ID], include: ['ann@contoso.com'], exclude: ['ann@contoso.com', GROUP_ID] });
  });

  it('accepts a $schema key for editors', () => {
    expect(() => resolveConfig({ $schema: './config.schema.json', ...config() }, {})).not.toThrow();
  });
});

describe('resolveConfig: vendor spellings', () => {
  it('accepts the source prefix in any case ("EntraID:Default", as the vendor docs write it)', () => {
    const raw = config({ Mappings: [mapping({ From: 'EntraID:Default', To: 'signature365:Tenant1' })] });
    expect(resolveConfig(raw, {}).mappings[0]).toMatchObject({ source: 'Default', destination: 'Tenant1' });
  });

  it('accepts ClientId under Signature365 as the token (the on-premises connector spelling)', () => {
    const raw = config({ Signature365: { Default: { TenantId: TENANT_ID, ClientId: TOKEN } }, Mappings: [mapping({ To: 'Signature365:Default' })] });
    expect(resolveConfig(raw, {}).destinations).toEqual([{ name: 'Default', token: TOKEN, tenantId: TENANT_ID, endpoint: 'https://app.signature365.com' }]);
  });

  it('resolves the two-destination example of the vendor docs', () => {
    const raw = config({
      Signature365: { Tenant1: destination(), Tenant2: destination({ Token: `${TOKEN}2` }) },
      Mappings: [
        mapping({ To: 'Signature365:Tenant1', LimitToGroups: ['622b1005-624a-457b-a148-566d50f3f1ff'] }),
        mapping({ To: 'Signature365:Tenant2', LimitToGroups: ['201b4787-3b9e-411d-8def-a464b9d2d5df'] }),
      ],
    });
    const resolved = resolveConfig(raw, {});
    expect(resolved.mappings.map((m) => [m.index, m.destination, m.limitToGroups])).toEqual([
      [0, 'Tenant1', ['622b1005-624a-457b-a148-566d50f3f1ff']],
      [1, 'Tenant2', ['201b4787-3b9e-411d-8def-a464b9d2d5df']],
    ]);
  });
});

describe('resolveConfig: authentication', () => {
  it('resolves a client secret', () => {
    expect(sourceOf(config()).auth).toEqual({ kind: 'clientSecret', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  });

  it('reads a certificate file relative to the base directory', () => {
    const raw = config({ EntraId: { Default: source({ ClientSecret: undefined, Certificate: { Path: 'client-cert.pem' } }) } });
    expect(sourceOf(raw).auth).toEqual({ kind: 'certificate', clientId: CLIENT_ID, certificatePem: CLIENT_PEM, sendCertificateChain: false });
  });

  it('takes an inline PEM and SendCertificateChain', () => {
    const raw = config({ EntraId: { Default: source({ ClientSecret: undefined, Certificate: { Pem: CLIENT_PEM, SendCertificateChain: true } }) } });
    expect(sourceOf(raw).auth).toMatchObject({ kind: 'certificate', certificatePem: CLIENT_PEM, sendCertificateChain: true });
  });

  it('names the certificate path it could not read', () => {
    const raw = config({ EntraId: { Default: source({ ClientSecret: undefined, Certificate: { Path: 'missing.pem' } }) } });
    const [issue] = issuesOf(raw, {}, { baseDir: TLS_DIR });
    expect(issue?.path).toBe('EntraId.Default.Certificate.Path');
    expect(issue?.message).toContain(`cannot read ${JSON.stringify(resolve(TLS_DIR, 'missing.pem'))} (ENOENT)`);
  });

  it('rejects a PEM without a private key, without quoting it', () => {
    const certificateOnly = readFileSync(resolve(TLS_DIR, 'ca.pem'), 'utf8');
    const raw = config({ EntraId: { Default: source({ ClientSecret: undefined, Certificate: { Pem: certificateOnly } }) } });
    const issues = issuesOf(raw);
    expect(issues).toEqual([{ path: 'EntraId.Default.Certificate.Pem', message: expect.stringMatching(/^holds no PEM private key; give the certificate and its private key in one PEM/) }]);
    expect(JSON.stringify(issues)).not.toContain('MII');
  });

  it('treats ManagedIdentity: true as system-assigned', () => {
    const raw = config({ EntraId: { Default: { TenantId: TENANT_ID, ManagedIdentity: true } } });
    expect(sourceOf(raw).auth).toEqual({ kind: 'managedIdentity' });
  });

  it('treats ManagedIdentity: true with a ClientId as that user-assigned identity', () => {
    const raw = config({ EntraId: { Default: { TenantId: TENANT_ID, ClientId: CLIENT_ID.toUpperCase(), ManagedIdentity: true } } });
    expect(sourceOf(raw).auth).toEqual({ kind: 'managedIdentity', clientId: CLIENT_ID });
  });

  it('takes a user-assigned identity from ManagedIdentity.ClientId', () => {
    const raw = config({ EntraId: { Default: { TenantId: TENANT_ID, ManagedIdentity: { ClientId: CLIENT_ID } } } });
    expect(sourceOf(raw).auth).toEqual({ kind: 'managedIdentity', clientId: CLIENT_ID });
  });
});

describe('resolveConfig: clouds', () => {
  it.each([
    ['Global', 'https://login.microsoftonline.com', 'https://graph.microsoft.com'],
    ['USGov', 'https://login.microsoftonline.us', 'https://graph.microsoft.us'],
    ['USGovDoD', 'https://login.microsoftonline.us', 'https://dod-graph.microsoft.us'],
    ['China', 'https://login.chinacloudapi.cn', 'https://microsoftgraph.chinacloudapi.cn'],
  ])('maps Cloud %s to its authority and Graph root', (cloud, authorityHost, graphEndpoint) => {
    expect(sourceOf(config({ EntraId: { Default: source({ Cloud: cloud }) } }))).toMatchObject({ authorityHost, graphEndpoint });
  });

  it('lets explicit AuthorityHost and GraphEndpoint win over Cloud, without a trailing slash', () => {
    const raw = config({ EntraId: { Default: source({ Cloud: 'China', AuthorityHost: 'https://login.example.test/', GraphEndpoint: 'https://graph.example.test' }) } });
    expect(sourceOf(raw)).toMatchObject({ authorityHost: 'https://login.example.test', graphEndpoint: 'https://graph.example.test' });
  });
});

describe('resolveConfig: Signature 365 endpoint', () => {
  it('allows http for a loopback fake and trims the trailing slash', () => {
    const raw = config({ Signature365: { Tenant1: destination({ Endpoint: 'http://127.0.0.1:7071/' }) } });
    expect(resolveConfig(raw, {}).destinations[0]?.endpoint).toBe('http://127.0.0.1:7071');
  });

  it('refuses http for any other host', () => {
    expect(issuesOf(config({ Signature365: { Tenant1: destination({ Endpoint: 'http://s365.example.com' }) } }))).toEqual([
      { path: 'Signature365.Tenant1.Endpoint', message: '"http://s365.example.com" must use https (http is accepted only for 127.0.0.1 and localhost)' },
    ]);
  });
});

describe('resolveConfig: secrets from app settings', () => {
  const withSettings = config({
    EntraId: { Default: source({ ClientSecret: '@AppSetting(ENTRA_CLIENT_SECRET)' }) },
    Signature365: { Tenant1: destination({ Token: '@AppSetting(S365_TOKEN_TENANT1)' }) },
  });

  it('reads "@AppSetting(NAME)" values from the environment', () => {
    const resolved = resolveConfig(withSettings, { ENTRA_CLIENT_SECRET: CLIENT_SECRET, S365_TOKEN_TENANT1: TOKEN });
    expect(resolved.sources[0]?.auth).toMatchObject({ clientSecret: CLIENT_SECRET });
    expect(resolved.destinations[0]?.token).toBe(TOKEN);
  });

  it('names the JSON path and the setting when the setting is missing', () => {
    expect(issuesOf(withSettings, { S365_TOKEN_TENANT1: TOKEN })).toEqual([
      {
        path: 'EntraId.Default.ClientSecret',
        message: 'app setting ENTRA_CLIENT_SECRET is not set; add it to the app settings (or the environment) or write the value here',
      },
    ]);
  });

  it('says how to fix a Key Vault reference the platform did not resolve, without echoing it', () => {
    const reference = '@Microsoft.KeyVault(SecretUri=https://kv-s365.vault.azure.net/secrets/entra-secret/)';
    const error = issuesOf(withSettings, { ENTRA_CLIENT_SECRET: reference, S365_TOKEN_TENANT1: TOKEN });
    expect(error).toEqual([
      {
        path: 'EntraId.Default.ClientSecret',
        message: "app setting ENTRA_CLIENT_SECRET holds an unresolved Key Vault reference; grant the app's identity 'Key Vault Secrets User' on the vault",
      },
    ]);
    expect(JSON.stringify(error)).not.toContain('vault.azure.net');
  });

  it('refuses a Key Vault reference written in config.json itself', () => {
    const raw = config({ EntraId: { Default: source({ ClientSecret: '@Microsoft.KeyVault(VaultName=kv;SecretName=s)' }) } });
    expect(issuesOf(raw)).toEqual([
      {
        path: 'EntraId.Default.ClientSecret',
        message: 'a Key Vault reference is resolved only in an app setting; put it in an app setting (e.g. MY_SECRET) and write "@AppSetting(MY_SECRET)" here',
      },
    ]);
  });

  it('checks the idscl_ prefix of a token read from a setting, without echoing it', () => {
    const issues = issuesOf(withSettings, { ENTRA_CLIENT_SECRET: CLIENT_SECRET, S365_TOKEN_TENANT1: 'Zx9-not-a-token-value' });
    expect(issues).toEqual([
      {
        path: 'Signature365.Tenant1.Token',
        message: 'the value of app setting S365_TOKEN_TENANT1 does not start with "idscl_"; copy the token from Signature 365 (Integrations > Entra ID connector)',
      },
    ]);
  });

  it('reports a malformed reference', () => {
    const raw = config({ EntraId: { Default: source({ ClientSecret: '@AppSetting(MY SECRET)' }) } });
    expect(issuesOf(raw)).toEqual([
      { path: 'EntraId.Default.ClientSecret', message: 'write an app setting reference as "@AppSetting(NAME)" (letters, digits, "_", "." or "-")' },
    ]);
  });
});
