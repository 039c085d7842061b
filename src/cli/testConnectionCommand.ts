/**
 * `s365-connector test-connection`: the "Test Authentication" button of the vendor's connectors.
 * For each Entra source it signs in and reads the first page of users/delta and groups/delta (the
 * two permissions the connector needs); for each Signature 365 tenant it calls the connection
 * endpoint with its token. Nothing is stored, no state is needed, and nothing is sent.
 */
import { createGraphDirectoryReader } from '../graph';
import { createHttpDestinationClient } from '../signature365/httpDestinationClient';
import { processScrubber } from '../setup/secretScrubber';
import type { DeltaPage } from '../sync/directory';
import { EXIT, loadConfigForCli, type CliIo } from './syncCommand';

async function firstPage<T>(pages: AsyncIterable<DeltaPage<T>>): Promise<number> {
  for await (const page of pages) return page.changes.length;
  return 0;
}

/** What to do about a failure, by error type: the message already says what happened. */
function advice(error: unknown): string {
  const name = error instanceof Error ? error.name : '';
  switch (name) {
    case 'GraphAuthenticationError':
      return 'check TenantId, ClientId and the secret or certificate of this source (app registration → Certificates & secrets)';
    case 'GraphPermissionError':
      return 'grant the named application permission to the app registration or managed identity, then grant admin consent';
    case 'DestinationAuthError':
      return 'the token was rejected: copy it again from the Signature 365 portal (Integrations → Entra ID connector) into this tenant\'s Token';
    default:
      return 'check the endpoint and the network path (proxy, firewall) from this machine';
  }
}

export async function runTestConnectionCommand(options: { config?: string }, io: CliIo): Promise<number> {
  const config = await loadConfigForCli(options, io);
  if (config === undefined) return EXIT.badConfig;
  let failures = 0;
  const report = (label: string, outcome: { ok: true; detail: string } | { ok: false; error: unknown }) => {
    if (outcome.ok) {
      io.out(`OK    ${label}: ${outcome.detail}\n`);
    } else {
      failures += 1;
      const message = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
      io.out(processScrubber.scrub(`FAIL  ${label}: ${message}\n      → ${advice(outcome.error)}\n`));
    }
  };

  for (const source of config.sources) {
    // One object a page: the test proves sign-in and permissions without reading the tenant.
    const reader = createGraphDirectoryReader(source, { pageSize: 1, maxRetries: 1 });
    for (const kind of ['users', 'groups'] as const) {
      const label = `EntraId:${source.name} ${kind}/delta (tenant ${source.tenantId}, ${source.graphEndpoint})`;
      try {
        const count = await firstPage<unknown>(kind === 'users' ? reader.readUsers(undefined) : reader.readGroups(undefined));
        report(label, { ok: true, detail: `signed in and read ${count} object(s)` });
      } catch (error) {
        report(label, { ok: false, error });
      }
    }
  }
  for (const destination of config.destinations) {
    const label = `Signature365:${destination.name} (${destination.endpoint})`;
    try {
      const client = createHttpDestinationClient(destination, { maxRetries: 1 });
      const connection = await client.testConnection();
      report(label, { ok: true, detail: `token accepted by tenant "${connection.tenant}" (${connection.tenantId})` });
    } catch (error) {
      report(label, { ok: false, error });
    }
  }
  return failures === 0 ? EXIT.ok : EXIT.failed;
}
