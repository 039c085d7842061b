/**
 * The soak: the connector as it runs in production (two `serve` processes sharing one storage,
 * each with its timer, pull worker and upload workers) over a directory that keeps changing, with
 * random faults everywhere it talks to: Signature 365 answers 429, 503, a whole-batch 400 or a
 * per-item 400; storage drops every connection for a second or three; a process is SIGKILLed and
 * started again. Then the faults stop and the connector gets a bounded time to converge.
 *
 * What it must end with, computed without the product's code: each destination holds exactly what
 * the fake tenant and the mappings say (test/support/expectedDestinations.ts); the ledger agrees
 * with the destination; no poison message is left; nothing was deleted that never left scope.
 *
 * Everything is on 127.0.0.1 and every loop is bounded by the run's own clock.
 */
import { freePort } from '../../src/setup/freePort';
import { createQueueClient, type StorageTarget } from '../../src/store/storageAccount';
import { TableLedgerStore } from '../../src/store/ledgerStore';
import { QUEUES } from '../../src/sync/messages';
import { FakeTenant, seededRandom, startFakeGraph, type FakeGraph } from '../fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../fakes/signature365';
import { SECRET_SETTING, TOKEN_SETTING, configForFakes, newSecrets, tempFolder, type TempFolder } from '../support/cliConfig';
import { startCli, type CliChild } from '../support/cliProcess';
import { expectedDestinations, type RawMapping, type RawOptions } from '../support/expectedDestinations';
import { destinationDifferences } from '../support/faultRuns';
import { relayStorage } from '../support/flakyTcpProxy';
import { ledgerEntries } from '../support/ledgerView';
import { startSignature365Recorder, type Signature365Recorder } from '../support/signature365Recorder';

export interface SoakOptions {
  /** How long faults and changes go on, seconds. */
  seconds: number;
  seed: number;
  /** The storage the connector processes use (reached through flaky proxies). */
  storage: StorageTarget & { kind: 'connectionString' };
  users?: number;
  /** `serve` processes sharing the storage (each runs up to 4 uploads at once). */
  processes?: number;
  /** How long the connector gets to converge once the faults stop, seconds. */
  convergeSeconds?: number;
  log?: (line: string) => void;
}

export interface SoakReport {
  seed: number;
  seconds: number;
  users: number;
  processes: number;
  operations: {
    directoryChanges: number;
    syncNowRequests: number;
    batchesSent: number;
    upsertsSent: number;
    deletesSent: number;
  };
  /** Faults injected; `answered` counts what the destination actually answered with them. */
  faults: {
    answered: Record<string, number>;
    throttled429: number;
    unavailable503: number;
    wholeBatch400: number;
    itemRejections: number;
    storageOutages: number;
    storageConnectionsCut: number;
    sigkills: number;
  };
  /** Seconds from the end of the faults until the destination matched (null: it never did). */
  convergedAfterSeconds: number | null;
  /** Destination vs the independent expectation; must be empty. */
  differences: string[];
  /** Held at the destination but unknown to (or not acknowledged in) the ledger; must be 0. */
  orphans: number;
  /** Ledger vs destination disagreements; must be empty. */
  ledgerDisagreements: string[];
  /** Messages left in the poison queues, by queue; must all be 0. */
  poisonMessages: Record<string, number>;
  /** Deletes of objects that were in scope at every moment of the run; must be empty. */
  wrongfulDeletes: string[];
}

const SOURCE_KINDS = ['users', 'groups'] as const;

interface Instance {
  name: string;
  port: number;
  child: CliChild | undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? (() => undefined);
  const users = options.users ?? 240;
  const processCount = options.processes ?? 2;
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(random() * items.length)];

  const tenant = new FakeTenant({ seed: options.seed });
  const generated = tenant.generate({ users, groups: 16, nestingDepth: 3, seed: options.seed, allStaffShare: 0.85 });
  const allStaff = generated.groupIds[0];
  if (allStaff === undefined) throw new Error('the generated tenant has no groups');
  const { clientSecret, token } = newSecrets();
  const cleanup: (() => Promise<unknown>)[] = [];
  const instances: Instance[] = [];
  try {
    const graph: FakeGraph = await startFakeGraph({ tenant, clientSecret });
    cleanup.push(() => graph.close());
    const s365: FakeSignature365 = await startFakeSignature365({ tenants: [{ name: 'Tenant1', token, tenantId: '5a1e5000-0000-4000-8000-0000000000a7' }] });
    cleanup.push(() => s365.close());
    const recorder: Signature365Recorder = await startSignature365Recorder(s365.endpoint);
    cleanup.push(() => recorder.close());
    const folder: TempFolder = await tempFolder();
    cleanup.push(() => folder.remove());

    const mappings: RawMapping[] = [{ From: 'EntraId:Default', To: 'Signature365:Tenant1', LimitToGroups: [allStaff] }];
    const rawOptions: RawOptions = { DeleteAfterDays: 0 };
    const config = configForFakes(graph, recorder.endpoint);
    const configPath = await folder.file('config.json', {
      ...config, Mappings: mappings, Options: { DeltaIntervalMinutes: 1, DeleteAfterDays: 0, DeleteThreshold: '50%' },
    });

    const storage = await relayStorage(options.storage.connectionString);
    cleanup.push(() => storage.close());
    const env = {
      AzureWebJobsStorage: storage.connectionString, STORAGE_PREFIX: options.storage.prefix,
      [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token,
    };

    const faults = { throttled429: 0, unavailable503: 0, wholeBatch400: 0, itemRejections: 0, storageOutages: 0, storageConnectionsCut: 0, sigkills: 0 };
    const start = async (instance: Instance): Promise<void> => {
      const child = startCli(['serve', '--config', configPath, '--port', String(instance.port), '--log-level', 'warn'], env, {
        timeoutInMs: (options.seconds + (options.convergeSeconds ?? 180) + 120) * 1000,
      });
      instance.child = child;
      const deadline = Date.now() + 30_000;
      while (!child.stdout().includes(`Listening on http://127.0.0.1:${instance.port}`)) {
        if (child.process.exitCode !== null || Date.now() > deadline) throw new Error(`${instance.name} did not start: ${child.stderr().slice(-2000)}`);
        await sleep(50);
      }
    };
    for (let index = 0; index < processCount; index += 1) instances.push({ name: `serve-${index + 1}`, port: await freePort(), child: undefined });
    for (const instance of instances) await start(instance);
    cleanup.push(async () => {
      for (const instance of instances) instance.child?.process.kill('SIGKILL');
      await Promise.all(instances.flatMap((instance) => (instance.child === undefined ? [] : [instance.child.exited])));
    });

    let syncNowRequests = 0;
    const syncNow = async (instance: Instance): Promise<void> => {
      if (instance.child === undefined || instance.child.process.exitCode !== null) return;
      syncNowRequests += 1;
      try {
        await fetch(`http://127.0.0.1:${instance.port}/api/sync-now`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(10_000) });
      } catch {
        // A storage outage or a kill in between: the request is lost like any other unanswered one.
      }
    };

    // Who is in scope, after every change: an object deleted downstream must have left scope at some point.
    const inScope = (): Set<string> => {
      const want = expectedDestinations(tenant, mappings, rawOptions).get('Tenant1');
      return new Set([...(want?.users.keys() ?? []), ...(want?.groups ?? [])]);
    };
    const everInScope = inScope();
    const everLeft = new Set<string>();
    const noteScope = (): void => {
      const now = inScope();
      for (const id of everInScope) if (!now.has(id)) everLeft.add(id);
      for (const id of now) everInScope.add(id);
    };

    let directoryChanges = 0;
    const changeDirectory = (): void => {
      const active = tenant.activeUsers();
      const user = pick(active);
      if (user === undefined) return;
      const roll = random();
      const members = new Set(tenant.activeMembersOf(allStaff).map((member) => member.id));
      if (roll < 0.4) tenant.updateUser(user.id, { jobTitle: `Title ${Math.floor(random() * 1e6)}` });
      else if (roll < 0.5) tenant.setManager(user.id, pick(active.filter((other) => other.id !== user.id))?.id ?? null);
      else if (roll < 0.6) tenant.addMember(allStaff, tenant.addUser({}).id);
      else if (roll < 0.7) {
        const member = pick([...members]);
        if (member !== undefined) tenant.removeMember(allStaff, member);
      } else if (roll < 0.8) {
        const outsider = pick(active.filter((other) => !members.has(other.id)));
        if (outsider !== undefined) tenant.addMember(allStaff, outsider.id);
      } else if (roll < 0.85) tenant.softDeleteUser(user.id);
      else if (roll < 0.95) {
        const group = pick(tenant.activeGroups());
        if (group !== undefined) tenant.updateGroup(group.id, { displayName: `Group ${Math.floor(random() * 1e6)}` });
      } else tenant.updateUser(user.id, { department: `Dept ${Math.floor(random() * 10)}` });
      directoryChanges += 1;
      noteScope();
    };

    // First sync, fault-free, so the run starts from a populated destination.
    const held = () => s365.tenant('Tenant1');
    const matches = () => destinationDifferences(tenant, s365, graph.tenantId, mappings, rawOptions).length === 0;
    const first = instances[0];
    if (first === undefined) throw new Error('no instance');
    const firstDeadline = Date.now() + 120_000;
    while (!matches()) {
      if (Date.now() > firstDeadline) throw new Error(`the first sync did not converge: ${destinationDifferences(tenant, s365, graph.tenantId, mappings, rawOptions).slice(0, 5).join('; ')}\n${first.child?.stderr().slice(-3000) ?? ''}`);
      await syncNow(first);
      await sleep(3_000);
    }
    log(`soak: first sync done, ${held().users(graph.tenantId).length} users held; faults for ${options.seconds} s (seed ${options.seed})`);

    // The run: one step a second.
    const end = Date.now() + options.seconds * 1000;
    let rejectionsClearAt = 0;
    let step = 0;
    while (Date.now() < end) {
      step += 1;
      for (let change = 0; change < 2; change += 1) if (random() < 0.6) changeDirectory();
      if (step % 4 === 0) await syncNow(pick(instances) ?? first);
      // At most a few faults waiting, so they land spread over the run rather than queue up.
      const fault = s365.faults.pending() < 3 ? random() : 1;
      if (fault < 0.12) { s365.faults.throttle(1, 1, { method: 'POST' }); faults.throttled429 += 1; }
      else if (fault < 0.22) { s365.faults.failNext(1, 503, { match: { method: 'POST' } }); faults.unavailable503 += 1; }
      else if (fault < 0.26) { s365.faults.inject({ status: 400 }, { match: { method: 'POST' } }); faults.wholeBatch400 += 1; }
      else if (fault < 0.30) {
        const victim = pick(held().users(graph.tenantId));
        if (victim !== undefined) { s365.faults.rejectItem(victim.id, 'soak: rejected item'); faults.itemRejections += 1; rejectionsClearAt = Date.now() + 4_000; }
      }
      // rejectItem lasts until clear(), which also drops the unused faults: fine, more come every second.
      if (rejectionsClearAt > 0 && Date.now() > rejectionsClearAt) { s365.faults.clear(); rejectionsClearAt = 0; }
      if (step % 23 === 0) {
        const ms = 1_000 + Math.floor(random() * 2_000);
        storage.outage(ms);
        faults.storageOutages += 1;
      }
      if (step % 41 === 0) {
        const victim = pick(instances);
        if (victim?.child !== undefined) {
          victim.child.process.kill('SIGKILL');
          await victim.child.exited;
          faults.sigkills += 1;
          await sleep(1_000 + Math.floor(random() * 2_000));
          await start(victim);
        }
      }
      await sleep(1_000);
    }

    // Faults stop; the directory stops changing. A lease left by a killed process is taken over by
    // its successor (serve knows a dead local holder), so nothing here touches the locks.
    s365.faults.clear();
    const faultsEndedAt = Date.now();
    let convergedAfterSeconds: number | null = null;
    const convergeDeadline = faultsEndedAt + (options.convergeSeconds ?? 180) * 1000;
    while (Date.now() < convergeDeadline) {
      await syncNow(first);
      await sleep(5_000);
      if (matches() && (await uploadsQueueEmpty(options.storage))) {
        convergedAfterSeconds = Math.round((Date.now() - faultsEndedAt) / 1000);
        break;
      }
    }
    // Let anything still in flight land before the final reading.
    await sleep(2_000);
    await recorder.settled(10_000);

    for (const proxy of storage.proxies) faults.storageConnectionsCut += proxy.cut();
    const answered: Record<string, number> = {};
    for (const batch of recorder.batches()) if (batch.status !== 200) answered[String(batch.status)] = (answered[String(batch.status)] ?? 0) + 1;
    const differences = destinationDifferences(tenant, s365, graph.tenantId, mappings, rawOptions);
    const ledger = new TableLedgerStore(options.storage);
    const ledgerDisagreements: string[] = [];
    let orphans = 0;
    for (const kind of SOURCE_KINDS) {
      const entries = await ledgerEntries(ledger, 'Tenant1', 'Default', kind);
      const heldIds = new Set((kind === 'users' ? held().users(graph.tenantId) : held().groups(graph.tenantId)).map((record) => record.id));
      for (const id of heldIds) {
        if (entries.get(id)?.a === undefined || entries.get(id)?.a === null) {
          orphans += 1;
          ledgerDisagreements.push(`${kind} ${id}: held at the destination, not acknowledged in the ledger`);
        }
      }
      for (const [id, entry] of entries) {
        if (entry.a !== undefined && entry.a !== null && !heldIds.has(id)) ledgerDisagreements.push(`${kind} ${id}: acknowledged in the ledger, not held`);
        if (entry.w === 1 && (entry.a === undefined || entry.a === null)) ledgerDisagreements.push(`${kind} ${id}: wanted but never acknowledged`);
      }
    }
    const poisonMessages: Record<string, number> = {};
    for (const base of Object.values(QUEUES)) poisonMessages[`${base}-poison`] = await queueDepth(options.storage, `${base}-poison`);
    const batches = recorder.batches().filter((batch) => batch.status === 200);
    const wrongfulDeletes = [...new Set(batches.flatMap((batch) => batch.deletes))].filter((id) => !everLeft.has(id));

    return {
      seed: options.seed, seconds: options.seconds, users, processes: processCount,
      operations: {
        directoryChanges, syncNowRequests, batchesSent: recorder.batches().length,
        upsertsSent: batches.reduce((sum, batch) => sum + batch.upserts.length, 0),
        deletesSent: batches.reduce((sum, batch) => sum + batch.deletes.length, 0),
      },
      faults: { ...faults, answered }, convergedAfterSeconds, differences, orphans, ledgerDisagreements, poisonMessages, wrongfulDeletes,
    };
  } finally {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  }
}

async function queueDepth(storage: StorageTarget, base: string): Promise<number> {
  const queue = createQueueClient(storage, base);
  try {
    return (await queue.getProperties()).approximateMessagesCount ?? 0;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return 0;
    throw error;
  }
}

async function uploadsQueueEmpty(storage: StorageTarget): Promise<boolean> {
  return (await queueDepth(storage, QUEUES.uploads)) === 0;
}
