/**
 * The soak in CI: 60 seconds of changes and faults (SOAK_SECONDS to change it), then convergence.
 * `npm run soak` runs the same for longer, outside vitest. See test/soak/soakRun.ts.
 */
import { describe, expect, it } from 'vitest';
import { faultSeed } from '../support/faultRuns';
import { isolatedStorage } from '../support/storage';
import { runSoak, type SoakReport } from './soakRun';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const CONVERGE_SECONDS = 180;

describe('soak: two serve processes, a changing directory, faults everywhere', () => {
  it('ends with the destination as expected, the ledger agreeing, no poison, no wrongful delete', async () => {
    const storage = isolatedStorage();
    if (storage.kind !== 'connectionString') throw new Error('the test Azurite is reached by connection string');
    const seed = faultSeed();
    const report: SoakReport = await runSoak({ seconds: SECONDS, seed, storage, convergeSeconds: CONVERGE_SECONDS, log: (line) => console.log(line) });
    console.log(`soak report (replay with FAULT_SEED=${seed}): ${JSON.stringify(report)}`);
    expect(report.faults.sigkills).toBeGreaterThan(0);
    expect(report.faults.storageOutages).toBeGreaterThan(0);
    expect(report.differences.slice(0, 10)).toEqual([]);
    expect(report.convergedAfterSeconds).not.toBeNull();
    expect(report.orphans).toBe(0);
    expect(report.ledgerDisagreements.slice(0, 10)).toEqual([]);
    expect(Object.values(report.poisonMessages).every((count) => count === 0), JSON.stringify(report.poisonMessages)).toBe(true);
    expect(report.wrongfulDeletes).toEqual([]);
  }, (SECONDS + CONVERGE_SECONDS + 240) * 1000);
});
