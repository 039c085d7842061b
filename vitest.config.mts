import { defineConfig } from 'vitest/config';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));

// The fake Graph and Signature 365 servers speak HTTPS with a test CA; Node reads
// NODE_EXTRA_CA_CERTS only at start-up, so it is set here, before the test workers fork.
process.env.NODE_EXTRA_CA_CERTS = resolve(root, 'test/fakes/tls/ca.pem');

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/globalSetup.ts'],
    pool: 'forks',
    // Two test files at a time: vitest's default on a 2-core machine is one, and most of the suite
    // waits on Azurite, the fake servers and child processes rather than on the CPU (measured on
    // 2 cores: 595 s with one worker, 338 s with two, the same 136 files passing).
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
