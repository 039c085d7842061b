/**
 * SIGKILL of the real CLI process (`node --import tsx src/cli/main.ts sync`) at random points of
 * a whole run, and in the three failpoint windows (src/sync/failpoints.ts), each from a fresh
 * start (own storage prefix, empty destination). After each kill at most two reruns; then the
 * mirror, the destination and the record of what the destination received must show that
 * nothing was lost and nothing sent twice.
 *
 * Kill points: a clean run is measured first (T = Graph delta requests + Signature 365 batches);
 * point i of K kills at request n_i = 1 + floor((i + u) * T / K) (stratified, u seeded), after a
 * seeded 0-24 ms, so the points cover the users round, the groups round and the upload fan-out.
 * Replay with FAULT_SEED=<seed shown in the test names>.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TableMirrorStore } from '../../src/store';
import { WRITE_LEDGER_EVERY_BATCHES } from '../../src/sync/inProcessUploads';
import type { StorageTarget } from '../../src/store/storageAccount';
import { FakeTenant, seededRandom, startFakeGraph, type FakeGraph } from '../fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../fakes/signature365';
import { SECRET_SETTING, TOKEN_SETTING, configForFakes, newSecrets, tempFolder, type TempFolder } from '../support/cliConfig';
import { killCliChildren, runCli, startCli, type CliResult } from '../support/cliProcess';
import type { RawMapping } from '../support/expectedDestinations';
import { destinationDifferences, duplicateUpserts, expireLocks, faultSeed, killAtRequest } from '../support/faultRuns';
import { expectedDirectory, readMirrorDirectory, removedInMirror } from '../support/mirrorSnapshot';
import { startSignature365Recorder, type Signature365Recorder } from '../support/signature365Recorder';
import { isolatedStorage } from '../support/storage';

const SEED = faultSeed();
const USERS = 150;
const GROUPS = 20;
const PAGE_SIZE = 37;
/** Groups pages are kept small (each group entry carries up to 7 members), so the groups round has several pages to kill in. */
const GROUP_PAGE_SIZE = 8;
const RANDOM_KILLS = 20;
const MAX_RERUNS = 2;
/**
 * The most a crash may make the rerun send again: the batches answered since the ledger was last
 * written (it is written every WRITE_LEDGER_EVERY_BATCHES batches), 100 records each.
 */
const UNACKNOWLEDGED_BATCHES = WRITE_LEDGER_EVERY_BATCHES;
const MOST_RESENT = UNACKNOWLEDGED_BATCHES * 100;
const RUN_TIMEOUT_IN_MS = 30_000;
// Runs use --batch-size GROUP_PAGE_SIZE: every users page and every groups page is a batch of its
// own, written and checkpointed before the next page is asked for, so afterMirrorWrite@N is page N.
const MAPPINGS: RawMapping[] = [{ From: 'EntraId:Default', To: 'Signature365:Tenant1', LimitToGroups: [] }];
const { clientSecret, token } = newSecrets();

type KillPoint =
  | { kind: 'request'; n: number; offsetInMs: number }
  | { kind: 'failpoint'; failpoints: string };

interface Outcome {
  label: string;
  /** The run died of SIGKILL at the point (false: it finished before the point came). */
  killed: boolean;
  /** Where the kill landed: Graph delta requests and destination batches the killed run had made. */
  landedAt: string;
  reruns: number;
  rerunCodes: (number | null)[];
  mirrorDifferences: string[];
  removedInMirror: number;
  destinationDifferences: string[];
  /** Records applied twice with the same content. */
  duplicates: number;
  /** Of those, the ones not in the batch the killed run had on the wire (must be none). */
  duplicatesOutsideUnacknowledged: string[];
  failpointFired: boolean;
  secretsPrinted: boolean;
  /** stderr of the last run when it did not exit 0, to diagnose. */
  lastFailure: string;
  seconds: number;
}

let graph: FakeGraph;
let s365: FakeSignature365;
let recorder: Signature365Recorder;
let folder: TempFolder;
let configFile: string;
let clean: { requests: number; pages: number; batches: number; seconds: number; outcome: Outcome };
const outcomes: Outcome[] = [];
let totalSeconds = 0;

function envFor(storage: StorageTarget, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  if (storage.kind !== 'connectionString') throw new Error('the test Azurite is reached by connection string');
  return { AzureWebJobsStorage: storage.connectionString, STORAGE_PREFIX: storage.prefix, [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token, ...extra };
}

/** One scenario from scratch: the run that is killed (or a clean one when `point` is undefined), then up to two reruns, then the checks. */
async function scenario(label: string, point: KillPoint | undefined): Promise<Outcome> {
  const started = Date.now();
  const storage = isolatedStorage();
  s365.tenant('Tenant1').clear();
  const graphMark = graph.requests.length;
  const batchMark = recorder.requests.length;
  const deltaRequests = () => graph.requests.slice(graphMark).filter((r) => r.target === 'users' || r.target === 'groups').length;
  const batchesSent = () => recorder.requests.slice(batchMark).filter((r) => r.kind !== null).length;
  recorder.setLabel(`${label}:first`);

  let first: CliResult;
  let killed = false;
  if (point?.kind === 'request') {
    const child = startCli(['sync', '--config', configFile, '--batch-size', String(GROUP_PAGE_SIZE)], envFor(storage), { timeoutInMs: RUN_TIMEOUT_IN_MS });
    const kill = await killAtRequest(child, () => deltaRequests() + batchesSent(), point.n, point.offsetInMs, RUN_TIMEOUT_IN_MS);
    first = await child.exited;
    killed = kill.killed;
  } else {
    first = await runCli(['sync', '--config', configFile, '--batch-size', String(GROUP_PAGE_SIZE)], envFor(storage, point === undefined ? {} : { S365_FAILPOINTS: point.failpoints }), { timeoutInMs: RUN_TIMEOUT_IN_MS });
    killed = first.signal === 'SIGKILL' && !first.timedOut;
  }
  const landedAt = `${deltaRequests()} delta requests, ${batchesSent()} batches`;
  // A batch the child sent just before dying is still answered by the fake; let that finish first.
  await recorder.settled();
  // The killed run's last batches: answered (or on the wire) but perhaps not yet in the ledger.
  const unacknowledged = new Set(recorder.requests.slice(batchMark).filter((r) => r.kind !== null && r.label === `${label}:first`).slice(-UNACKNOWLEDGED_BATCHES).map((r) => r.seq));

  const runs: CliResult[] = [first];
  const rerunCodes: (number | null)[] = [];
  let differences = destinationDifferences(graph.tenant, s365, graph.tenantId, MAPPINGS);
  for (let rerun = 1; (first.code !== 0 || differences.length > 0) && rerun <= MAX_RERUNS; rerun += 1) {
    await expireLocks(storage);
    recorder.setLabel(`${label}:rerun${rerun}`);
    const result = await runCli(['sync', '--config', configFile, '--batch-size', String(GROUP_PAGE_SIZE)], envFor(storage), { timeoutInMs: RUN_TIMEOUT_IN_MS });
    runs.push(result);
    rerunCodes.push(result.code);
    differences = destinationDifferences(graph.tenant, s365, graph.tenantId, MAPPINGS);
    if (result.code === 0 && differences.length === 0) break;
  }

  const mirror = new TableMirrorStore(storage);
  const expected = expectedDirectory(graph.tenant);
  const actual = await readMirrorDirectory(mirror, 'Default');
  const mirrorDifferences = [
    ...(['users', 'groups', 'edges'] as const).flatMap((part) => {
      const want = new Set(expected[part].map((item) => JSON.stringify(item)));
      const have = new Set(actual[part].map((item) => JSON.stringify(item)));
      return [...[...want].filter((item) => !have.has(item)).map((item) => `${part} missing or different: ${item.slice(0, 120)}`),
        ...[...have].filter((item) => !want.has(item)).map((item) => `${part} unexpected: ${item.slice(0, 120)}`)];
    }),
  ];
  const removed = await removedInMirror(mirror, 'Default');
  const duplicates = duplicateUpserts(recorder.requests.slice(batchMark));
  const outcome: Outcome = {
    label, killed, landedAt, reruns: runs.length - 1, rerunCodes,
    mirrorDifferences: mirrorDifferences.slice(0, 5),
    removedInMirror: Object.keys(removed.users).length + Object.keys(removed.groups).length,
    destinationDifferences: differences.slice(0, 5),
    duplicates: duplicates.length,
    duplicatesOutsideUnacknowledged: duplicates
      .filter((d) => d.batches.length > 2 || !unacknowledged.has(d.batches[0] ?? -1))
      .map((d) => `${d.kind} ${d.id} in batches ${d.batches.join(',')}`),
    failpointFired: point?.kind === 'failpoint' ? /failpoint \w+@\d+: SIGKILL/.test(first.stderr) : false,
    secretsPrinted: runs.some((run) => `${run.stdout}${run.stderr}`.includes(clientSecret) || `${run.stdout}${run.stderr}`.includes(token)),
    lastFailure: runs.at(-1)?.code === 0 ? '' : (runs.at(-1)?.stderr ?? '').slice(-1500),
    seconds: (Date.now() - started) / 1000,
  };
  return outcome;
}

beforeAll(async () => {
  const started = Date.now();
  const tenant = new FakeTenant({ seed: 53 });
  tenant.generate({ users: USERS, groups: GROUPS, nestingDepth: 3, seed: 53 });
  graph = await startFakeGraph({ tenant, clientSecret, memberSliceSize: 7, maxPageSize: { users: PAGE_SIZE, groups: GROUP_PAGE_SIZE } });
  s365 = await startFakeSignature365({ tenants: [{ name: 'Tenant1', token, tenantId: '5a1e5000-0000-4000-8000-0000000000f1' }] });
  recorder = await startSignature365Recorder(s365.endpoint);
  folder = await tempFolder();
  configFile = await folder.file('config.json', configForFakes(graph, recorder.endpoint));

  // The clean run gives the number of requests the kill points are drawn from.
  const graphMark = graph.requests.length;
  const cleanOutcome = await scenario('clean', undefined);
  const pages = graph.requests.slice(graphMark).filter((r) => r.target === 'users' || r.target === 'groups').length;
  const batches = recorder.batches().length;
  clean = { requests: pages + batches, pages, batches, seconds: cleanOutcome.seconds, outcome: cleanOutcome };

  const random = seededRandom(SEED);
  const points: [string, KillPoint][] = [];
  for (let i = 0; i < RANDOM_KILLS; i += 1) {
    const n = 1 + Math.floor(((i + random()) * clean.requests) / RANDOM_KILLS);
    const offsetInMs = Math.floor(random() * 25);
    points.push([`kill at request ${n}/${clean.requests} +${offsetInMs} ms`, { kind: 'request', n, offsetInMs }]);
  }
  const page = 1 + Math.floor(random() * pages);
  const batch = 1 + Math.floor(random() * batches);
  points.push(
    [`failpoint afterMirrorWrite@${page}`, { kind: 'failpoint', failpoints: `afterMirrorWrite@${page}` }],
    ['failpoint afterCursorSave@1 (users deltaLink saved)', { kind: 'failpoint', failpoints: 'afterCursorSave@1' }],
    ['failpoint afterCursorSave@2 (groups deltaLink saved, nothing planned)', { kind: 'failpoint', failpoints: 'afterCursorSave@2' }],
    [`failpoint afterUploadBeforeAck@${batch}`, { kind: 'failpoint', failpoints: `afterUploadBeforeAck@${batch}` }],
  );
  for (const [label, point] of points) outcomes.push(await scenario(label, point));
  totalSeconds = (Date.now() - started) / 1000;

  const lines = outcomes.map((o) => `  ${o.label.padEnd(66)} killed=${String(o.killed).padEnd(5)} at ${o.landedAt.padEnd(32)} reruns=${o.reruns} duplicates=${o.duplicates} ${o.seconds.toFixed(1)} s`);
  console.log([
    `crash safety, seed ${SEED} (replay with FAULT_SEED=${SEED}): clean run ${clean.pages} delta requests + ${clean.batches} batches in ${clean.seconds.toFixed(1)} s`,
    ...lines,
    ...outcomes.filter((o) => o.lastFailure !== '' && o.reruns > 0).map((o) => `  ${o.label} last run failed:\n${o.lastFailure}`),
    `  clean batches: ${recorder.batches().filter((b) => b.label === 'clean:first').map((b) => `${b.kind} ${b.upserts.length} -> ${b.status}`).join('; ')}`,
    `  ${outcomes.filter((o) => o.killed).length} kills, ${outcomes.reduce((sum, o) => sum + o.reruns, 0)} reruns, ${outcomes.reduce((sum, o) => sum + o.duplicates, 0)} duplicate records, ${totalSeconds.toFixed(1)} s in all`,
  ].join('\n'));
}, 240_000);
afterEach(() => {
  killCliChildren();
});
afterAll(async () => {
  killCliChildren();
  await recorder?.close();
  await Promise.all([graph?.close(), s365?.close()]);
  await folder?.remove();
});

describe(`the CLI killed with SIGKILL at ${RANDOM_KILLS} random points and in each failpoint window (seed ${SEED})`, () => {
  it('makes a clean run that sends every record exactly once', () => {
    expect(clean.outcome).toMatchObject({ reruns: 0, mirrorDifferences: [], destinationDifferences: [], duplicates: 0, removedInMirror: 0 });
    expect(clean.pages).toBeGreaterThan(Math.ceil(USERS / PAGE_SIZE) + 1);
    expect(clean.batches).toBe(3);
  });

  it('really kills the process at every point, the failpoints included', () => {
    expect(outcomes.filter((o) => !o.killed).map((o) => o.label)).toEqual([]);
    expect(outcomes.filter((o) => o.label.startsWith('failpoint') && !o.failpointFired).map((o) => o.label)).toEqual([]);
  });

  it('spreads the random kills over the users round, the groups round and the uploads', () => {
    const landed = outcomes.filter((o) => o.label.startsWith('kill')).map((o) => /(\d+) delta requests, (\d+) batches/.exec(o.landedAt));
    const usersPages = Math.ceil(USERS / PAGE_SIZE);
    expect(landed.some((m) => Number(m?.[1]) <= usersPages)).toBe(true);
    expect(landed.some((m) => Number(m?.[1]) > usersPages + 1 && Number(m?.[2]) === 0)).toBe(true);
    expect(landed.some((m) => Number(m?.[2]) > 0)).toBe(true);
  });

  it(`recovers within ${MAX_RERUNS} reruns, each exiting 0`, () => {
    expect(outcomes.filter((o) => o.reruns > MAX_RERUNS || o.rerunCodes.at(-1) !== 0).map((o) => `${o.label}: ${o.rerunCodes.join(',')}`)).toEqual([]);
  });

  it('loses no object in the mirror and marks nothing removed', () => {
    expect(outcomes.filter((o) => o.mirrorDifferences.length > 0 || o.removedInMirror > 0).map((o) => ({ label: o.label, differences: o.mirrorDifferences, removed: o.removedInMirror }))).toEqual([]);
  });

  it('leaves the destination equal to the state computed independently from the tenant', () => {
    expect(outcomes.filter((o) => o.destinationDifferences.length > 0).map((o) => ({ label: o.label, differences: o.destinationDifferences }))).toEqual([]);
  });

  it('never applies the same record twice, except a resend of what the killed run sent since it last wrote the ledger', () => {
    expect(outcomes.filter((o) => o.duplicatesOutsideUnacknowledged.length > 0).map((o) => ({ label: o.label, duplicates: o.duplicatesOutsideUnacknowledged.slice(0, 5) }))).toEqual([]);
    expect(outcomes.filter((o) => o.duplicates > MOST_RESENT).map((o) => `${o.label}: ${o.duplicates}`)).toEqual([]);
    const ack = outcomes.find((o) => o.label.startsWith('failpoint afterUploadBeforeAck'));
    // The batch was applied, its ack never recorded: the rerun sends that batch again.
    expect(ack?.duplicates).toBeGreaterThan(0);
  });

  it('never prints the client secret or the token', () => {
    expect(outcomes.filter((o) => o.secretsPrinted).map((o) => o.label)).toEqual([]);
  });
});
