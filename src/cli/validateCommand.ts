/**
 * `s365-connector validate`: checks config.json and prints it with secrets masked, then the
 * warnings drawn from the config alone (src/config/warnings.ts, plain-text secrets). Warnings do
 * not change the exit code; with --strict they are errors (exit code 2, nothing more is checked).
 * When storage
 * holding a mirror is configured (AzureWebJobsStorage or --state), it also resolves every
 * mapping against the mirror: groups not found, scope sizes, and users mapped to more than one
 * Signature 365 tenant. It reads only; nothing is pulled, sent or deleted.
 */
import { describeConfig } from '../config/mask';
import { destinationLabel, sourceLabel } from '../config/names';
import type { ConfigIssue } from '../config/errors';
import { overviewScopes } from '../sync/scopeOverview';
import { hasStorage, withStorageRuntime } from './deletionsCommand';
import { formatConflict } from './report';
import { EXIT, loadConfigReportForCli, type CliIo } from './syncCommand';

/** Long lists are cut: validate's output stays readable for a config with thousands of groups. */
const CONFLICTS_SHOWN = 50;
const IDS_SHOWN = 20;

function listed(ids: readonly string[]): string {
  return ids.length <= IDS_SHOWN ? ids.join(', ') : `${ids.slice(0, IDS_SHOWN).join(', ')} and ${ids.length - IDS_SHOWN} more`;
}

function formatWarnings(warnings: readonly ConfigIssue[], strict: boolean): string {
  const heading = strict ? `${warnings.length} warning(s), errors with --strict:` : `${warnings.length} warning(s):`;
  return [heading, ...warnings.map((warning) => `  - ${warning.path === '' ? '' : `${warning.path}: `}${warning.message}`)].join('\n');
}

export async function runValidateCommand(options: { config?: string; state?: string; strict?: boolean }, io: CliIo): Promise<number> {
  const loaded = await loadConfigReportForCli(options, io);
  if (loaded === undefined) return EXIT.badConfig;
  const { config, warnings } = loaded;
  const strict = options.strict === true;
  if (strict && warnings.length > 0) {
    io.err(`The configuration (${loaded.location}) is refused with --strict: ${formatWarnings(warnings, true)}\n`);
    return EXIT.badConfig;
  }
  io.out(`Configuration is valid.\n${describeConfig(config)}\n`);
  if (warnings.length > 0) io.out(`${formatWarnings(warnings, false)}\n`);
  if (!hasStorage(options, io)) {
    io.out('No storage configured: the mappings were not checked against a mirror (set AzureWebJobsStorage or pass --state <folder>).\n');
    return EXIT.ok;
  }
  return withStorageRuntime(config, options, io, async (runtime) => {
    for (const source of config.sources) {
      const scopes = await overviewScopes(runtime.mirror, config, source.name);
      if (scopes.liveUsers === 0) {
        io.out(`Source ${sourceLabel(config, source.name)}: the mirror is empty (no completed sync yet).\n`);
        continue;
      }
      for (const [destination, scope] of scopes.destinations) {
        io.out(`Source ${sourceLabel(config, source.name)} -> ${destinationLabel(config, destination)}: ${scope.users} users, ${scope.groups} groups in scope\n`);
        if (scope.missingGroups.length > 0) io.out(`  LimitToGroups not found in the mirror (check the object ids): ${listed(scope.missingGroups)}\n`);
      }
      if (scopes.conflicts.length > 0) {
        io.out(`  ${scopes.conflicts.length} user(s) in scope of more than one Signature 365 tenant; Options.OnConflict is "${config.options.onConflict}":\n`);
        for (const conflict of scopes.conflicts.slice(0, CONFLICTS_SHOWN)) {
          io.out(`    ${formatConflict({ ...conflict, destinations: conflict.destinations.map((key) => destinationLabel(config, key)) })}\n`);
        }
        if (scopes.conflicts.length > CONFLICTS_SHOWN) io.out(`    ... and ${scopes.conflicts.length - CONFLICTS_SHOWN} more)\n`);
      }
    }
    return EXIT.ok;
  });
}
