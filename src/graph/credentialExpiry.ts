/**
 * When a source's credential stops working, as far as the config tells: a certificate's end date
 * is in its PEM; a client secret's end date lives on the app registration (passwordCredentials),
 * read through Graph when Application.Read.All is granted (src/graph/secretExpiry.ts), so from the
 * config alone it is unknown; a managed identity has nothing to expire. Warned 30 and 7 days
 * ahead, in `status`, `test-connection` and the logs.
 */
import { X509Certificate } from 'node:crypto';
import type { SourceAuth } from '../config/types';

/** Days before the end date at which the warning starts, then turns urgent. */
export const EXPIRY_WARNING_DAYS = 30;
export const EXPIRY_URGENT_DAYS = 7;

const DAY_MS = 86_400_000;
const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

export interface CredentialExpiry {
  kind: SourceAuth['kind'];
  /** `ok`, `expiring` (within 30 days), `urgent` (within 7), `expired`, or `unknown` (not readable from here). */
  level: 'ok' | 'expiring' | 'urgent' | 'expired' | 'unknown';
  expiresAt: string | null;
  /** Whole days left (negative once expired); null when unknown. */
  daysLeft: number | null;
  detail: string;
}

/** Whether the level is one to warn about (logs, status, test-connection). */
export function needsWarning(expiry: CredentialExpiry): boolean {
  return expiry.level === 'expiring' || expiry.level === 'urgent' || expiry.level === 'expired';
}

/**
 * The level of a credential that stops working at `endsAt`: `what` names it in the detail
 * ("the certificate", "the client secret \"nightly\""), `renew` says what to do.
 */
export function expiryAt(kind: SourceAuth['kind'], endsAt: number, now: Date, what: string, renew: string): CredentialExpiry {
  const expiresAt = new Date(endsAt).toISOString();
  const left = endsAt - now.getTime();
  const daysLeft = Math.floor(left / DAY_MS);
  if (left <= 0) return { kind, level: 'expired', expiresAt, daysLeft, detail: `${what} expired on ${expiresAt}: sign-in fails until a new one is configured` };
  if (daysLeft < EXPIRY_URGENT_DAYS) return { kind, level: 'urgent', expiresAt, daysLeft, detail: `${what} expires on ${expiresAt} (${daysLeft} day(s) left): ${renew}` };
  if (daysLeft < EXPIRY_WARNING_DAYS) return { kind, level: 'expiring', expiresAt, daysLeft, detail: `${what} expires on ${expiresAt} (${daysLeft} days left): ${renew}` };
  return { kind, level: 'ok', expiresAt, daysLeft, detail: `${what} is valid until ${expiresAt}` };
}

function certificateExpiry(pem: string, now: Date): CredentialExpiry {
  const block = CERTIFICATE_BLOCK.exec(pem)?.[0];
  if (block === undefined) {
    return { kind: 'certificate', level: 'unknown', expiresAt: null, daysLeft: null, detail: 'the PEM holds no CERTIFICATE block, so its end date is unknown' };
  }
  let notAfter: number;
  try {
    notAfter = Date.parse(new X509Certificate(block).validTo);
  } catch {
    return { kind: 'certificate', level: 'unknown', expiresAt: null, daysLeft: null, detail: 'the certificate in the PEM could not be read, so its end date is unknown' };
  }
  return expiryAt('certificate', notAfter, now, 'the certificate', 'upload a new certificate to the app registration and put it in the config before then');
}

export function credentialExpiry(auth: SourceAuth, now: Date = new Date()): CredentialExpiry {
  switch (auth.kind) {
    case 'certificate':
      return certificateExpiry(auth.certificatePem, now);
    case 'clientSecret':
      return {
        kind: 'clientSecret', level: 'unknown', expiresAt: null, daysLeft: null,
        detail: "a client secret's end date is on the app registration (Certificates & secrets), not in the config; the connector reads it there when Application.Read.All is granted",
      };
    case 'managedIdentity':
      return { kind: 'managedIdentity', level: 'ok', expiresAt: null, daysLeft: null, detail: 'a managed identity has no secret to expire' };
  }
}
