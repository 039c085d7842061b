#!/usr/bin/env node
/**
 * `npm run demo [-- --users <n>]`: entry point of the demo. Not a subcommand of s365-connector,
 * because the built CLI ships without the simulated services the demo needs (see demo.ts).
 */
import { Command } from 'commander';
import { positiveInteger, processIo } from '../src/cli/processIo';
import { processScrubber } from '../src/setup/secretScrubber';
import { runDemo } from './demo';


async function main(): Promise<void> {
  const io = processIo();
  const program = new Command()
    .name('npm run demo --')
    .description('Run the whole pipeline on this machine: Azurite, a simulated Entra tenant and two simulated Signature 365 tenants')
    .option('--users <n>', 'users in the simulated tenant', positiveInteger, 3000)
    .showHelpAfterError();
  program.parse(process.argv);
  process.exitCode = await runDemo(program.opts<{ users: number }>(), io);
}

main().catch((error: unknown) => {
  process.stderr.write(`${processScrubber.scrub(error instanceof Error ? error.message : String(error))}\n`);
  process.exitCode = 1;
});
