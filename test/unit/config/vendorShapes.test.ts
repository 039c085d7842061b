/**
 * The configurations the vendor documents for its own connector, pasted as an administrator would
 * paste them. The fragments are the vendor's; where the vendor shows no example (the EntraId
 * section, the on-premises Signature365 entry) the entries hold only the keys its text names:
 * "TenantId", "ClientId", "ClientSecret" under EntraId.Default; "TenantId", "ClientId" under
 * Signature365.<Name>. Each must load unchanged.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load';
import { describeConfig } from '../../../src/config/mask';
import type { ConfigIssue } from '../../../src/config/errors';

const ENTRA_TENANT = '3f0e9a71-5d2c-4b8e-9a61-0c7d2e4b5f18';
const APPLICATION_ID = 'c41d7e02-8b3a-4f65-a9d0-2e6b1c8f7a93';

/** The container (ACI) deployment: a managed identity, written as the tenant and application id the vendor's script prints. */
function containerConfig(tenant1: string, tenant2: string): string {
  return `{
"EntraId": {
"Default": {
"TenantId": "${ENTRA_TENANT}",
"ClientId": "${APPLICATION_ID}"
}
},
"Signature365": {
"${tenant1}": {
"Token": "idscl_ZxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxZTn0KU*kVaHU"
},
"${tenant2}": {
"Token": "idscl_hKxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxRDa9v&6Z"
}
},
"Mappings": [
{
"From": "EntraId:Default",
"To": "Signature365:${tenant1}",
"LimitToGroups": ["622b1005-624a-457b-a148-566d50f3f1ff"]
},
{
"From": "EntraId:Default",
"To": "Signature365:${tenant2}",
"LimitToGroups": ["201b4787-3b9e-411d-8def-a464b9d2d5df"]
}
]
}`;
}

/** The on-premises deployment: an app registration with a client secret; the Signature 365 entry by TenantId and ClientId (the token). */
function onPremisesConfig(signature365ClientId: string): string {
  return `{
  "EntraId": {
    "Default": {
      "TenantId": "${ENTRA_TENANT}",
      "ClientId": "${APPLICATION_ID}",
      "ClientSecret": "Xy7Q~abcdefghijklmnopqrstuvwxyz0123456789"
    }
  },
  "Signature365": {
    "Default": {
      "TenantId": "9d3b6c1e-27f4-4a85-b0e9-6f1a2c3d4e5f",
      "ClientId": "${signature365ClientId}"
    }
  },
  "Mappings": [
    {
      "From": "EntraID:Default",
      "To": "Signature365:Default",
      "LimitToGroups": ["622b1005-624a-457b-a148-566d50f3f1ff"]
    }
  ]
}`;
}

async function load(text: string) {
  return loadConfig({ CONNECTOR_CONFIG: text });
}

function paths(warnings: readonly ConfigIssue[]): string[] {
  return warnings.map((warning) => warning.path);
}

describe("the vendor's documented configurations load unchanged", () => {
  it('container deployment: TenantId + ClientId without a secret is the user-assigned managed identity with that client id', async () => {
    const { config, warnings } = await load(containerConfig('Tenant1', 'Tenant2'));

    expect(config.sources).toEqual([
      expect.objectContaining({ name: 'Default', tenantId: ENTRA_TENANT, auth: { kind: 'managedIdentity', clientId: APPLICATION_ID, inferred: true } }),
    ]);
    expect(config.destinations.map((destination) => destination.name)).toEqual(['Tenant1', 'Tenant2']);
    expect(describeConfig(config)).toContain(
      `managed identity (user-assigned, client ${APPLICATION_ID}; TenantId + ClientId without a secret or certificate, as the vendor's container deployment writes it)`,
    );
    // The vendor's example writes the tokens in the file: a warning each, not an error.
    expect(paths(warnings)).toEqual(['Signature365.Tenant1.Token', 'Signature365.Tenant2.Token']);
  });

  it('container deployment with the entries named as the Signature 365 tenants ("Contoso Ltd", "fabrikam.com")', async () => {
    const { config } = await load(containerConfig('Contoso Ltd', 'fabrikam.com'));

    expect(config.destinations.map(({ name, displayName }) => ({ name, displayName }))).toEqual([
      { name: 'Contoso_Ltd.ecd4de449791', displayName: 'Contoso Ltd' },
      { name: 'fabrikam_com.137d857c9163', displayName: 'fabrikam.com' },
    ]);
    expect(config.mappings.map((mapping) => mapping.destination)).toEqual(['Contoso_Ltd.ecd4de449791', 'fabrikam_com.137d857c9163']);
    const summary = describeConfig(config);
    expect(summary).toContain('Signature365:Contoso Ltd: token idscl_');
    expect(summary).toContain('[0] EntraId:Default -> Signature365:Contoso Ltd: groups 622b1005-624a-457b-a148-566d50f3f1ff');
    expect(summary).toContain('[1] EntraId:Default -> Signature365:fabrikam.com: groups 201b4787-3b9e-411d-8def-a464b9d2d5df');
    expect(summary).not.toContain('ecd4de449791');
  });

  it('on-premises deployment: "EntraID:Default" (as the vendor spells it in the text) and Signature365 TenantId + ClientId token', async () => {
    const { config, warnings } = await load(onPremisesConfig('idscl_Pq9xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxW3'));

    expect(config.mappings[0]).toMatchObject({ source: 'Default', destination: 'Default' });
    expect(config.destinations[0]).toMatchObject({ name: 'Default', tenantId: '9d3b6c1e-27f4-4a85-b0e9-6f1a2c3d4e5f' });
    expect(config.destinations[0]?.token.startsWith('idscl_')).toBe(true);
    expect(config.sources[0]?.auth.kind).toBe('clientSecret');
    expect(paths(warnings)).toEqual(['EntraId.Default.ClientSecret', 'Signature365.Default.ClientId']);
  });

  it('on-premises deployment: a ClientId token without the idscl_ prefix is used as written, with a warning that does not show it', async () => {
    const token = 'b7Kq2xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx9Zt';
    const { config, warnings } = await load(onPremisesConfig(token));

    expect(config.destinations[0]?.token).toBe(token);
    const tokenWarnings = warnings.filter((warning) => warning.path === 'Signature365.Default.ClientId');
    expect(tokenWarnings.map((warning) => warning.message)).toEqual([
      expect.stringContaining('is written in plain text in the config'),
      'the value does not start with "idscl_", as the tokens Signature 365 generates do; it is used as written. ' +
        'If uploads are refused (401), copy the token again from Signature 365 (Integrations > Entra ID connector)',
    ]);
    expect(JSON.stringify(warnings)).not.toContain(token);
  });

  it('on-premises deployment: a ClientId token read from an app setting without the prefix warns and names the setting', async () => {
    const text = onPremisesConfig('@AppSetting(S365_CLIENT_ID)');
    const { config, warnings } = await loadConfig({ CONNECTOR_CONFIG: text, S365_CLIENT_ID: 'b7Kq2xxxxxxxxxxxxxxxxxxx9Zt' });

    expect(config.destinations[0]?.token).toBe('b7Kq2xxxxxxxxxxxxxxxxxxx9Zt');
    expect(warnings).toContainEqual({
      path: 'Signature365.Default.ClientId',
      message: expect.stringMatching(/^the value of app setting S365_CLIENT_ID does not start with "idscl_"/),
    });
  });
});
