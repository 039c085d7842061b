/**
 * `s365-connector status`: rounds per source, and per destination what is held, owed, waiting and
 * failing. With `--mail-domains`, also each source's domains from Graph (Domain.Read.All) and the
 * in-scope users whose mail domain the tenant has not verified: one Graph request and one pass over
 * the source's mirrored users, so it is asked for, not part of every status.
 */
import type { ConnectorConfig, EntraSourceConfig } from '../config/types';
import { createGraphClient } from '../graph';
import { readTenantDomains, verifiedDomainNames } from '../graph/domains';
import type { ConnectorRuntime } from '../setup/runtime';
import { processScrubber } from '../setup/secretScrubber';
import type { UnverifiedMailReport } from '../sync/mailDomains';
import { overviewScopes } from '../sync/scopeOverview';
import { formatConnectorStatus, readConnectorStatus } from '../sync/status';
import { withRuntime, type DeletionsCommandOptions } from './deletionsCommand';
import { EXIT, type CliIo } from './syncCommand';

export type MailDomainCheck =
  | { source: string; kind: 'checked'; verifiedDomains: string[]; unverifiedMail: UnverifiedMailReport }
  | { source: string; kind: 'permissionMissing'; permission: string }
  | { source: string; kind: 'failed'; error: string };

export async function checkMailDomains(runtime: ConnectorRuntime, config: ConnectorConfig, source: EntraSourceConfig): Promise<MailDomainCheck> {
  try {
    const domains = await readTenantDomains(createGraphClient(source, { maxRetries: 2 }), source);
    if (domains.kind === 'permissionMissing') return { source: source.name, kind: 'permissionMissing', permission: domains.permission };
    const verified = verifiedDomainNames(domains.domains);
    const overview = await overviewScopes(runtime.mirror, config, source.name, { verifiedDomains: verified });
    const unverifiedMail = overview.unverifiedMail ?? { count: 0, examples: [], domains: [] };
    return { source: source.name, kind: 'checked', verifiedDomains: [...verified].sort(), unverifiedMail };
  } catch (error) {
    return { source: source.name, kind: 'failed', error: processScrubber.scrub(error instanceof Error ? error.message : String(error)) };
  }
}

export function formatMailDomainCheck(check: MailDomainCheck): string {
  if (check.kind === 'permissionMissing') {
    return `Mail domains of ${check.source}: not checked: the app lacks the optional application permission ${check.permission}; grant it (with admin consent) to compare users' mail domains with the tenant's verified domains.`;
  }
  if (check.kind === 'failed') return `Mail domains of ${check.source}: not checked: ${check.error}`;
  const { unverifiedMail } = check;
  if (unverifiedMail.count === 0) return `Mail domains of ${check.source}: every in-scope user's mail domain is verified (${check.verifiedDomains.join(', ')}).`;
  const lines = [
    `Mail domains of ${check.source}: ${unverifiedMail.count} in-scope user(s) have a mail domain the tenant has not verified ` +
      `(verified: ${check.verifiedDomains.join(', ') || 'none'}); Signature 365 may not match their signatures:`,
    `  domains: ${unverifiedMail.domains.map((domain) => `${domain.domain} (${domain.users})`).join(', ')}`,
    ...unverifiedMail.examples.map((example) => `  e.g. ${example.mail} (${example.userId})`),
  ];
  return lines.join('\n');
}

export async function runStatusCommand(options: DeletionsCommandOptions & { json?: boolean; mailDomains?: boolean }, io: CliIo): Promise<number> {
  return withRuntime(options, io, async (runtime) => {
    const status = await readConnectorStatus(runtime);
    const mailDomains: MailDomainCheck[] = [];
    if (options.mailDomains === true) {
      for (const source of runtime.config.sources) mailDomains.push(await checkMailDomains(runtime, runtime.config, source));
    }
    const text = options.json === true
      ? JSON.stringify(options.mailDomains === true ? { ...status, mailDomains } : status, null, 2)
      : [formatConnectorStatus(status), ...mailDomains.map(formatMailDomainCheck)].join('\n');
    io.out(`${processScrubber.scrub(text)}\n`);
    return EXIT.ok;
  });
}
