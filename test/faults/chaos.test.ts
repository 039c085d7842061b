/**
 * Chaos: one in five requests to Graph (delta pages) and to Signature 365 (batches) answered 429
 * (Retry-After: 1) or 503, chosen with a seeded PRNG, through the fakes' own fault queues. The
 * real CLI runs one sync against them and must end with the destination exactly right, having
 * waited at least what each 429 asked for, in bounded time.
 *
 * The choice is made in blocks of five requests with exactly one fault at a seeded position, so
 * the share is 20% however many requests the run makes, and at most two faults come in a row:
 * both clients retry a request at least three times, so the faults delay the run but never
 * exhaust a retry budget (that case is test/faults/pageFailures.test.ts). The first block's fault
 * is a 429 and the second's a 503, so both kinds are exercised whatever the seed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTenant, seededRandom, startFakeGraph, type FakeGraph } from '../fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../fakes/signature365';
import { SECRET_SETTING, TOKEN_SETTING, configForFakes, newSecrets, tempFolder, type TempFolder } from '../support/cliConfig';
import { killCliChildren, runCli, type CliResult } from '../support/cliProcess';
import type { RawMapping } from '../support/expectedDestinations';
import { destinationDifferences, faultSeed } from '../support/faultRuns';
import { isolatedStorage } from '../support/storage';

const SEED = faultSeed();
const USERS = 800;
const BLOCK = 5;
/** More decisions than either service will see requests (pages, batches and their retries). */
const BLOCKS = 40;
const RETRY_AFTER_SECONDS = 1;
const RUN_TIMEOUT_IN_MS = 120_000;
const MAPPINGS: RawMapping[] = [{ From: 'EntraId:Default', To: 'Signature365:Tenant1', LimitToGroups: [] }];
const { clientSecret, token } = newSecrets();

type Decision = 'pass' | 429 | 503;

/** For each request in order: pass, or the fault it gets. */
function chaosPlan(random: () => number): Decision[] {
  const plan: Decision[] = [];
  for (let block = 0; block < BLOCKS; block += 1) {
    const at = Math.floor(random() * BLOCK);
    const fault: Decision = block === 0 ? 429 : block === 1 ? 503 : random() < 0.5 ? 429 : 503;
    for (let i = 0; i < BLOCK; i += 1) plan.push(i === at ? fault : 'pass');
  }
  return plan;
}

let graph: FakeGraph;
let s365: FakeSignature365;
let folder: TempFolder;
let run: CliResult;
let seconds = 0;

beforeAll(async () => {
  const tenant = new FakeTenant({ seed: 71 });
  tenant.generate({ users: USERS, groups: 30, nestingDepth: 3, seed: 71 });
  graph = await startFakeGraph({ tenant, clientSecret, memberSliceSize: 7, maxPageSize: { users: 37, groups: 37 } });
  s365 = await startFakeSignature365({ tenants: [{ name: 'Tenant1', token, tenantId: '5a1e5000-0000-4000-8000-0000000000f3' }] });
  folder = await tempFolder();
  const config = await folder.file('config.json', configForFakes(graph, s365.endpoint));

  const random = seededRandom(SEED);
  for (const decision of chaosPlan(random)) {
    graph.faults.add(decision === 'pass' ? { target: 'delta' } : { target: 'delta', status: decision, ...(decision === 429 ? { retryAfterSeconds: RETRY_AFTER_SECONDS } : {}) });
  }
  for (const decision of chaosPlan(random)) {
    s365.faults.inject(decision === 'pass' ? {} : { status: decision, ...(decision === 429 ? { retryAfter: RETRY_AFTER_SECONDS } : {}) }, { match: { method: 'POST' } });
  }

  const storage = isolatedStorage();
  if (storage.kind !== 'connectionString') throw new Error('the test Azurite is reached by connection string');
  const started = Date.now();
  run = await runCli(['sync', '--config', config], {
    AzureWebJobsStorage: storage.connectionString, STORAGE_PREFIX: storage.prefix, [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token,
  }, { timeoutInMs: RUN_TIMEOUT_IN_MS });
  seconds = (Date.now() - started) / 1000;
  const graphFaults = graph.deltaRequests().filter((r) => r.status !== 200).length;
  const s365Faults = s365.requests.filter((r) => r.method === 'POST' && r.status !== 200).length;
  console.log(`chaos, seed ${SEED} (replay with FAULT_SEED=${SEED}): ${graph.deltaRequests().length} Graph delta requests (${graphFaults} faulted), ` +
    `${s365.requests.filter((r) => r.method === 'POST').length} Signature 365 batches (${s365Faults} faulted), ${seconds.toFixed(1)} s`);
}, RUN_TIMEOUT_IN_MS + 10_000);
afterAll(async () => {
  killCliChildren();
  await Promise.all([graph?.close(), s365?.close()]);
  await folder?.remove();
});

describe(`a sync with 20% of Graph and Signature 365 requests answered 429 or 503 (seed ${SEED})`, () => {
  it('succeeds and leaves the destination exactly as the tenant says', () => {
    expect({ code: run.code, timedOut: run.timedOut, stderrTail: run.code === 0 ? '' : run.stderr.slice(-2000) }).toEqual({ code: 0, timedOut: false, stderrTail: '' });
    expect(destinationDifferences(graph.tenant, s365, graph.tenantId, MAPPINGS)).toEqual([]);
  });

  it('was really hit by both kinds of fault on both services, one request in five', () => {
    const graphStatuses = graph.deltaRequests().map((r) => r.status);
    const batchStatuses = s365.requests.filter((r) => r.method === 'POST').map((r) => r.status);
    for (const statuses of [graphStatuses, batchStatuses]) {
      expect(statuses).toContain(429);
      expect(statuses).toContain(503);
      const faulted = statuses.filter((s) => s !== 200).length;
      // Exactly one per block of five; the last block may be cut short by the end of the run.
      expect(faulted).toBeGreaterThanOrEqual(Math.floor(statuses.length / BLOCK));
      expect(faulted).toBeLessThanOrEqual(Math.ceil(statuses.length / BLOCK));
    }
  });

  it('waits at least the Retry-After of every 429 before asking Graph for that page again', () => {
    const delta = graph.deltaRequests();
    const waits = delta.flatMap((request, i) => {
      if (request.status !== 429) return [];
      const retry = delta.slice(i + 1).find((r) => r.path === request.path && JSON.stringify(r.query) === JSON.stringify(request.query));
      return [retry === undefined ? -1 : retry.at - request.at];
    });
    expect(waits.length).toBeGreaterThan(0);
    expect(waits.filter((wait) => wait < RETRY_AFTER_SECONDS * 1000)).toEqual([]);
  });

  it('waits at least the Retry-After of every 429 before sending that batch to Signature 365 again', () => {
    const batches = s365.requests.filter((r) => r.method === 'POST');
    const waits = batches.flatMap((request, i) => {
      if (request.status !== 429) return [];
      // One destination, one batch at a time: the next POST with the same items is the retry.
      const retry = batches.slice(i + 1).find((r) => r.path === request.path && r.upserts === request.upserts && r.deletes === request.deletes);
      return [retry === undefined ? -1 : Date.parse(retry.startedAt) - (Date.parse(request.startedAt) + request.durationInMs)];
    });
    expect(waits.length).toBeGreaterThan(0);
    expect(waits.filter((wait) => wait < RETRY_AFTER_SECONDS * 1000)).toEqual([]);
  });

  it('finishes within a bounded time', () => {
    expect(seconds).toBeLessThan(RUN_TIMEOUT_IN_MS / 1000);
  });
});
