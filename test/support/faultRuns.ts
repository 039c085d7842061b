/**
 * Shared pieces of the fault tests (test/faults): a replayable seed, killing a CLI child at a
 * chosen request, letting a killed run's lease run out, and the checks every fault run ends with
 * (destination equal to an independent expectation, no record applied twice).
 */
import { randomInt } from 'node:crypto';
import { createTableClient, type StorageTarget } from '../../src/store/storageAccount';
import { TABLE_NAMES } from '../../src/store/entityCodec';
import type { FakeTenant } from '../fakes/graph';
import type { FakeSignature365 } from '../fakes/signature365';
import type { CliChild } from './cliProcess';
import { expectedDestinations, expectedManager, type RawMapping, type RawOptions } from './expectedDestinations';
import type { RecordedRequest } from './signature365Recorder';

/** FAULT_SEED=<n> replays a run; otherwise a fresh seed, printed by the tests that use it. */
export function faultSeed(): number {
  const given = process.env.FAULT_SEED;
  if (given !== undefined && /^\d+$/.test(given)) return Number(given);
  return randomInt(1, 2 ** 31 - 1);
}

/**
 * A SIGKILL leaves the source lock held for its lease (5 minutes). The tests do not wait it out:
 * they let it run out the way time would, by moving its expiry into the past. Returns how many
 * live leases there were (a killed pull leaves one).
 */
export async function expireLocks(storage: StorageTarget): Promise<number> {
  const locks = createTableClient(storage, TABLE_NAMES.locks);
  let live = 0;
  try {
    for await (const lock of locks.listEntities<{ expiresAt?: string }>()) {
      if (Date.parse(lock.expiresAt ?? '') > Date.now()) live += 1;
      await locks.updateEntity({ partitionKey: lock.partitionKey ?? '', rowKey: lock.rowKey ?? '', expiresAt: new Date(0).toISOString() }, 'Merge');
    }
  } catch (error) {
    // A run killed before it created its tables leaves no lock table at all.
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
  return live;
}

export interface KillOutcome {
  /** False when the child exited before the kill point came. */
  killed: boolean;
  /** The request count when the signal was sent. */
  requestsAtKill: number;
}

/**
 * SIGKILLs `child` `offsetInMs` after `requestCount()` first reaches `n` (polled every
 * millisecond). Resolves once the child is gone.
 */
export async function killAtRequest(child: CliChild, requestCount: () => number, n: number, offsetInMs: number, timeoutInMs: number): Promise<KillOutcome> {
  const deadline = Date.now() + timeoutInMs;
  let exited = false;
  void child.exited.then(() => { exited = true; }, () => { exited = true; });
  while (!exited && requestCount() < n) {
    if (Date.now() > deadline) throw new Error(`request ${n} did not come within ${timeoutInMs} ms (${requestCount()} seen): ${child.stderr().slice(-1500)}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  if (!exited && offsetInMs > 0) await new Promise((resolve) => setTimeout(resolve, offsetInMs));
  if (exited) {
    await child.exited;
    return { killed: false, requestsAtKill: requestCount() };
  }
  const requestsAtKill = requestCount();
  child.process.kill('SIGKILL');
  const result = await child.exited;
  return { killed: result.signal === 'SIGKILL', requestsAtKill };
}

/**
 * How each destination differs from what the tenant and the mappings say it should hold
 * (test/support/expectedDestinations.ts, computed without the product's scope code). Empty when
 * equal: user ids, group ids, each user's attributes, manager and transitive groups, each group.
 */
export function destinationDifferences(tenant: FakeTenant, s365: FakeSignature365, sourceId: string, mappings: RawMapping[], options: RawOptions = {}): string[] {
  const differences: string[] = [];
  for (const [destination, want] of expectedDestinations(tenant, mappings, options)) {
    const held = new Map(s365.tenant(destination).users(sourceId).map((user) => [user.id, user]));
    const heldGroups = new Map(s365.tenant(destination).groups(sourceId).map((group) => [group.id, group]));
    for (const id of want.users.keys()) if (!held.has(id)) differences.push(`${destination}: user ${id} missing`);
    for (const id of held.keys()) if (!want.users.has(id)) differences.push(`${destination}: user ${id} should not be there`);
    for (const id of want.groups) if (!heldGroups.has(id)) differences.push(`${destination}: group ${id} missing`);
    for (const id of heldGroups.keys()) if (!want.groups.has(id)) differences.push(`${destination}: group ${id} should not be there`);
    for (const [userId, groups] of want.users) {
      const record = held.get(userId);
      const user = tenant.getUser(userId);
      if (record === undefined || user === undefined) continue;
      const expected = {
        userPrincipalName: user.userPrincipalName, mail: user.mail, displayName: user.displayName, jobTitle: user.jobTitle,
        department: user.department, accountEnabled: user.accountEnabled, manager: expectedManager(tenant, userId), groups,
      };
      const actual = Object.fromEntries(Object.keys(expected).map((key) => [key, record[key]]));
      if (JSON.stringify(actual) !== JSON.stringify(expected)) differences.push(`${destination}: user ${userId} holds ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
    }
    for (const groupId of want.groups) {
      const group = tenant.getGroup(groupId);
      const record = heldGroups.get(groupId);
      if (record === undefined || group === undefined) continue;
      const expected = { id: groupId, displayName: group.displayName, mail: group.mail, description: group.description };
      if (JSON.stringify(record) !== JSON.stringify(expected)) differences.push(`${destination}: group ${groupId} holds ${JSON.stringify(record)}, expected ${JSON.stringify(expected)}`);
    }
  }
  return differences;
}

export interface DuplicateUpsert {
  kind: 'users' | 'groups';
  id: string;
  hash: string;
  /** Sequence numbers of the batches that delivered it (each answered 200). */
  batches: number[];
}

/** Records the destination applied more than once with the same content (same id and record hash). */
export function duplicateUpserts(batches: readonly RecordedRequest[]): DuplicateUpsert[] {
  const seen = new Map<string, DuplicateUpsert>();
  for (const batch of batches) {
    if (batch.kind === null || batch.status !== 200) continue;
    for (const record of batch.upserts) {
      const key = `${batch.kind} ${record.id} ${record.hash}`;
      const entry = seen.get(key) ?? { kind: batch.kind, id: record.id, hash: record.hash, batches: [] };
      entry.batches.push(batch.seq);
      seen.set(key, entry);
    }
  }
  return [...seen.values()].filter((entry) => entry.batches.length > 1);
}
