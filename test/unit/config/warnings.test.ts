import { describe, expect, it } from 'vitest';
import { resolveConfigReport } from '../../../src/config/resolve';
import { CLIENT_SECRET, GROUP_ID, TOKEN, config, destination, mapping, source } from './builders';

const OTHER_GROUP = '201b4787-3b9e-411d-8def-a464b9d2d5df';
/** Secrets in app settings, so only the warnings a case is about appear. */
const SETTINGS = { ENTRA_SECRET: CLIENT_SECRET, TOKEN_1: TOKEN, TOKEN_2: TOKEN };
const QUIET = {
  EntraId: { Default: source({ ClientSecret: '@AppSetting(ENTRA_SECRET)' }) },
  Signature365: { Tenant1: destination({ Token: '@AppSetting(TOKEN_1)' }), 'Contoso Ltd': destination({ Token: '@AppSetting(TOKEN_2)' }) },
};

function warningsOf(raw: Record<string, unknown>) {
  return resolveConfigReport(raw, SETTINGS).warnings;
}

describe('warnings from the config alone', () => {
  it('has none for secrets in app settings and mappings with separate groups', () => {
    const raw = config({ ...QUIET, Mappings: [mapping(), mapping({ To: 'Signature365:Contoso Ltd', LimitToGroups: [OTHER_GROUP] })] });
    expect(warningsOf(raw)).toEqual([]);
  });

  it('warns when one group feeds two destinations, with the first-matching-tenant caution and what OnConflict does', () => {
    const raw = config({ ...QUIET, Mappings: [mapping(), mapping({ To: 'Signature365:Contoso Ltd', LimitToGroups: [OTHER_GROUP, GROUP_ID] })] });
    expect(warningsOf(raw)).toEqual([
      {
        path: 'Mappings[1]',
        message:
          `Group ${GROUP_ID} of EntraId:Default goes to Signature365:Tenant1 (Mappings[0]) and to Signature365:Contoso Ltd (here). ` +
          'A user in both is in two Signature 365 tenants, and Signature 365 uses the FIRST matching tenant for signatures. ' +
          'With Options.OnConflict "All" (the default) such a user is sent to both. ' +
          'Keep each user in one tenant\'s groups (Exclude helps), or set Options.OnConflict to "FirstMapping"',
      },
    ]);
  });

  it('warns when the whole source feeds two destinations, and says what FirstMapping does', () => {
    const raw = config({
      ...QUIET,
      Mappings: [mapping({ LimitToGroups: [] }), mapping({ To: 'Signature365:Contoso Ltd', LimitToGroups: [] })],
      Options: { OnConflict: 'FirstMapping' },
    });
    const [warning, ...more] = warningsOf(raw);
    expect(more).toEqual([]);
    expect(warning?.message).toMatch(/^The whole source of EntraId:Default goes to Signature365:Tenant1 \(Mappings\[0\]\) and to Signature365:Contoso Ltd/);
    expect(warning?.message).toContain('With Options.OnConflict "FirstMapping" such a user is sent only to the earlier mapping\'s tenant.');
  });

  it('warns when a group mapping overlaps a whole-source mapping to another destination', () => {
    const raw = config({ ...QUIET, Mappings: [mapping({ LimitToGroups: [] }), mapping({ To: 'Signature365:Contoso Ltd' })] });
    expect(warningsOf(raw).map((warning) => warning.message.slice(0, 60))).toEqual(["Every user of the narrower mapping's groups of EntraId:Defau"]);
  });

  it('does not warn about two sources feeding one destination, nor one source feeding one destination twice with other groups', () => {
    const raw = config({
      EntraId: { Default: QUIET.EntraId.Default, Other: source({ TenantId: '0e1d2c3b-4a59-4687-9a0b-1c2d3e4f5a6b', ClientSecret: '@AppSetting(ENTRA_SECRET)' }) },
      Signature365: QUIET.Signature365,
      Mappings: [mapping(), mapping({ From: 'EntraId:Other' }), mapping({ LimitToGroups: [OTHER_GROUP] })],
    });
    expect(warningsOf(raw)).toEqual([]);
  });

  it('warns about a mapping that repeats another (groups in any order and case)', () => {
    const raw = config({
      ...QUIET,
      Mappings: [mapping({ LimitToGroups: [GROUP_ID, OTHER_GROUP] }), mapping({ LimitToGroups: [OTHER_GROUP.toUpperCase(), GROUP_ID] })],
    });
    expect(warningsOf(raw)).toEqual([
      { path: 'Mappings[1]', message: 'repeats Mappings[0] (same From, To, LimitToGroups, Include and Exclude) and adds nothing; remove one of them' },
    ]);
  });

  it('warns about each secret written in plain text, showing how to move it and never the value', () => {
    const raw = config({ Signature365: { 'Contoso Ltd': destination() }, Mappings: [mapping({ To: 'Signature365:Contoso Ltd' })] });
    const warnings = warningsOf(raw);
    expect(warnings.map((warning) => warning.path)).toEqual(['EntraId.Default.ClientSecret', 'Signature365["Contoso Ltd"].Token']);
    expect(warnings[0]?.message).toBe(
      'is written in plain text in the config, where anyone who can read the file or blob reads it; move it to an app setting ' +
        '(e.g. ENTRA_ID_DEFAULT_CLIENT_SECRET) and write "@AppSetting(ENTRA_ID_DEFAULT_CLIENT_SECRET)" here. In Azure the app setting ' +
        'can hold a Key Vault reference, @Microsoft.KeyVault(SecretUri=https://<vault>.vault.azure.net/secrets/<name>/), and the secret then lives in the vault',
    );
    expect(warnings[1]?.message).toContain('"@AppSetting(SIGNATURE365_CONTOSO_LTD_TOKEN)"');
    expect(JSON.stringify(warnings)).not.toContain(CLIENT_SECRET);
    expect(JSON.stringify(warnings)).not.toContain(TOKEN);
  });
});
