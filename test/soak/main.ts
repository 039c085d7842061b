/**
 * `npm run soak -- [--seconds 900] [--seed N]`: the soak of test/soak/soakRun.ts for longer than CI
 * runs it, on its own embedded Azurite (in memory). Prints the report and writes it to
 * bench/results/soak-latest.json; exits 1 when a check fails.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startEmbeddedAzurite } from '../../src/setup/embeddedAzurite';
import { faultSeed } from '../support/faultRuns';
import { runSoak } from './soakRun';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '900' }, seed: { type: 'string' }, users: { type: 'string', default: '240' } } });
  const seconds = Number(values.seconds);
  const seed = values.seed !== undefined ? Number(values.seed) : faultSeed();
  if (!Number.isInteger(seconds) || seconds < 10) throw new Error('--seconds: a whole number of seconds, at least 10');
  const azurite = await startEmbeddedAzurite();
  try {
    const report = await runSoak({
      seconds, seed, users: Number(values.users),
      storage: { kind: 'connectionString', connectionString: azurite.connectionString, prefix: 'soak' },
      log: (line) => process.stdout.write(`${line}\n`),
    });
    const failures = [
      ...(report.convergedAfterSeconds === null ? ['did not converge'] : []),
      ...report.differences.slice(0, 10), ...report.ledgerDisagreements.slice(0, 10),
      ...Object.entries(report.poisonMessages).filter(([, count]) => count > 0).map(([queue, count]) => `${count} message(s) in ${queue}`),
      ...report.wrongfulDeletes.map((id) => `deleted while in scope: ${id}`),
    ];
    const out = resolve(__dirname, '..', '..', 'bench', 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(resolve(out, 'soak-latest.json'), `${JSON.stringify({ date: new Date().toISOString(), ...report, failures }, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n${failures.length === 0 ? 'Soak passed.' : `Soak FAILED:\n${failures.join('\n')}`}\n`);
    process.exitCode = failures.length === 0 ? 0 : 1;
  } finally {
    await azurite.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exitCode = 1;
});
