import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

/** The CA of the simulated services in test/fakes (demo, bench): a clone's test material, never shipped. */
export const TEST_CA = resolve(__dirname, 'tls', 'ca.pem');

/**
 * The simulated services use a test CA. Node reads NODE_EXTRA_CA_CERTS only at start-up, so a
 * command that talks to them re-runs itself once with it set: TLS stays fully verified, nothing is
 * switched off. Returns the child's exit code, or undefined when this process already trusts it.
 */
export function rerunTrustingTestCa(env: NodeJS.ProcessEnv): number | undefined {
  if (env.NODE_EXTRA_CA_CERTS !== undefined && resolve(env.NODE_EXTRA_CA_CERTS) === TEST_CA) return undefined;
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    env: { ...env, NODE_EXTRA_CA_CERTS: TEST_CA },
    stdio: 'inherit',
  });
  return child.status ?? 1;
}
