/**
 * The source lock under slow work: the lease is renewed from a timer (not only between pages), a
 * holder that lost its lease cannot move the cursor back (fenced cursor writes), and two syncs of
 * one source never plan at the same time, even when a plan outlasts the lease.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load';
import { createLogger } from '../../../src/setup/logging';
import { createRuntime, type ConnectorRuntime } from '../../../src/setup/runtime';
import { TableCursorStore, TableLockStore } from '../../../src/store';
import type { DeltaCursor } from '../../../src/sync/ports';
import { pullSource } from '../../../src/sync/pullSource';
import { runSync, type SyncRunSummary } from '../../../src/sync/runSync';
import type { UploadExecutor } from '../../../src/sync/uploadWork';
import { FakeTenant, startFakeGraph, type FakeGraph } from '../../fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../../fakes/signature365';
import { configForFakes, newSecrets, SECRET_SETTING, TOKEN_SETTING } from '../../support/cliConfig';
import { SOURCE, startEngineHarness, type EngineHarness } from '../../support/engineHarness';
import { isolatedStorage } from '../../support/storage';

const LOCK = `pull|${SOURCE}`;
/** Short leases so that "longer than the lease" takes seconds, not minutes (long enough for a renewal on a loaded machine). */
const TTL_IN_MS = 1_500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let engine: EngineHarness | undefined;
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await engine?.close();
  engine = undefined;
  for (const close of closers.splice(0).reverse()) await close();
});

describe('a page slower than the lease', () => {
  it('keeps the lease renewed while the page is read, so a second instance cannot take the source over', async () => {
    const h = await startEngineHarness({ users: 60, groups: 4, seed: 5 });
    engine = h;
    // Page 1 as usual, then page 2 takes three leases.
    h.graph.faults.add({ target: 'users' }).add({ target: 'users', delayMs: TTL_IN_MS * 3 });
    const pulling = h.pull({ holder: 'instance-a', lockTtlInMs: TTL_IN_MS });

    const other = new TableLockStore(h.storage);
    const attempts: boolean[] = [];
    const until = Date.now() + TTL_IN_MS * 2.8;
    await sleep(TTL_IN_MS * 1.3);
    while (Date.now() < until) {
      const taken = await other.tryAcquire(LOCK, 'instance-b', 60_000);
      attempts.push(taken !== undefined);
      if (taken !== undefined) await taken.release();
      await sleep(100);
    }
    const pulled = await pulling;

    expect(attempts.length).toBeGreaterThan(3);
    expect(attempts.filter(Boolean)).toEqual([]);
    expect(pulled.status).toBe('completed');
  });
});

describe('a holder whose lease was taken over', () => {
  it('is refused when it writes the cursor, stops as locked and logs it; the cursor keeps what the new holder wrote', async () => {
    const h = await startEngineHarness({ users: 60, groups: 4, seed: 6 });
    engine = h;
    h.graph.faults.add({ target: 'users' }).add({ target: 'users', delayMs: 1_500 });
    const logs: string[] = [];
    const logger = createLogger({ level: 'debug', sink: { write: (line) => logs.push(line) } });
    const cursors = new TableCursorStore(h.storage);
    const pulling = pullSource(SOURCE, { reader: h.reader(), mirror: h.mirror, cursors, journal: h.journal, locks: h.locks, logger }, {
      fullReconcileHours: 24, holder: 'instance-a', batchObjects: 1, fillTransactions: false,
    });

    // Once page 1 is checkpointed, instance B takes the source over (A's process looks gone) and moves the cursor on.
    const observer = new TableCursorStore(h.storage);
    for (let i = 0; i < 100 && (await observer.get(SOURCE, 'users'))?.nextLink == null; i += 1) await sleep(20);
    expect((await observer.get(SOURCE, 'users'))?.nextLink).toEqual(expect.any(String));
    const taken = await new TableLockStore(h.storage).tryAcquire(LOCK, 'instance-b', 60_000, { holderIsGone: () => true });
    if (taken === undefined) throw new Error('instance B could not take the lock over');
    const newer: DeltaCursor = {
      nextLink: null, deltaLink: 'https://graph.example/users/delta?$deltatoken=written-by-b', round: null,
      lastFullRoundCompletedAt: '2030-01-01T00:00:00.000Z', lastRoundCompletedAt: '2030-01-01T00:00:00.000Z',
    };
    await new TableCursorStore(h.storage).put(SOURCE, 'users', newer, taken);

    const pulled = await pulling;
    expect(pulled.status).toBe('locked');
    expect(await observer.get(SOURCE, 'users')).toEqual(newer);
    const events = logs.map((line) => (JSON.parse(line) as { event: string }).event);
    expect(events).toContain('pull.lockLost');
    expect(events).not.toContain('round.failed');
  });
});

describe('two syncs of one source at once', () => {
  let graph: FakeGraph;
  let s365: FakeSignature365;

  async function runtime(): Promise<ConnectorRuntime> {
    const { clientSecret, token } = newSecrets();
    const tenant = new FakeTenant({ seed: 12 });
    tenant.generate({ users: 40, groups: 4, seed: 12 });
    graph = await startFakeGraph({ tenant, clientSecret });
    s365 = await startFakeSignature365({ tenants: [{ name: 'Tenant1', token, tenantId: '5a1e5000-0000-4000-8000-0000000000f7' }] });
    closers.push(() => graph.close(), () => s365.close());
    const { config } = await loadConfig({ [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token, CONNECTOR_CONFIG: JSON.stringify(configForFakes(graph, s365.endpoint)) });
    const rt = await createRuntime({ config, logger: createLogger({ level: 'warn', sink: { write: () => undefined } }), storage: isolatedStorage() });
    closers.push(() => rt.close());
    return rt;
  }

  it('never plan at the same time, even when a plan takes longer than the lease', async () => {
    const rt = await runtime();
    let planning = 0;
    let mostAtOnce = 0;
    let entered: () => void = () => undefined;
    const firstPlanEntered = new Promise<void>((resolve) => { entered = resolve; });
    const inner = rt.inProcessExecutor();
    // A plan's hand-over to the uploads, held open for four leases.
    const slow: UploadExecutor = {
      durable: inner.durable,
      async execute(works, context) {
        planning += 1;
        mostAtOnce = Math.max(mostAtOnce, planning);
        entered();
        try {
          await sleep(TTL_IN_MS * 4);
          return await inner.execute(works, context);
        } finally {
          planning -= 1;
        }
      },
    };
    const sync = (holder: string): Promise<SyncRunSummary> => runSync(rt.syncDependencies(slow), { runId: randomUUID(), holder, lockTtlInMs: TTL_IN_MS });

    const first = sync('instance-a');
    await firstPlanEntered;
    await sleep(TTL_IN_MS * 1.5);
    const second = await sync('instance-b');
    const firstDone = await first;

    expect(mostAtOnce).toBe(1);
    expect(firstDone.plans).toHaveLength(1);
    expect(second.pulls.map((pull) => pull.status)).toEqual(['locked']);
    expect(second.plans).toEqual([]);
  });
});
