/**
 * `s365-connector deletions list|approve`: what the deletion gate holds, and the administrator's
 * one-time approval of a hold as it stands (audited under the OS user name). Reads and writes the
 * same storage as the Functions app (AzureWebJobsStorage) or an earlier `sync --state` folder.
 */
import { userInfo } from 'node:os';
import type { ConnectorConfig } from '../config/types';
import { createLogger } from '../setup/logging';
import { createRuntime, type ConnectorRuntime } from '../setup/runtime';
import { storageTargetFromSettings } from '../setup/storageTarget';
import { approveDeletionHold, listDeletionHolds, type HoldListing } from '../sync/deletionAdmin';
import type { UploadKind } from '../sync/ports';
import { EXIT, loadConfigForCli, type CliIo } from './syncCommand';

export interface DeletionsCommandOptions {
  config?: string;
  state?: string;
}

export async function withRuntime(options: DeletionsCommandOptions, io: CliIo, work: (runtime: ConnectorRuntime) => Promise<number>): Promise<number> {
  const config = await loadConfigForCli(options, io);
  if (config === undefined) return EXIT.badConfig;
  if (!hasStorage(options, io)) {
    io.err('No storage configured: holds live in the connector\'s storage. Set AzureWebJobsStorage (the Functions app\'s account) or pass --state <folder> of earlier `sync --state` runs.\n');
    return EXIT.badConfig;
  }
  return withStorageRuntime(config, options, io, work);
}

/** True when the connector's storage is reachable: app settings, or the folder of earlier `sync --state` runs. */
export function hasStorage(options: { state?: string }, io: CliIo): boolean {
  return storageTargetFromSettings(io.env) !== undefined || options.state !== undefined;
}

/** Opens the connector's existing storage for a read-mostly command, and closes it afterwards. */
export async function withStorageRuntime(
  config: ConnectorConfig, options: { state?: string }, io: CliIo, work: (runtime: ConnectorRuntime) => Promise<number>,
): Promise<number> {
  const runtime = await createRuntime({
    config, env: io.env, logger: createLogger({ level: 'error' }),
    ...(options.state !== undefined ? { embeddedStorageWhenUnset: { folder: options.state } } : {}),
  });
  try {
    return await work(runtime);
  } finally {
    await runtime.close();
  }
}

function adminDeps(runtime: ConnectorRuntime) {
  return { deletions: runtime.deletions, audit: runtime.audit, ledger: runtime.ledger, mirror: runtime.mirror };
}

export function formatHold(hold: HoldListing): string[] {
  const threshold = hold.threshold === null ? 'threshold off' : `threshold ${hold.threshold}`;
  const lines = [
    `${hold.destination} <- ${hold.source} ${hold.kind}: ${hold.held} deletions HELD of ${hold.destinationSize} (${threshold}; ` +
      `${hold.deletedLast24h} deleted in the last 24 hours), hold ${hold.holdId}, held since ${hold.heldSince}`,
    `  why: ${hold.reason}`,
  ];
  for (const staged of hold.staged) lines.push(`  - ${staged.name ?? '(name unknown)'} ${staged.id}`);
  if (hold.stagedTotal > hold.staged.length) lines.push(`  … and ${hold.stagedTotal - hold.staged.length} more`);
  lines.push(`  approve with: s365-connector deletions approve --destination ${hold.destination} --source ${hold.source} --kind ${hold.kind}`);
  return lines;
}

export async function runDeletionsListCommand(options: DeletionsCommandOptions & { limit?: number }, io: CliIo): Promise<number> {
  return withRuntime(options, io, async (runtime) => {
    const holds = await listDeletionHolds(adminDeps(runtime), { stagedLimit: options.limit ?? 50 });
    if (holds.length === 0) {
      io.out('No deletions are held.\n');
      return EXIT.ok;
    }
    io.out(`${holds.flatMap(formatHold).join('\n')}\n`);
    return EXIT.ok;
  });
}

/** Who approves from the CLI: the OS user running it. */
export function osUserName(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username;
  } catch {
    return env.USER ?? env.USERNAME ?? 'unknown';
  }
}

export async function runDeletionsApproveCommand(
  options: DeletionsCommandOptions & { destination: string; source?: string; kind?: UploadKind; hold?: string },
  io: CliIo,
): Promise<number> {
  return withRuntime(options, io, async (runtime) => {
    // --destination and --source take the name as written ("Contoso Ltd") or its storage key (what `deletions list` prints).
    const keyOf = (asked: string, entries: readonly { name: string; displayName?: string }[]): string =>
      entries.find((entry) => entry.name === asked || entry.displayName === asked)?.name ?? asked;
    const destination = keyOf(options.destination, runtime.config.destinations);
    const source = options.source === undefined ? undefined : keyOf(options.source, runtime.config.sources);
    const holds = (await runtime.deletions.listHolds()).filter((hold) =>
      hold.destination === destination && (source === undefined || hold.source === source) && (options.kind === undefined || hold.kind === options.kind));
    if (holds.length === 0) {
      io.err(`No deletions are held for ${options.destination}${options.source !== undefined ? ` from ${options.source}` : ''}; see \`s365-connector deletions list\`.\n`);
      return EXIT.failed;
    }
    const approvedBy = osUserName(io.env);
    let exitCode: number = EXIT.ok;
    for (const hold of holds) {
      const result = await approveDeletionHold(adminDeps(runtime), {
        destination: hold.destination, source: hold.source, kind: hold.kind, approvedBy, via: 'cli', holdId: options.hold ?? hold.holdId,
      });
      if (result.status === 'approved') {
        io.out(`Approved by ${approvedBy}: ${hold.held} deletions of ${hold.kind} from ${hold.source} at ${hold.destination} (hold ${hold.holdId}); they go out with the next sync.\n`);
      } else {
        io.err(`${result.message}\n`);
        exitCode = EXIT.failed;
      }
    }
    return exitCode;
  });
}
