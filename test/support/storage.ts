import { inject } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { StorageTarget } from '../../src/store/storageAccount';

/** A storage target on the shared test Azurite with a prefix of its own, so test files never see each other's rows. */
export function isolatedStorage(): StorageTarget {
  const connectionString = inject('storageConnectionString');
  return { kind: 'connectionString', connectionString, prefix: `t${randomBytes(5).toString('hex')}` };
}
