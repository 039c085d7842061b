import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { credentialExpiry, needsWarning } from '../../../src/graph/credentialExpiry';

const fixtures = join(__dirname, '..', '..', 'fixtures', 'certificates');
// A throwaway self-signed certificate (and its key, first, as config.json's PEM usually holds them).
const keyAndCert = readFileSync(join(fixtures, 'key-and-cert.pem'), 'utf8');
const notAfter = Date.parse(new X509Certificate(readFileSync(join(fixtures, 'cert.pem'))).validTo);
const DAY = 86_400_000;
const certificate = (pem: string) => ({ kind: 'certificate' as const, clientId: 'c', certificatePem: pem, sendCertificateChain: false });

describe('credentialExpiry', () => {
  it.each([
    [400, 'ok', false],
    [29.5, 'expiring', true],
    [6.5, 'urgent', true],
    [-1, 'expired', true],
  ] as const)('reads the certificate end date from the PEM: %d days before it is %s', (daysBefore, level, warn) => {
    const expiry = credentialExpiry(certificate(keyAndCert), new Date(notAfter - daysBefore * DAY));
    expect(expiry).toMatchObject({ kind: 'certificate', level, expiresAt: new Date(notAfter).toISOString(), daysLeft: Math.floor(daysBefore) });
    expect(needsWarning(expiry)).toBe(warn);
  });

  it('says the end date is unknown for a PEM without a certificate, and never echoes the PEM', () => {
    const keyOnly = keyAndCert.replace(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/, '');
    const expiry = credentialExpiry(certificate(keyOnly), new Date(notAfter));
    expect(expiry.level).toBe('unknown');
    expect(JSON.stringify(expiry)).not.toContain('PRIVATE KEY');
  });

  it('says a client secret end date is not read here, and a managed identity has none', () => {
    expect(credentialExpiry({ kind: 'clientSecret', clientId: 'c', clientSecret: 'cs~secret' })).toMatchObject({ level: 'unknown', expiresAt: null });
    expect(JSON.stringify(credentialExpiry({ kind: 'clientSecret', clientId: 'c', clientSecret: 'cs~secret' }))).not.toContain('cs~secret');
    expect(credentialExpiry({ kind: 'managedIdentity' })).toMatchObject({ level: 'ok' });
  });
});
