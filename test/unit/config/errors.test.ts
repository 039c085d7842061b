import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/config/resolve';
import { CLIENT_ID, CLIENT_SECRET, TENANT_ID, TOKEN, config, destination, errorOf, issuesOf, mapping, source } from './builders';

describe('config errors: references', () => {
  it('names an undefined destination and lists the defined ones', () => {
    const raw = config({
      Signature365: { Tenant1: destination(), Tenant2: destination() },
      Mappings: [mapping(), mapping({ To: 'Signature365:Tenant3' })],
    });
    expect(issuesOf(raw)).toEqual([
      { path: 'Mappings[1].To', message: '"Signature365:Tenant3" is not defined under Signature365; defined: "Tenant1", "Tenant2"' },
    ]);
  });

  it('suggests the defined name when only the case differs', () => {
    expect(issuesOf(config({ Mappings: [mapping({ From: 'EntraId:default' })] }))).toEqual([
      { path: 'Mappings[0].From', message: '"EntraId:default" is not defined under EntraId (did you mean "EntraId:Default"? names are case-sensitive); defined: "Default"' },
    ]);
  });

  it('asks for the prefix when a mapping names a bare source', () => {
    expect(issuesOf(config({ Mappings: [mapping({ From: 'Default' })] }))).toEqual([
      { path: 'Mappings[0].From', message: '"Default" must be written "EntraId:<Name>" with the name as written in its section, e.g. "EntraId:Default"' },
    ]);
  });

  it('reports undefined references together with problems elsewhere', () => {
    const raw = config({ EntraId: { Default: source({ TenantId: 'contoso.onmicrosoft.com' }) }, Mappings: [mapping({ To: 'Signature365:Nope' })] });
    expect(issuesOf(raw).map((issue) => issue.path)).toEqual(['EntraId.Default.TenantId', 'Mappings[0].To']);
  });
});

describe('config errors: one source per tenant and destination', () => {
  it('rejects two sources with the same TenantId (any case) sent to one destination, naming both, the mappings and the fix', () => {
    const raw = config({
      EntraId: { Sales: source(), Support: source({ TenantId: TENANT_ID.toUpperCase() }) },
      Mappings: [mapping({ From: 'EntraId:Sales' }), mapping({ From: 'EntraId:Support' })],
    });
    expect(issuesOf(raw)).toEqual([
      {
        path: 'Mappings[1].From',
        message:
          `"EntraId:Support" and "EntraId:Sales" (Mappings[0]) have the same TenantId (${TENANT_ID}) and both go to "Signature365:Tenant1", ` +
          'which keeps one set of users per tenant, so each would delete what the other sent; map only one of them to "Signature365:Tenant1" ' +
          'and widen its mapping (LimitToGroups, Include) to cover both',
      },
    ]);
  });

  it('accepts the same tenant under two names going to different destinations, and one source in several mappings to one destination', () => {
    const twoDestinations = config({
      EntraId: { Sales: source(), Support: source() },
      Signature365: { Tenant1: destination(), Tenant2: destination() },
      Mappings: [mapping({ From: 'EntraId:Sales' }), mapping({ From: 'EntraId:Support', To: 'Signature365:Tenant2' })],
    });
    expect(() => resolveConfig(twoDestinations, {})).not.toThrow();
    const oneSourceTwice = config({ Mappings: [mapping(), mapping({ LimitToGroups: [] })] });
    expect(() => resolveConfig(oneSourceTwice, {})).not.toThrow();
  });
});

describe('config errors: GUIDs', () => {
  it('says which GUID is malformed and where to find the right one', () => {
    expect(issuesOf(config({ EntraId: { Default: source({ TenantId: 'contoso.onmicrosoft.com' }) } }))).toEqual([
      {
        path: 'EntraId.Default.TenantId',
        message:
          "\"contoso.onmicrosoft.com\" is not a GUID; use the Directory (tenant) ID from the app registration's Overview page, e.g. 622b1005-624a-457b-a148-566d50f3f1ff",
      },
    ]);
  });

  it('points at the group entry holding a name instead of an object id', () => {
    expect(issuesOf(config({ Mappings: [mapping({ LimitToGroups: [TENANT_ID, 'Sales Team'] })] }))).toEqual([
      {
        path: 'Mappings[0].LimitToGroups[1]',
        message: "\"Sales Team\" is not a GUID; use the group's Object ID (Entra admin center > Groups > the group), not its name, e.g. 622b1005-624a-457b-a148-566d50f3f1ff",
      },
    ]);
  });

  it('does not echo a client secret pasted into ClientId', () => {
    const issues = issuesOf(config({ EntraId: { Default: source({ ClientId: CLIENT_SECRET }) } }));
    expect(issues).toEqual([{ path: 'EntraId.Default.ClientId', message: expect.stringMatching(/^a value that looks like a secret \(not shown\) is not a GUID/) }]);
  });

  it('rejects Include entries that are neither object ids nor UPNs', () => {
    expect(issuesOf(config({ Mappings: [mapping({ Include: ['Ann Smith'] })] }))).toEqual([
      { path: 'Mappings[0].Include[0]', message: '"Ann Smith" is neither an object id (GUID) nor a user principal name (name@domain); list user object ids or UPNs' },
    ]);
  });
});

describe('config errors: shape', () => {
  it('states the minimum for an empty config', () => {
    const [issue, ...rest] = issuesOf({});
    expect(rest).toEqual([]);
    expect(issue?.path).toBe('');
    expect(issue?.message).toMatch(
      /^the configuration is empty; the minimum is one source under EntraId, one destination under Signature365 and one entry in Mappings, e\.g\. \{ "EntraId": /,
    );
  });

  it('refuses a config that is not an object', () => {
    expect(issuesOf([])[0]?.message).toMatch(/^the configuration must be a JSON object, found an array; the minimum is/);
  });

  it('names a missing section and shows an example', () => {
    const raw = config();
    delete raw.Signature365;
    expect(issuesOf(raw)).toEqual([
      {
        path: 'Signature365',
        message: 'required; add at least one entry, e.g. "Signature365": { "Tenant1": { "Token": "@AppSetting(S365_TOKEN_TENANT1)" } }',
      },
      { path: 'Mappings[0].To', message: '"Signature365:Tenant1" is not defined under Signature365; defined: none' },
    ]);
  });

  it('refuses an empty mapping list', () => {
    expect(issuesOf(config({ Mappings: [] }))).toEqual([
      { path: 'Mappings', message: 'no mapping; add at least one, e.g. "Mappings": [ { "From": "EntraId:Default", "To": "Signature365:Tenant1", "LimitToGroups": [] } ]' },
    ]);
  });

  it('names an unknown key, guesses the intended one and lists the allowed keys', () => {
    const raw = config({ EntraId: { Default: { TenantId: TENANT_ID, ClientId: CLIENT_ID, ClientSecert: CLIENT_SECRET, ManagedIdentity: true } } });
    expect(issuesOf(raw)).toEqual([
      {
        path: 'EntraId.Default',
        message:
          'unknown key "ClientSecert" (did you mean "ClientSecret"?); allowed keys: TenantId, ClientId, ClientSecret, Certificate, ManagedIdentity, Cloud, AuthorityHost, GraphEndpoint, ExtensionProperties',
      },
    ]);
  });

  it('treats unknown keys as errors at every level', () => {
    const raw = config({ Options: { DeltaInterval: 5 }, Signature365: { Tenant1: destination({ Url: 'https://x' }) } });
    raw.Extra = true;
    expect(issuesOf(raw).map((issue) => issue.path).sort()).toEqual(['', 'Options', 'Signature365.Tenant1']);
  });

  it('refuses names that are empty, padded with spaces or hold a control character, naming each', () => {
    const raw = config({
      Signature365: { Tenant1: destination(), '': destination(), ' Contoso': destination(), 'Line\nBreak': destination() },
    });
    expect(issuesOf(raw)).toEqual([
      { path: 'Signature365[""]', message: 'an empty name; give the entry a name, e.g. "Tenant1" or "Contoso Ltd"' },
      { path: 'Signature365[" Contoso"]', message: 'the name starts or ends with a space; remove it (mappings must repeat the name exactly)' },
      { path: 'Signature365["Line\\nBreak"]', message: 'the name holds a control character (a line break or tab?); remove it' },
    ]);
  });

  it('lists the allowed values of an enum', () => {
    expect(issuesOf(config({ Options: { OnConflict: 'First' } }))).toEqual([{ path: 'Options.OnConflict', message: 'must be one of: "All", "FirstMapping"' }]);
  });

  it('states the type it expected without echoing the value', () => {
    expect(issuesOf(config({ EntraId: { Default: source({ ClientSecret: 12345 }) } }))).toEqual([
      { path: 'EntraId.Default.ClientSecret', message: 'expected a string, found the number 12345' },
    ]);
  });
});

describe('config errors: authentication', () => {
  it('asks for an auth method when there is none (TenantId alone)', () => {
    expect(issuesOf(config({ EntraId: { Default: { TenantId: TENANT_ID } } }))).toEqual([
      {
        path: 'EntraId.Default',
        message:
          'no authentication method; set exactly one of ClientSecret, Certificate, ManagedIdentity, ' +
          'or give ClientId alone to use the user-assigned managed identity with that client id',
      },
    ]);
  });

  it('refuses two auth methods', () => {
    expect(issuesOf(config({ EntraId: { Default: source({ ManagedIdentity: true }) } }))).toEqual([
      { path: 'EntraId.Default', message: 'ClientSecret and ManagedIdentity are both set; keep exactly one of ClientSecret, Certificate, ManagedIdentity' },
    ]);
  });

  it('explains the two forms of ManagedIdentity', () => {
    expect(issuesOf(config({ EntraId: { Default: { TenantId: TENANT_ID, ManagedIdentity: 'yes' } } }))).toEqual([
      { path: 'EntraId.Default.ManagedIdentity', message: 'expected true (system-assigned) or { "ClientId": "<GUID>" } (user-assigned)' },
    ]);
  });

  it('reports a source that is not an object once', () => {
    expect(issuesOf(config({ EntraId: { Default: 'contoso' } }))).toEqual([{ path: 'EntraId.Default', message: 'expected an object, found a string' }]);
  });

  it('requires ClientId with a client secret', () => {
    expect(issuesOf(config({ EntraId: { Default: { TenantId: TENANT_ID, ClientSecret: CLIENT_SECRET } } }))).toEqual([
      { path: 'EntraId.Default.ClientId', message: "required with ClientSecret; use the Application (client) ID from the app registration's Overview page" },
    ]);
  });

  it('requires AuthorityHost and GraphEndpoint together', () => {
    expect(issuesOf(config({ EntraId: { Default: source({ AuthorityHost: 'https://login.microsoftonline.us' }) } }))).toEqual([
      { path: 'EntraId.Default.GraphEndpoint', message: 'required with AuthorityHost; give both, or neither and choose a Cloud' },
    ]);
  });

  it('wants the Graph root, not a versioned URL', () => {
    const raw = config({ EntraId: { Default: source({ AuthorityHost: 'https://login.microsoftonline.com', GraphEndpoint: 'https://graph.microsoft.com/v1.0' }) } });
    expect(issuesOf(raw)).toEqual([
      { path: 'EntraId.Default.GraphEndpoint', message: '"https://graph.microsoft.com/v1.0" must be a root URL without a path, e.g. https://graph.microsoft.com' },
    ]);
  });
});

describe('config errors: tokens', () => {
  it('refuses a token that does not start with idscl_, without echoing it', () => {
    const issues = issuesOf(config({ Signature365: { Tenant1: destination({ Token: 'Zx9SecretLooking0KU' }) } }));
    expect(issues).toEqual([
      {
        path: 'Signature365.Tenant1.Token',
        message: 'does not start with "idscl_"; copy the token from Signature 365 (Integrations > Entra ID connector), or write "@AppSetting(NAME)"',
      },
    ]);
  });

  it('refuses Token and its alias ClientId together', () => {
    expect(issuesOf(config({ Signature365: { Tenant1: destination({ ClientId: TOKEN }) } }))).toEqual([
      { path: 'Signature365.Tenant1', message: 'Token and ClientId are both set; ClientId is another name for Token, keep one' },
    ]);
  });

  it('asks for a token when there is none', () => {
    expect(issuesOf(config({ Signature365: { Tenant1: { TenantId: TENANT_ID } } }))).toEqual([
      { path: 'Signature365.Tenant1', message: 'no token; set Token to the idscl_ token from Signature 365 (Integrations > Entra ID connector)' },
    ]);
  });
});

describe('Options.AuditRetentionDays', () => {
  it.each([0, 366, 2.5, '30'])('refuses %j, naming the field and what to write instead', (value) => {
    expect(issuesOf(config({ Options: { AuditRetentionDays: value } }))).toEqual([
      { path: 'Options.AuditRetentionDays', message: 'expected a whole number of days from 1 to 365 (e.g. 30); the audit trail is kept this long' },
    ]);
  });
});

describe('ConfigError', () => {
  it('reads as one line per problem under a header', () => {
    const error = errorOf(config({ Options: { OnConflict: 'x', DeleteAfterDays: -1 } }));
    expect(error.message).toBe(
      ['The configuration has 2 problems:', '  - Options.OnConflict: must be one of: "All", "FirstMapping"', '  - Options.DeleteAfterDays: must be at least 0'].join('\n'),
    );
    expect(error.withLocation('/etc/s365/config.json').message.split('\n')[0]).toBe('The configuration (/etc/s365/config.json) has 2 problems:');
  });

  it('never carries a secret value, however wrong the config', () => {
    const raw = config({
      EntraId: { Default: source({ ClientId: CLIENT_SECRET, TenantId: TOKEN, ManagedIdentity: true }) },
      Signature365: { Tenant1: destination({ Token: CLIENT_SECRET, TenantId: TOKEN }) },
      Mappings: [mapping({ To: TOKEN, LimitToGroups: [CLIENT_SECRET] })],
    });
    const message = errorOf(raw).message;
    expect(message).toContain('Mappings[0].To');
    expect(message).not.toContain(CLIENT_SECRET.slice(4, 20));
    expect(message).not.toContain(TOKEN.slice(6, 20));
  });
});
