/**
 * `s365-connector test-connection`: the "Test Authentication" button of the vendor's connectors.
 * For each Entra source it signs in and reads the first page of users/delta and groups/delta (the
 * two permissions the connector needs, with the configured extension properties selected), then
 * checks the optional permissions: Application.Read.All (the configured extension properties are
 * found on their applications), Domain.Read.All (the tenant's domains) and MailboxSettings.Read (the
 * mailbox type of the first user read); a missing optional permission is a WARN, not a failure. For
 * each Signature 365 tenant it calls the connection
 * endpoint with its token. Nothing is stored, no state is needed, and nothing is sent.
 *
 * A failure says what to fix: a network failure (DNS, refused, no answer, TLS) is told apart from
 * rejected credentials (connectionFailure.ts), and the command leaves nothing running, so the
 * process exits as soon as the last check has ended.
 */
import { credentialExpiry, needsWarning, type CredentialExpiry } from '../graph/credentialExpiry';
import { readClientSecretExpiry } from '../graph/secretExpiry';
import { destinationLabel, sourceLabel } from '../config/names';
import type { DestinationConfig, EntraSourceConfig } from '../config/types';
import { createGraphClient, createGraphDirectoryReader } from '../graph';
import { readTenantDomains } from '../graph/domains';
import { discoverExtensionProperties } from '../graph/extensionProperties';
import { createHttpDestinationClient } from '../signature365/httpDestinationClient';
import { processScrubber } from '../setup/secretScrubber';
import type { DeltaPage, GroupChange, UserChange } from '../sync/directory';
import { classifyConnectionFailure, describeNetworkCode, findNetworkCode, hostOf, type ConnectionFailure } from './connectionFailure';
import { configuredApplicationIds, configuredNotFound, permissionMissingText } from './extensionsCommand';
import { EXIT, loadConfigForCli, type CliIo } from './syncCommand';

type CheckOutcome = { ok: true; detail: string } | { ok: 'warn'; detail: string } | { ok: false; error: unknown; advice: string };

/** Application.Read.All: the configured extension properties exist on their applications (or, with none configured, that discovery works). */
async function checkExtensions(source: EntraSourceConfig): Promise<CheckOutcome> {
  const graph = createGraphClient(source, { maxRetries: 1 });
  const applicationIds = configuredApplicationIds(source);
  // With nothing configured, only the permission is checked: the listing of applications, none searched.
  const discovery = await discoverExtensionProperties(graph, source, applicationIds.length > 0 ? { applicationIds } : { maxApplications: 0 });
  if (discovery.kind === 'permissionMissing') return { ok: 'warn', detail: permissionMissingText(source, discovery.permission) };
  if (applicationIds.length === 0) return { ok: true, detail: 'Application.Read.All granted; `s365-connector extensions list` shows the extension properties to choose from' };
  const missing = configuredNotFound(source, discovery);
  const configured = source.extensionProperties?.length ?? 0;
  if (missing.length > 0) {
    return { ok: 'warn', detail: `${missing.length} of ${configured} configured extension properties not found on their applications: ${missing.join(', ')}; check the names with \`s365-connector extensions list\`` };
  }
  return { ok: true, detail: `the ${configured} configured extension propert${configured === 1 ? 'y exists' : 'ies exist'}` };
}

/** Domain.Read.All: the tenant's domains, verified or not. */
async function checkDomains(source: EntraSourceConfig): Promise<CheckOutcome> {
  const read = await readTenantDomains(createGraphClient(source, { maxRetries: 1 }), source);
  if (read.kind === 'permissionMissing') {
    return { ok: 'warn', detail: `the app lacks the optional application permission ${read.permission}: \`status --mail-domains\` cannot report users whose mail domain is not verified` };
  }
  const verified = read.domains.filter((domain) => domain.isVerified).map((domain) => domain.name);
  const unverified = read.domains.filter((domain) => !domain.isVerified).map((domain) => domain.name);
  return {
    ok: true,
    detail: `${read.domains.length} domain(s); verified: ${verified.join(', ') || 'none'}` + (unverified.length > 0 ? `; not verified: ${unverified.join(', ')}` : ''),
  };
}

async function firstPage<T>(pages: AsyncIterable<DeltaPage<T>>): Promise<T[]> {
  for await (const page of pages) return page.changes;
  return [];
}

/** How long the authority probe may take: it only runs after a sign-in already failed. */
const AUTHORITY_PROBE_TIMEOUT_IN_MS = 10_000;

/**
 * A sign-in that failed without an Entra error code (MSAL's endpoints_resolution_error) may be the
 * network or a wrong AuthorityHost/TenantId: asks the authority for the tenant's OpenID metadata to
 * tell. Network errors come back as `network`; Entra's "tenant not found" (AADSTS90002) as a
 * credential failure with that code; anything else leaves the diagnosis as it was.
 */
async function probeAuthority(source: EntraSourceConfig): Promise<ConnectionFailure | undefined> {
  const url = `${source.authorityHost}/${encodeURIComponent(source.tenantId)}/v2.0/.well-known/openid-configuration`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(AUTHORITY_PROBE_TIMEOUT_IN_MS) });
    const body = await response.text();
    const aadCode = /AADSTS\d+/.exec(body)?.[0];
    return aadCode === 'AADSTS90002' ? { kind: 'credential', code: aadCode } : undefined;
  } catch (error) {
    return { kind: 'network', code: findNetworkCode(error) };
  }
}

async function diagnoseSourceFailure(source: EntraSourceConfig, error: unknown): Promise<ConnectionFailure> {
  const failure = classifyConnectionFailure(error);
  const signInWithoutCode = failure.kind === 'credential' && failure.code === undefined && source.auth.kind !== 'managedIdentity';
  return (signInWithoutCode ? await probeAuthority(source) : undefined) ?? failure;
}

function networkAdvice(failure: ConnectionFailure, host: string, settings: string): string {
  const what = failure.code === undefined ? 'no answer' : `${failure.code}: ${describeNetworkCode(failure.code) ?? 'a network error'}`;
  return (
    `network failure, not a credential problem: could not reach ${host} (${what}); ` +
    `check ${settings}, DNS, the proxy and the firewall from this machine (the credentials were not checked)`
  );
}

function sourceAdvice(source: EntraSourceConfig, error: unknown, failure: ConnectionFailure): string {
  if (failure.kind === 'network') {
    // A failed sign-in means the authority was out of reach; anything later, Graph itself.
    return error instanceof Error && error.name === 'GraphAuthenticationError'
      ? networkAdvice(failure, hostOf(source.authorityHost), 'AuthorityHost (or Cloud)')
      : networkAdvice(failure, hostOf(source.graphEndpoint), 'GraphEndpoint (or Cloud)');
  }
  if (failure.kind === 'credential' && failure.code === 'AADSTS90002') {
    return `Entra does not know tenant ${source.tenantId} at ${hostOf(source.authorityHost)} (AADSTS90002): check TenantId (and Cloud)`;
  }
  if (failure.kind === 'credential') {
    return 'check TenantId, ClientId and the secret or certificate of this source (app registration → Certificates & secrets)';
  }
  if (error instanceof Error && error.message.includes('.ExtensionProperties')) {
    return 'correct ExtensionProperties in this source as the message says (a name Graph does not know fails every pull of users)';
  }
  if (failure.kind === 'permission') {
    return 'grant the named application permission to the app registration or managed identity, then grant admin consent';
  }
  return 'check the endpoint and the network path (proxy, firewall) from this machine';
}

function destinationAdvice(destination: DestinationConfig, failure: ConnectionFailure): string {
  if (failure.kind === 'network') return networkAdvice(failure, hostOf(destination.endpoint), 'Endpoint');
  if (failure.kind === 'credential') {
    return 'the token was rejected: copy it again from the Signature 365 portal (Integrations → Entra ID connector) into this tenant\'s Token';
  }
  return 'check the endpoint and the network path (proxy, firewall) from this machine';
}

export async function runTestConnectionCommand(options: { config?: string }, io: CliIo): Promise<number> {
  const config = await loadConfigForCli(options, io);
  if (config === undefined) return EXIT.badConfig;
  let failures = 0;
  const report = (label: string, outcome: CheckOutcome) => {
    if (outcome.ok === true) {
      io.out(`OK    ${label}: ${outcome.detail}\n`);
    } else if (outcome.ok === 'warn') {
      io.out(processScrubber.scrub(`WARN  ${label}: ${outcome.detail}\n`));
    } else {
      failures += 1;
      const message = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
      io.out(processScrubber.scrub(`FAIL  ${label}: ${message}\n      → ${outcome.advice}\n`));
    }
  };

  for (const source of config.sources) {
    // One object a page: the test proves sign-in and permissions without reading the tenant.
    const reader = createGraphDirectoryReader(source, { pageSize: 1, maxRetries: 1 });
    // A failed sign-in would fail the same way for the second read (and, with the network down, take as long again).
    let signInAdvice: string | undefined;
    const credentialLabel = `${sourceLabel(config, source.name)} credential`;
    const reportExpiry = (expiry: CredentialExpiry) =>
      report(credentialLabel, needsWarning(expiry) || expiry.level === 'unknown' ? { ok: 'warn', detail: expiry.detail } : { ok: true, detail: expiry.detail });
    // A certificate's end date is in the config; a client secret's is read after signing in (below).
    if (source.auth.kind === 'certificate') reportExpiry(credentialExpiry(source.auth));
    for (const kind of ['users', 'groups'] as const) {
      const label = `${sourceLabel(config, source.name)} ${kind}/delta (tenant ${source.tenantId}, ${source.graphEndpoint})`;
      if (signInAdvice !== undefined) {
        report(label, { ok: false, error: new Error('not tried: signing in failed (see above)'), advice: signInAdvice });
        continue;
      }
      try {
        const changes = await firstPage<UserChange | GroupChange>(kind === 'users' ? reader.readUsers(undefined) : reader.readGroups(undefined));
        report(label, { ok: true, detail: `signed in and read ${changes.length} object(s)` });
        const firstUser = kind === 'users' ? changes[0] : undefined;
        if (firstUser !== undefined && reader.readMailboxTypes !== undefined) {
          const read = await reader.readMailboxTypes([firstUser.id]);
          const mailboxLabel = `EntraId:${source.name} mailboxSettings (optional MailboxSettings.Read)`;
          const type = read.types.get(firstUser.id);
          if (type !== undefined) report(mailboxLabel, { ok: true, detail: `read the mailbox type of 1 user (${type})` });
          else if (read.denied) report(mailboxLabel, { ok: 'warn', detail: 'not granted: records carry mailboxType "unknown"; grant the application permission MailboxSettings.Read (admin consent) to send user, shared, room or equipment' });
          else report(mailboxLabel, { ok: 'warn', detail: 'could not read a mailbox type (an error other than a refusal); the sync will try again' });
        }
      } catch (error) {
        const advice = sourceAdvice(source, error, await diagnoseSourceFailure(source, error));
        if (error instanceof Error && error.name === 'GraphAuthenticationError') signInAdvice = advice;
        report(label, { ok: false, error, advice });
      }
    }
    if (source.auth.kind === 'clientSecret' && signInAdvice === undefined) {
      try {
        reportExpiry(await readClientSecretExpiry(createGraphClient(source, { maxRetries: 1 }), source, new Date()));
      } catch (error) {
        report(credentialLabel, { ok: 'warn', detail: `its end date could not be read: ${error instanceof Error ? error.message : String(error)}` });
      }
    }
    const optionalChecks = [
      ['extension properties (Application.Read.All)', checkExtensions],
      ['domains (Domain.Read.All)', checkDomains],
    ] as const;
    for (const [what, check] of optionalChecks) {
      const label = `EntraId:${source.name} ${what}`;
      if (signInAdvice !== undefined) {
        report(label, { ok: false, error: new Error('not tried: signing in failed (see above)'), advice: signInAdvice });
        continue;
      }
      try {
        report(label, await check(source));
      } catch (error) {
        report(label, { ok: false, error, advice: sourceAdvice(source, error, await diagnoseSourceFailure(source, error)) });
      }
    }
  }
  for (const destination of config.destinations) {
    const label = `${destinationLabel(config, destination.name)} (${destination.endpoint})`;
    try {
      const client = createHttpDestinationClient(destination, { maxRetries: 1 });
      const connection = await client.testConnection();
      report(label, { ok: true, detail: `token accepted by tenant "${connection.tenant}" (${connection.tenantId})` });
    } catch (error) {
      report(label, { ok: false, error, advice: destinationAdvice(destination, classifyConnectionFailure(error)) });
    }
  }
  return failures === 0 ? EXIT.ok : EXIT.failed;
}
