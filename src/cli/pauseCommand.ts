/**
 * `s365-connector pause|resume --mapping N | --destination NAME | --all [--reason TEXT]`: stops and
 * restarts planning and sending for a source and destination (or for everything), audited under the
 * OS user name. Reads and writes the same storage as the Functions app (AzureWebJobsStorage) or an
 * earlier `sync --state` folder, so the timer and the queue workers honour it without a redeploy.
 */
import { destinationDisplayName, destinationLabel, sourceLabel } from '../config/names';
import type { ConnectorConfig } from '../config/types';
import { pauseMappings, resumeMappings } from '../sync/pauseAdmin';
import { resolvePauseSelection, type PauseSelection, type PauseTarget } from '../sync/pauses';
import type { MappingPause } from '../sync/ports';
import { hasStorage, osUserName, withStorageRuntime } from './deletionsCommand';
import { EXIT, loadConfigForCli, type CliIo } from './syncCommand';

export interface PauseCommandOptions extends PauseSelection {
  config?: string;
  state?: string;
  reason?: string;
}

function mappingList(mappings: readonly number[]): string {
  return mappings.length === 0 ? 'no mapping' : mappings.map((index) => `Mappings[${index}]`).join(', ');
}

function targetText(config: ConnectorConfig, target: PauseTarget): string {
  if (target.pair === 'all') return `every mapping (${mappingList(target.mappings)})`;
  return `${sourceLabel(config, target.pair.source)} -> ${destinationLabel(config, target.pair.destination)} (${mappingList(target.mappings)})`;
}

function pauseText(config: ConnectorConfig, pause: MappingPause): string {
  const what = pause.pair === 'all' ? 'every mapping' : `${sourceLabel(config, pause.pair.source)} -> ${destinationLabel(config, pause.pair.destination)}`;
  return `${what}, paused since ${pause.pausedAt} by ${pause.pausedBy}${pause.reason === '' ? '' : ` (${pause.reason})`}`;
}

/** The command that undoes a pause of `target`. */
function resumeHint(config: ConnectorConfig, target: PauseTarget, selection: PauseSelection): string {
  if (target.pair === 'all') return 's365-connector resume --all';
  if (selection.mapping !== undefined) return `s365-connector resume --mapping ${selection.mapping.trim()}`;
  return `s365-connector resume --destination "${destinationDisplayName(config, target.pair.destination)}"`;
}

/** Loads the config, resolves the selection and opens the storage; a bad flag is reported before any storage is touched. */
async function withSelection(
  options: PauseCommandOptions, io: CliIo, work: (config: ConnectorConfig, targets: PauseTarget[], open: typeof withStorageRuntime) => Promise<number>,
): Promise<number> {
  const config = await loadConfigForCli(options, io);
  if (config === undefined) return EXIT.badConfig;
  const resolved = resolvePauseSelection(config, options);
  if (!resolved.ok) {
    io.err(`${resolved.error}\n`);
    return EXIT.failed;
  }
  if (!hasStorage(options, io)) {
    io.err('No storage configured: pauses live in the connector\'s storage. Set AzureWebJobsStorage (the Functions app\'s account) or pass --state <folder> of earlier `sync --state` runs.\n');
    return EXIT.badConfig;
  }
  return work(config, resolved.targets, withStorageRuntime);
}

export async function runPauseCommand(options: PauseCommandOptions, io: CliIo): Promise<number> {
  return withSelection(options, io, (config, targets, open) => open(config, options, io, async (runtime) => {
    const actor = osUserName(io.env);
    const result = await pauseMappings({ pauses: runtime.pauses, audit: runtime.audit }, { targets, actor, via: 'cli', reason: options.reason?.trim() ?? '' });
    for (const pause of result.paused) {
      const target = { pair: pause.pair, mappings: pause.mappings };
      io.out(`Paused ${targetText(config, target)} by ${actor}: from the next sync on nothing is planned, sent or deleted there; the pull goes on. ` +
        `Resume with: ${resumeHint(config, target, options)}\n`);
      if (options.mapping !== undefined && pause.mappings.length > 1) {
        io.out(`  ${mappingList(pause.mappings)} go from the same source to the same destination and are planned as one: pausing Mappings[${options.mapping.trim()}] pauses all of them.\n`);
      }
    }
    for (const { target, by } of result.alreadyPaused) io.out(`Already paused: ${targetText(config, target)}; ${pauseText(config, by)}. Left as it is.\n`);
    return EXIT.ok;
  }));
}

export async function runResumeCommand(options: PauseCommandOptions, io: CliIo): Promise<number> {
  return withSelection(options, io, (config, targets, open) => open(config, options, io, async (runtime) => {
    const actor = osUserName(io.env);
    const result = await resumeMappings({ pauses: runtime.pauses, audit: runtime.audit }, { targets, actor, via: 'cli', reason: options.reason?.trim() ?? '' });
    if (result.blockedBy !== undefined) {
      io.err(`Every mapping is paused (${pauseText(config, result.blockedBy)}); a single mapping cannot be resumed under it. Lift it with: s365-connector resume --all\n`);
      return EXIT.failed;
    }
    for (const pause of result.resumed) {
      io.out(`Resumed ${pauseText(config, pause)}: the next sync plans it again and sends what changed while it was paused.\n`);
    }
    for (const target of result.notPaused) io.out(`Not paused: ${targetText(config, target)}; nothing to resume.\n`);
    return EXIT.ok;
  }));
}
