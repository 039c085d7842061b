import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSecrets, describeConfig, maskSecret } from '../../../src/config/mask';
import { resolveConfig } from '../../../src/config/resolve';
import { CLIENT_SECRET, TENANT_ID, TOKEN, config, destination, mapping, source } from './builders';

const CLIENT_PEM = readFileSync(resolve(__dirname, '../../fakes/tls/client-cert.pem'), 'utf8');
const PASSWORD = 'not-really-needed-pass';
const SECOND_TOKEN = 'idscl_hKq7Lm2Xv9Pw4Rt6Yz1Bn3Cd5Fg8Hj0RDa9v&6Z';

/** Every 8-character piece of a secret, past any public prefix: none may show up in clear. */
function piecesOf(secret: string): string[] {
  const body = secret.replace(/^idscl_/, '');
  return Array.from({ length: Math.max(0, body.length - 7) }, (_, i) => body.slice(i, i + 8));
}

describe('maskSecret', () => {
  it('keeps the idscl_ prefix, two leading and three trailing characters', () => {
    expect(maskSecret('idscl_ZxxxxxxxxxxxxxxxxxxxxxxxxxxxxZTn0KU')).toBe('idscl_Zx…0KU');
  });

  it('never shows more than a quarter of what follows the prefix', () => {
    for (const value of ['abcdefgh', 'abcdefghijkl', CLIENT_SECRET, TOKEN, 'idscl_abcdefgh']) {
      const masked = maskSecret(value);
      const body = value.startsWith('idscl_') ? value.slice(6) : value;
      const shown = masked.replace(/^idscl_/, '').replace('…', '').length;
      expect(shown).toBeLessThanOrEqual(Math.floor(body.length / 4));
    }
  });

  it('shows nothing of a short secret', () => {
    expect(maskSecret('abc')).toBe('…');
    expect(maskSecret('idscl_x')).toBe('idscl_…');
    expect(maskSecret('')).toBe('(empty)');
  });
});

describe('describeConfig', () => {
  const resolved = resolveConfig(
    config({
      EntraId: {
        Default: source({ ExtensionProperties: ['extension_b7d8e648520f41d3b9c0fdeb91768a0a_costCenter'] }),
        Gov: { TenantId: TENANT_ID, ManagedIdentity: true, Cloud: 'USGov' },
        Cert: { TenantId: TENANT_ID, ClientId: TENANT_ID, Certificate: { Pem: CLIENT_PEM, Password: PASSWORD } },
      },
      Signature365: { Tenant1: destination(), Tenant2: destination({ Token: SECOND_TOKEN, Endpoint: 'http://localhost:8443' }) },
      Mappings: [mapping(), mapping({ From: 'EntraId:Gov', To: 'Signature365:Tenant2', LimitToGroups: [], Exclude: ['ceo@contoso.com'] })],
    }),
    {},
  );
  const text = describeConfig(resolved);

  it('summarises sources, destinations, mappings and options', () => {
    expect(text).toContain(`EntraId:Default: tenant ${TENANT_ID}, client secret (client 5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f70819, secret Ab…4jK)`);
    expect(text).toContain('EntraId:Gov: tenant 8b9c1f2e-3d4a-4b5c-9d6e-7f8091a2b3c4, managed identity (system-assigned), cloud USGov');
    expect(text).toMatch(/EntraId:Cert: .*certificate \(client .*, thumbprint [0-9A-F]{40}, expires \d{4}-\d{2}-\d{2}\), cloud Global/);
    expect(text).toContain('Signature365:Tenant1: token idscl_Zx…0KU, endpoint https://app.signature365.com');
    expect(text).toContain('Signature365:Tenant2: token idscl_hK…&6Z, endpoint http://localhost:8443');
    expect(text).toContain('[1] EntraId:Gov -> Signature365:Tenant2: whole source; exclude ceo@contoso.com');
    expect(text).toContain('OnConflict All');
    expect(text).toContain('    directory extensions read (1): extension_b7d8e648520f41d3b9c0fdeb91768a0a_costCenter');
    expect(text.match(/directory extensions read/g)).toHaveLength(1);
  });

  it('contains no secret in clear', () => {
    for (const secret of configSecrets(resolved)) {
      for (const piece of piecesOf(secret)) expect(text).not.toContain(piece);
    }
    expect(text).not.toContain('PRIVATE KEY');
  });

  it('lists every secret for the log scrubber', () => {
    expect(configSecrets(resolved).sort()).toEqual([CLIENT_PEM, CLIENT_SECRET, PASSWORD, SECOND_TOKEN, TOKEN].sort());
  });
});
