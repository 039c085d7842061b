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
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
