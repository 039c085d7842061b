#!/usr/bin/env node
/**
 * s365-connector: the command-line front. Same core as the Functions app, no Functions host.
 */
import { Command, InvalidArgumentError } from 'commander';
import { positiveInteger, processIo } from './processIo';
import { processScrubber } from '../setup/secretScrubber';
import { runAuditCommand, type AuditCommandOptions } from './auditCommand';
import { runDeletionsApproveCommand, runDeletionsListCommand } from './deletionsCommand';
import { runExplainCommand } from './explainCommand';
import { runExtensionsListCommand, type ExtensionsListOptions } from './extensionsCommand';
import { runPauseCommand, runResumeCommand, type PauseCommandOptions } from './pauseCommand';
import { runServeCommand } from './serveCommand';
import { runSyncCommand, type CliIo } from './syncCommand';
import { parseQueueName, runQueuesClearCommand, runQueuesListCommand, runQueuesRedriveCommand, type QueuesCommandOptions } from './queuesCommand';
import { runStatusCommand } from './statusCommand';
import { runTestConnectionCommand } from './testConnectionCommand';
import { runValidateCommand } from './validateCommand';


function portNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) throw new InvalidArgumentError('must be a port number from 0 to 65535 (0: any free port)');
  return parsed;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The help of the options most commands share: where the config is, and where earlier runs kept their state. */
const CONFIG_HELP = 'config.json to use (default: CONFIG_BLOB_URI, CONFIG_PATH or CONNECTOR_CONFIG)';
const STORED_STATE_HELP = 'the embedded Azurite folder of earlier `sync --state` runs';

export function buildProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command();
  program
    .name('s365-connector')
    .description('Keeps Microsoft Entra ID users and groups in sync with Signature 365 tenants.')
    .showHelpAfterError();

  program
    .command('sync')
    .description('Pull every Entra source (delta queries) into the mirror, then upload the changes to each Signature 365 tenant')
    .option('-c, --config <path>', CONFIG_HELP)
    .option('--full', 'start full rounds (reconcile) instead of incremental ones')
    .option('--replan', 'plan every object of the source against the ledger, not only what changed or came due')
    .option('--reconcile-destinations', 'list what each Signature 365 tenant holds and correct the ledger before planning (a full round does this too): unknown objects go through the deletion gate, missing or changed ones are sent again')
    .option('--queues', 'put upload work on the Storage queue for the Functions app instead of uploading in-process')
    .option('--source <name>', 'only this EntraId source (repeatable)', collect, [] as string[])
    .option('--state <folder>', 'when no storage is configured, keep the embedded Azurite data in this folder')
    .option('--watch', 'run again every Options.DeltaIntervalMinutes until interrupted')
    .option('--upload-concurrency <n>', 'destinations uploaded in parallel', positiveInteger, 4)
    .option('--batch-size <objects>', 'objects read from Graph before they are written and checkpointed (a crash replays at most this many)', positiveInteger, 6400)
    .option('--log-level <level>', 'debug | info | warn | error | silent (JSON logs on stderr)')
    .option('--dry-run', 'pull, then print what each destination would receive and delete; send, queue and record nothing')
    .option('--quiet', 'no progress on stderr (bars on a terminal, a line every 10 s otherwise); logs and the summary are unchanged')
    .action(async (options: { config?: string; full?: boolean; replan?: boolean; reconcileDestinations?: boolean; queues?: boolean; source: string[]; state?: string; watch?: boolean; uploadConcurrency: number; batchSize: number; logLevel?: string; dryRun?: boolean; quiet?: boolean }) => {
      setExitCode(await runSyncCommand(options, io));
    });

  program
    .command('serve')
    .description('Run the event-driven app in this process: Graph webhook, subscriptions (with --public-url), delta timer, upload worker; until SIGTERM/SIGINT')
    .option('-c, --config <path>', CONFIG_HELP)
    .option('--port <port>', 'port to listen on', portNumber, 7071)
    .option('--host <address>', 'interface to listen on (default 127.0.0.1; 0.0.0.0 when --public-url is not a loopback address)')
    .option('--public-url <url>', 'where Graph reaches this process (https; http only for loopback); the product appends /api/graph/notifications')
    .option('--state <folder>', 'when no storage is configured, keep the embedded Azurite data in this folder')
    .option('--api-key <key>', 'lets non-loopback callers use /api/status, /api/explain, /api/dashboard, /api/audit and /api/sync-now (header x-api-key); default SERVE_API_KEY')
    .option('--log-level <level>', 'debug | info | warn | error | silent (JSON logs on stderr)')
    .action(async (options: { config?: string; port: number; host?: string; publicUrl?: string; state?: string; apiKey?: string; logLevel?: string }) => {
      setExitCode(await runServeCommand(options, io));
    });

  program
    .command('validate')
    .description('Check config.json; with storage, also check the mappings against the mirror (missing groups, conflicts)')
    .option('-c, --config <path>', 'config.json to check (default: CONFIG_BLOB_URI, CONFIG_PATH or CONNECTOR_CONFIG)')
    .option('--state <folder>', STORED_STATE_HELP)
    .option('--strict', 'treat warnings (overlapping or repeated mappings, plain-text secrets, tokens without idscl_) as errors: exit code 2')
    .action(async (options: { config?: string; state?: string; strict?: boolean }) => {
      setExitCode(await runValidateCommand(options, io));
    });

  const deletions = program
    .command('deletions')
    .description('Deletions the deletion gate holds (threshold, empty scope, missing groups) and their approval');
  deletions
    .command('list')
    .description('List the held deletions: counts, reason and the staged users or groups')
    .option('-c, --config <path>', CONFIG_HELP)
    .option('--state <folder>', STORED_STATE_HELP)
    .option('--limit <n>', 'staged objects shown per hold', positiveInteger, 50)
    .action(async (options: { config?: string; state?: string; limit: number }) => {
      setExitCode(await runDeletionsListCommand(options, io));
    });
  deletions
    .command('approve')
    .description('Approve held deletions once, as they stand now (audited under your OS user name); they go out with the next sync')
    .requiredOption('--destination <name>', 'the Signature365 destination name')
    .option('--source <name>', 'only the hold of this EntraId source (default: every source)')
    .option('--kind <kind>', 'users or groups (default: both)', (value: string) => {
      if (value !== 'users' && value !== 'groups') throw new InvalidArgumentError('must be users or groups');
      return value;
    })
    .option('--hold <id>', 'the hold id you reviewed; nothing is approved if the hold has changed since')
    .option('-c, --config <path>', CONFIG_HELP)
    .option('--state <folder>', STORED_STATE_HELP)
    .action(async (options: { destination: string; source?: string; kind?: 'users' | 'groups'; hold?: string; config?: string; state?: string }) => {
      setExitCode(await runDeletionsApproveCommand(options, io));
    });

  const pauseCommand = (name: 'pause' | 'resume', description: string, run: (options: PauseCommandOptions, io: CliIo) => Promise<number>) => {
    program
      .command(name)
      .description(description)
      // Checked against the config once it is loaded (the range depends on it): see pauses.ts.
      .option('--mapping <index>', 'the Mappings entry, 0-based as `validate` numbers them (Mappings[0] is the first); every mapping between the same source and destination goes with it')
      .option('--destination <name>', 'every mapping (and every source) to this Signature365 destination')
      .option('--all', 'every mapping at once, including mappings added later')
      .option('--reason <text>', 'why, for status and the audit log')
      .option('-c, --config <path>', CONFIG_HELP)
      .option('--state <folder>', STORED_STATE_HELP)
      .action(async (options: PauseCommandOptions) => {
        setExitCode(await run(options, io));
      });
  };
  pauseCommand('pause', 'Stop planning and sending for a mapping (audited under your OS user name): nothing is sent or deleted there until resumed; the pull goes on', runPauseCommand);
  pauseCommand('resume', 'Start a paused mapping again (audited): the next sync sends what changed while it was paused', runResumeCommand);

  program
    .command('audit')
    .description('The audit trail, newest first: per object and destination what was created, updated (which fields), deleted, staged for deletion, skipped or refused, and why; without --user also the administrative acts')
    .option('--user <objectId>', 'only this user or group (its Entra object id)')
    .option('--since <when>', 'only rows from this ISO date or time (2026-12-01, 2026-12-01T08:00:00Z) or span back from now (24h, 7d)')
    .option('--destination <name>', 'only this Signature365 destination')
    .option('--limit <n>', 'at most this many rows', positiveInteger)
    .option('--json', 'print JSON instead of text')
    .option('-c, --config <path>', CONFIG_HELP)
    .option('--state <folder>', STORED_STATE_HELP)
    .action(async (options: AuditCommandOptions) => {
      setExitCode(await runAuditCommand(options, io));
    });

  program
    .command('test-connection')
    .description('Sign in to every Entra source and read one object of users/delta and groups/delta; check every Signature 365 token')
    .option('-c, --config <path>', CONFIG_HELP)
    .action(async (options: { config?: string }) => {
      setExitCode(await runTestConnectionCommand(options, io));
    });

  program
    .command('extensions')
    .description('Directory (schema) extension properties the Entra sources can read on users (needs the optional Application.Read.All)')
    .command('list')
    .description('List the extension properties of the tenant\'s app registrations (or of --app), with the names ExtensionProperties takes')
    .option('-c, --config <path>', CONFIG_HELP)
    .option('--source <name>', 'only this EntraId source (repeatable)', collect, [] as string[])
    .option('--app <appId>', 'only the app registration with this application id (repeatable)', collect, [] as string[])
    .option('--max-applications <n>', 'app registrations searched when no --app is given (one Graph request each)', positiveInteger)
    .option('--json', 'print JSON instead of text')
    .action(async (options: ExtensionsListOptions) => {
      setExitCode(await runExtensionsListCommand(options, io));
    });

  program
    .command('status')
    .description('Show the delta rounds per source, and per destination what is held, still to send, waiting to be deleted, failed or quarantined')
    .option('-c, --config <path>', CONFIG_HELP)
    .option('--state <folder>', STORED_STATE_HELP)
    .option('--json', 'print JSON instead of text')
    .option('--mail-domains', 'also read each source\'s domains from Graph (Domain.Read.All) and report in-scope users whose mail domain is not verified (one pass over the mirror)')
    .action(async (options: { config?: string; state?: string; json?: boolean; mailDomains?: boolean }) => {
      setExitCode(await runStatusCommand(options, io));
    });

  program
    .command('explain')
    .description('Explain one user: per mapping in scope or not and why (group path, filters, Include/Exclude, OnConflict), per destination the record it would receive, what it last acknowledged and anything pending')
    .argument('<user>', 'object id, userPrincipalName or mail')
    .option('-c, --config <path>', CONFIG_HELP)
    .option('--state <folder>', STORED_STATE_HELP)
    .option('--json', 'print JSON instead of text')
    .action(async (user: string, options: { config?: string; state?: string; json?: boolean }) => {
      setExitCode(await runExplainCommand(user, options, io));
    });

  const queues = program
    .command('queues')
    .description('The Storage queues\' backlog and their poison queues (<queue>-poison: messages that failed every try)');
  const queueOption = (value: string) => {
    const name = parseQueueName(value);
    if (name === undefined) throw new InvalidArgumentError('must be uploads, pull-requests or subscription-events');
    return name;
  };
  const queueCommand = (name: string, description: string, run: (options: QueuesCommandOptions, io: CliIo) => Promise<number>) => {
    queues
      .command(name)
      .description(description)
      .option('--queue <name>', 'uploads | pull-requests | subscription-events (default: every queue)', queueOption)
      .option('-c, --config <path>', CONFIG_HELP)
      .option('--state <folder>', STORED_STATE_HELP)
      .action(async (options: QueuesCommandOptions) => {
        setExitCode(await run(options, io));
      });
  };
  queueCommand('list', 'Messages waiting and poisoned per queue', runQueuesListCommand);
  queueCommand('redrive', 'Move the poison messages back to their queue (after fixing what made them fail)', runQueuesRedriveCommand);
  queueCommand('clear', 'Delete the poison messages (upload work is queued again from the ledger by itself)', runQueuesClearCommand);

  return program;
}

async function main(): Promise<void> {
  const io = processIo();
  let exitCode = 0;
  await buildProgram(io, (code) => { exitCode = code; }).parseAsync(process.argv);
  process.exitCode = exitCode;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${processScrubber.scrub(error instanceof Error ? error.message : String(error))}\n`);
    process.exitCode = 1;
  });
}
