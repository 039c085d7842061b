/**
 * A client secret's end date, read where Entra keeps it: the app registration's
 * `passwordCredentials` (`GET /applications(appId='…')?$select=passwordCredentials`, which needs
 * Application.Read.All). Graph never returns a secret's value, only its `hint` (the first three
 * characters), so the configured secret is matched by its first three characters; when several
 * secrets share them, the earliest end date is reported (the warning comes too early rather than
 * too late). Never throws for a refusal or a missing registration: the answer is `unknown`, with why.
 */
import type { EntraSourceConfig } from '../config/types';
import { expiryAt, type CredentialExpiry } from './credentialExpiry';
import { jsonAnswer } from './collectionReader';
import { graphRoot, GRAPH_API_VERSION, type SourceGraphClient } from './graphClient';
import { readBody } from './responses';

/** One passwordCredential as Graph lists it (the properties read here). */
export interface PasswordCredentialEntry {
  hint?: unknown;
  endDateTime?: unknown;
  displayName?: unknown;
}

function unknown(detail: string): CredentialExpiry {
  return { kind: 'clientSecret', level: 'unknown', expiresAt: null, daysLeft: null, detail };
}

const RENEW = 'add a new secret to the app registration (Certificates & secrets) and put it in the config before then';

/** The configured secret's expiry among the registration's password credentials (pure, for tests). */
export function secretExpiryFrom(entries: readonly PasswordCredentialEntry[], clientSecret: string, now: Date): CredentialExpiry {
  const hint = clientSecret.slice(0, 3);
  const matching = entries
    .filter((entry) => entry.hint === hint && typeof entry.endDateTime === 'string' && Number.isFinite(Date.parse(entry.endDateTime)))
    .map((entry) => ({ endsAt: Date.parse(entry.endDateTime as string), name: typeof entry.displayName === 'string' && entry.displayName.length > 0 ? entry.displayName : undefined }))
    .sort((a, b) => a.endsAt - b.endsAt);
  const first = matching[0];
  if (first === undefined) {
    return unknown(`none of the app registration's ${entries.length} client secret(s) starts like the configured one: it may belong to another registration, or have been deleted`);
  }
  // The name an administrator gave the secret (never its value): what the portal shows.
  const what = `the client secret${first.name === undefined ? '' : ` "${first.name.slice(0, 80)}"`}`;
  const expiry = expiryAt('clientSecret', first.endsAt, now, what, RENEW);
  return matching.length > 1
    ? { ...expiry, detail: `${expiry.detail} (${matching.length} secrets start alike; the earliest end date is shown)` }
    : expiry;
}

/** Reads the app registration of the source's ClientId and finds the configured secret's end date. */
export async function readClientSecretExpiry(graph: SourceGraphClient, source: EntraSourceConfig, now: Date, abortSignal?: AbortSignal): Promise<CredentialExpiry> {
  if (source.auth.kind !== 'clientSecret') throw new TypeError(`source "${source.name}" does not sign in with a client secret`);
  const url = `${graphRoot(source)}/${GRAPH_API_VERSION}/applications(appId='${encodeURIComponent(source.auth.clientId)}')?$select=passwordCredentials`;
  const response = await graph.get(url, {}, abortSignal);
  const body = await readBody(response, url);
  if (response.status === 403) {
    return unknown("a client secret's end date is on the app registration; grant Application.Read.All (admin consent) to have it read and warned about, or check Certificates & secrets by hand");
  }
  if (response.status === 404) {
    return unknown("the app registration is not in this tenant (an app registered in another tenant): check its client secret's end date there");
  }
  const json = jsonAnswer(response, body, url, source);
  const entries = typeof json === 'object' && json !== null && 'passwordCredentials' in json && Array.isArray(json.passwordCredentials)
    ? (json.passwordCredentials as unknown[]).filter((entry): entry is PasswordCredentialEntry => typeof entry === 'object' && entry !== null)
    : [];
  return secretExpiryFrom(entries, source.auth.clientSecret, now);
}
