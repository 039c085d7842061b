/**
 * `s365-connector validate`: checks config.json and prints it with secrets masked. When storage
 * holding a mirror is configured (AzureWebJobsStorage or --state), it also resolves every
 * mapping against the mirror: groups not found, scope sizes, and users mapped to more than one
 * Signature 365 tenant. It reads only; nothing is pulled, sent or deleted.
 */
import { describeConfig } from '../config/mask';
import { overviewScopes } from '../sync/scopeOverview';
import { hasStorage, withStorageRuntime } from './deletionsCommand';
import { formatConflict } from './report';
import { EXIT, loadConfigForCli, type CliIo } from './syncCommand';

export async function runValidateCommand(options: { config?: string; state?: string }, io: CliIo): Promise<number> {
  const config = await loadConfigForCli(options, io);
  if (config === undefined) return EXIT.badConfig;
  io.out(`Configuration is valid.\n${describeConfig(config)}\n`);
  if (!hasStorage(options, io)) {
    io.out('No storage configured: the mappings were not checked against a mirror (set AzureWebJobsStorage or pass --state <folder>).\n');
    return EXIT.ok;
  }
  return withStorageRuntime(config, options, io, async (runtime) => {
    for (const source of config.sources) {
      const scopes = await overviewScopes(runtime.mirror, config, source.name);
      if (scopes.liveUsers === 0) {
        io.out(`Source ${source.name}: the mirror is empty (no completed sync yet).\n`);
        continue;
      }
      for (const [destination, scope] of scopes.destinations) {
        io.out(`Source ${source.name} -> ${destination}: ${scope.users} users, ${scope.groups} groups in scope\n`);
        if (scope.missingGroups.length > 0) io.out(`  LimitToGroups not found in the mirror (check the object ids): ${scope.missingGroups.join(', ')}\n`);
      }
      if (scopes.conflicts.length > 0) {
        io.out(`  ${scopes.conflicts.length} user(s) in scope of more than one Signature 365 tenant; Options.OnConflict is "${config.options.onConflict}":\n`);
        for (const conflict of scopes.conflicts) {
          io.out(`    ${formatConflict(conflict)}\n`);
        }
      }
    }
    return EXIT.ok;
  });
}
