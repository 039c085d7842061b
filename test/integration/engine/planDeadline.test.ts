/**
 * Planning has the run's budget: a plan still dispatching when `deadlineAt` passes stops at its
 * next checkpoint (between destinations and kinds), with what it queued recorded and its journal
 * kept, and the next run queues the rest, nothing twice. Real queue and tables on Azurite.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load';
import { createLogger } from '../../../src/setup/logging';
import { createRuntime, type ConnectorRuntime } from '../../../src/setup/runtime';
import type { UploadKind, UploadQueue } from '../../../src/sync/ports';
import { QueueUploadExecutor } from '../../../src/sync/queueUploads';
import { runSync } from '../../../src/sync/runSync';
import { FakeTenant, startFakeGraph } from '../../fakes/graph';
import { startFakeSignature365 } from '../../fakes/signature365';
import { configForFakes, newSecrets, SECRET_SETTING, TOKEN_SETTING } from '../../support/cliConfig';
import { isolatedStorage } from '../../support/storage';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function start(): Promise<{ rt: ConnectorRuntime; logs: string[] }> {
  const { clientSecret, token } = newSecrets();
  const tenant = new FakeTenant({ seed: 29 });
  tenant.generate({ users: 30, groups: 4, seed: 29 });
  const graph = await startFakeGraph({ tenant, clientSecret });
  const s365 = await startFakeSignature365({ tenants: [{ name: 'Tenant1', token, tenantId: '5a1e5000-0000-4000-8000-0000000000d4' }] });
  closers.push(() => graph.close(), () => s365.close());
  const { config } = await loadConfig({ [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token, CONNECTOR_CONFIG: JSON.stringify(configForFakes(graph, s365.endpoint)) });
  const logs: string[] = [];
  const rt = await createRuntime({ config, logger: createLogger({ level: 'debug', sink: { write: (line) => logs.push(line) } }), storage: isolatedStorage() });
  closers.push(() => rt.close());
  return { rt, logs };
}

describe('a plan that runs out of its run budget', () => {
  it('stops between destinations and kinds, keeps its journal, and the next run queues the rest once', async () => {
    const { rt, logs } = await start();
    const sent: { kind: UploadKind; ids: string[] }[] = [];
    let deadlineAt = Number.POSITIVE_INFINITY;
    // The real uploads queue; the first message is sent only once the budget is spent, as if the dispatch were slow.
    const slowQueue: UploadQueue = {
      async sendUpload(message) {
        await rt.queues.sendUpload(message);
        sent.push({ kind: message.kind, ids: message.ids });
        while (Date.now() <= deadlineAt) await sleep(20);
      },
    };
    const executor = new QueueUploadExecutor({ ledger: rt.ledger, outbox: rt.outbox, queue: slowQueue, dispatches: rt.cursors });
    deadlineAt = Date.now() + 15_000;
    const first = await runSync(rt.syncDependencies(executor), { runId: randomUUID(), holder: 'instance-a', deadlineAt });

    expect(first.pulls.map((pull) => pull.status)).toEqual(['completed']);
    expect(first.failures).toEqual([]);
    expect(first.plans).toEqual([]);
    expect(logs.some((line) => line.includes('"event":"plan.paused"'))).toBe(true);
    const firstKinds = [...new Set(sent.map((message) => message.kind))];
    expect(firstKinds).toHaveLength(1);
    expect(await rt.journal.pending('Default')).not.toEqual([]);
    expect(await rt.cursors.getDispatch('Default')).toBeUndefined();

    const sentBefore = sent.length;
    deadlineAt = Number.NEGATIVE_INFINITY;
    const second = await runSync(rt.syncDependencies(executor), { runId: randomUUID(), holder: 'instance-a' });
    expect(second.failures).toEqual([]);
    expect(second.plans).toHaveLength(1);
    const later = sent.slice(sentBefore);
    expect(new Set(later.map((message) => message.kind))).toEqual(new Set((['users', 'groups'] as const).filter((kind) => kind !== firstKinds[0])));
    expect(await rt.journal.pending('Default')).toEqual([]);
    // Nothing queued twice.
    const ids = sent.flatMap((message) => message.ids);
    expect(new Set(ids).size).toBe(ids.length);
  }, 120_000);
});
