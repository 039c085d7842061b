/**
 * `npm run bench`: the whole pipeline at scale against the simulated services, and what each kind
 * of run costs. Writes bench/results/latest.json.
 *
 *   npm run bench -- --users 10000                  (default; both stores)
 *   npm run bench -- --users 10000,100000           (every size, both stores: what latest.json holds)
 *   npm run bench -- --users 100000 --stores memory
 *   npm run bench -- --users 10000 --stores none --realtime 10000   (only the real-time phases)
 *
 * The fake Graph and Signature 365 run in a child process (bench/fakesProcess.ts) and Azurite in
 * another, so the figures for this process are the connector's own: wall time, CPU, peak RSS,
 * storage requests (counted by a pipeline policy on every table client and every queue send) and
 * entities written. Azurite's CPU is read from /proc for its process. Stores: the embedded Azurite
 * in memory, and persisted to a folder (what `sync --state` uses).
 *
 * Runs, in order, on one runtime: first full sync; no-op; one title change; one user moved between
 * nested groups; a manager with 8 reports renamed; a whole-source re-plan (`--replan`); a full
 * reconcile round (`--full`).
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { join, resolve } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { resolveConfig } from '../src/config/resolve';
import { startEmbeddedAzurite, type EmbeddedAzurite } from '../src/setup/embeddedAzurite';
import { createLogger } from '../src/setup/logging';
import { createRuntime, type ConnectorRuntime } from '../src/setup/runtime';
import { syncOnce, type SyncOnceResult } from '../src/cli/syncCommand';
import { rerunTrustingTestCa } from '../test/fakes/trustTestCa';
import { TABLE_NAMES } from '../src/store/entityCodec';
import { StorageRequestCounter, difference, type StorageRequestCounts } from '../src/store/requestCounter';
import { control, startFakes, type FakesInfo } from './fakesClient';
import { runRealtime } from './realtime';

/** Progress lines are noise in a benchmark's output. */
const quiet = Object.assign(Object.create(process.stderr) as NodeJS.WriteStream, { isTTY: false, write: () => true });

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] ?? fallback : fallback;
}

/** CPU seconds (user + system) of a process, from /proc. */
function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

class PeakMemory {
  peakRss = 0;
  peakHeap = 0;
  private readonly timer = setInterval(() => this.sample(), 25);
  sample(): void {
    const usage = process.memoryUsage();
    this.peakRss = Math.max(this.peakRss, usage.rss);
    this.peakHeap = Math.max(this.peakHeap, usage.heapUsed);
  }
  reset(): void {
    this.sample();
    this.peakRss = process.memoryUsage().rss;
    this.peakHeap = process.memoryUsage().heapUsed;
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

const round = (value: number, digits = 3) => Number(value.toFixed(digits));

interface PhaseResult {
  seconds: number;
  connectorCpuSeconds: number;
  azuriteCpuSeconds: number;
  peakRssMiB: number;
  peakHeapMiB: number;
  storage: StorageRequestCounts;
  /** Delta pages (users/delta, groups/delta). */
  graphRequests: number;
  /** mailboxSettings/userPurpose reads: one per in-scope user whose type is read (src/sync/mailboxTypes.ts). */
  mailboxRequests: number;
  uploads: { batches: number; upserts: number; deletes: number };
  plan: { mode: string; reason?: string; evaluatedUsers: number; evaluatedGroups: number };
}

async function measure(
  name: string,
  work: () => Promise<SyncOnceResult>,
  context: { counter: StorageRequestCounter; azurite: EmbeddedAzurite; fakes: FakesInfo; memory: PeakMemory; runtime: ConnectorRuntime },
): Promise<PhaseResult> {
  if (global.gc !== undefined) global.gc();
  const mark = await control<{ s365: number; graph: number }>(context.fakes, '/mark');
  const before = context.counter.snapshot();
  const cpu = process.cpuUsage();
  const azuriteCpu = processCpuSeconds(context.azurite.pid);
  context.memory.reset();
  const started = performance.now();
  const result = await work();
  const seconds = (performance.now() - started) / 1000;
  context.memory.sample();
  const used = process.cpuUsage(cpu);
  const since = await control<{ batches: number; upserts: number; deletes: number; graphRequests: number; mailboxRequests: number }>(context.fakes, `/since?s365=${mark.s365}&graph=${mark.graph}`);
  const plan = result.summary.plans[0];
  if (result.summary.failures.length > 0) throw new Error(`${name}: ${result.summary.failures.map((failure) => failure.error.message).join('; ')}`);
  const phase: PhaseResult = {
    seconds: round(seconds),
    connectorCpuSeconds: round((used.user + used.system) / 1e6),
    azuriteCpuSeconds: round(processCpuSeconds(context.azurite.pid) - azuriteCpu, 2),
    peakRssMiB: Math.round(context.memory.peakRss / 1048576),
    peakHeapMiB: Math.round(context.memory.peakHeap / 1048576),
    storage: difference(context.counter.snapshot(), before),
    graphRequests: since.graphRequests,
    mailboxRequests: since.mailboxRequests,
    uploads: { batches: since.batches, upserts: since.upserts, deletes: since.deletes },
    plan: {
      mode: plan?.mode ?? 'none', ...(plan?.reason !== undefined ? { reason: plan.reason } : {}),
      evaluatedUsers: plan?.evaluated.users ?? 0, evaluatedGroups: plan?.evaluated.groups ?? 0,
    },
  };
  process.stderr.write(`  ${name}: ${phase.seconds} s, ${phase.storage.total} storage requests, ${phase.uploads.upserts} upserts, ${phase.peakRssMiB} MiB\n`);
  return phase;
}

/** Entities per connector table, counted with a client of its own (not in the request counts). */
async function countEntities(connectionString: string, prefix: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const base of Object.values(TABLE_NAMES)) {
    const table = TableClient.fromConnectionString(connectionString, `${prefix}${base}`, { allowInsecureConnection: true });
    let count = 0;
    try {
      for await (const page of table.listEntities({ queryOptions: { select: ['PartitionKey'] } }).byPage({ maxPageSize: 1000 })) count += page.length;
    } catch {
      count = 0;
    }
    counts[base] = count;
  }
  return counts;
}

function folderBytes(folder: string): number {
  let total = 0;
  for (const name of readdirSync(folder)) {
    const path = join(folder, name);
    const stat = statSync(path);
    total += stat.isDirectory() ? folderBytes(path) : stat.size;
  }
  return total;
}

async function runStore(users: number, store: 'memory' | 'folder'): Promise<Record<string, unknown>> {
  process.stderr.write(`${users} users, Azurite ${store === 'memory' ? 'in memory' : 'in a folder'}\n`);
  const { info: fakes, child } = await startFakes(users);
  const folder = store === 'folder' ? mkdtempSync(join(tmpdir(), 'bench-state-')) : undefined;
  const azurite = await startEmbeddedAzurite(folder !== undefined ? { location: folder } : {});
  const counter = new StorageRequestCounter();
  const memory = new PeakMemory();
  const config = resolveConfig({
    EntraId: { Default: { TenantId: fakes.graph.tenantId, ClientId: fakes.graph.clientId, ClientSecret: fakes.graph.clientSecret, AuthorityHost: fakes.graph.authorityHost, GraphEndpoint: fakes.graph.graphEndpoint } },
    Signature365: { Bench: { Token: fakes.s365.token, Endpoint: fakes.s365.endpoint } },
    Mappings: [{ From: 'EntraId:Default', To: 'Signature365:Bench', LimitToGroups: [fakes.allStaffGroupId] }],
  }, process.env);
  const logger = createLogger({ level: 'error' });
  const runtime = await createRuntime({ config, logger, storage: { kind: 'connectionString', connectionString: azurite.connectionString, prefix: 'bench' }, requestCounter: counter });
  const context = { counter, azurite, fakes, memory, runtime };
  if (global.gc !== undefined) global.gc();
  const baselineRssMiB = Math.round(process.memoryUsage().rss / 1048576);
  const sync = (options: { full?: boolean; replan?: boolean } = {}) => () => syncOnce(runtime, { logger, progressStream: quiet, ...options });
  try {
    const phases: Record<string, PhaseResult> = {};
    phases.fullSync = await measure('first full sync', sync(), context);
    const entities = await countEntities(azurite.connectionString, 'bench');
    phases.noOp = await measure('no-op', sync(), context);
    await control(fakes, '/title');
    phases.titleChange = await measure('one title change', sync(), context);
    await control(fakes, '/move');
    phases.membershipMove = await measure('one user moved between nested groups', sync(), context);
    await control(fakes, '/rename-manager');
    phases.managerRename = await measure('manager with 8 reports renamed', sync(), context);
    phases.replan = await measure('whole-source re-plan (--replan)', sync({ replan: true }), context);
    phases.fullReconcile = await measure('full reconcile round (--full)', sync({ full: true }), context);
    const entityTotal = Object.values(entities).reduce((sum, count) => sum + count, 0);
    const full = phases.fullSync;
    return {
      users, store, tenant: { users: fakes.users, groups: fakes.groups, usersInScope: fakes.inScope, graphPageFloor: fakes.pageFloor },
      connectorProcess: { baselineRssMiB, heapLimitMiB: Math.round(getHeapStatistics().heap_size_limit / 1048576) },
      phases,
      entitiesAfterFullSync: { byTable: entities, total: entityTotal, perUser: round(entityTotal / fakes.users, 3) },
      checks: {
        fullSyncGraphRequestsPerPageFloor: round(full.graphRequests / fakes.pageFloor, 3),
        fullSyncStorageRequestsBudget: Math.round(1.2 * (full.storage.entitiesWritten / 100) + full.graphRequests),
        fullSyncEntityWritesPerUser: round(full.storage.entitiesWritten / fakes.users, 3),
      },
      ...(folder !== undefined ? { stateFolderMiB: round(folderBytes(folder) / 1048576, 1) } : {}),
    };
  } finally {
    memory.stop();
    await runtime.close();
    await azurite.stop();
    await control(fakes, '/close').catch(() => undefined);
    child.kill();
    if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rerun = rerunTrustingTestCa(process.env);
  if (rerun !== undefined) {
    process.exitCode = rerun;
    return;
  }
  const sizes = argument('users', '10000').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
  const stores = argument('stores', 'memory,folder').split(',').filter((store): store is 'memory' | 'folder' => store === 'memory' || store === 'folder');
  const runs = [];
  for (const users of sizes) for (const store of stores) runs.push(await runStore(users, store));
  // The real-time path at 10k users (issue 14), unless --realtime none.
  const realtimeUsers = argument('realtime', '10000');
  const realtime = realtimeUsers === 'none' ? undefined : await runRealtime(Number(realtimeUsers));
  // The previous engine's figures, measured on the same machine size, for a side-by-side reading.
  const before = JSON.parse(readFileSync(resolve(__dirname, 'previous-engine.json'), 'utf8')) as unknown;
  const result = { date: new Date().toISOString(), machine: { cores: cpus().length, node: process.version }, runs, ...(realtime !== undefined ? { realtime } : {}), before };
  mkdirSync(resolve(__dirname, 'results'), { recursive: true });
  const path = resolve(__dirname, 'results', argument('out', 'latest.json'));
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\nWritten to ${path}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exitCode = 1;
});
