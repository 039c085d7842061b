/**
 * `s365-connector audit`: the audit trail, newest first: per object and destination, what was
 * created, updated (which fields), deleted, staged for deletion, skipped or refused, and why.
 * Without --user, the administrative acts (approvals of held deletions) of the same window follow.
 */
import { processScrubber } from '../setup/secretScrubber';
import { formatAuditListing, parseAuditListing, readAuditListing } from '../sync/auditListing';
import { hasStorage, withStorageRuntime, type DeletionsCommandOptions } from './deletionsCommand';
import { EXIT, loadConfigForCli, type CliIo } from './syncCommand';

export interface AuditCommandOptions extends DeletionsCommandOptions {
  user?: string;
  since?: string;
  destination?: string;
  limit?: number;
  json?: boolean;
}

export async function runAuditCommand(options: AuditCommandOptions, io: CliIo): Promise<number> {
  // The options are checked against the config before storage is opened: a typo costs nothing.
  const config = await loadConfigForCli(options, io);
  if (config === undefined) return EXIT.badConfig;
  const parsed = parseAuditListing({ user: options.user, since: options.since, destination: options.destination, limit: options.limit }, config, new Date());
  if (!parsed.ok) {
    io.err(`${parsed.error}\n`);
    return EXIT.badConfig;
  }
  if (!hasStorage(options, io)) {
    io.err('No storage configured: the audit trail lives in the connector\'s storage. Set AzureWebJobsStorage (the Functions app\'s account) or pass --state <folder> of earlier `sync --state` runs.\n');
    return EXIT.badConfig;
  }
  return withStorageRuntime(config, options, io, async (runtime) => {
    const listing = await readAuditListing({ trail: runtime.auditTrail, admin: runtime.audit }, parsed.query);
    const text = options.json === true ? JSON.stringify(listing, null, 2) : formatAuditListing(listing);
    io.out(`${processScrubber.scrub(text)}\n`);
    return EXIT.ok;
  });
}
