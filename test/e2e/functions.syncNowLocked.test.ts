/**
 * "Sync now" while another run holds the source: the request the caller was told 202 about goes
 * back on the real pull-requests queue (Azurite) with a visibility delay, still `full` when it was
 * asked full, and runs once the lock is free; a request that stays locked too long is dropped
 * with an error instead of looping.
 */
import { QueueClient } from '@azure/storage-queue';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load';
import { createLogger } from '../../src/setup/logging';
import { queueSyncNow, runPullMessage } from '../../src/setup/messageHandlers';
import { createRuntime, type ConnectorRuntime } from '../../src/setup/runtime';
import { TableLockStore } from '../../src/store';
import { MAX_LOCKED_PULL_REQUEUES } from '../../src/sync/lockedPullRetry';
import { parseConnectorMessage, type PullRequestedMessage } from '../../src/sync/messages';
import type { SyncRunSummary } from '../../src/sync/runSync';
import { FakeTenant } from '../fakes/graph';
import { decodeHostMessage, startConnectorHarness, type ConnectorHarness } from '../support/connectorHarness';

const RETRY_DELAY_IN_SECONDS = 1;

let harness: ConnectorHarness | undefined;
let runtime: ConnectorRuntime | undefined;
afterEach(async () => {
  await runtime?.close();
  await harness?.close();
  runtime = undefined;
  harness = undefined;
});

async function start(): Promise<{ h: ConnectorHarness; rt: ConnectorRuntime; logs: string[]; pulls: QueueClient }> {
  const tenant = new FakeTenant({ seed: 41, domain: 'contoso.example' });
  tenant.generate({ users: 20, groups: 3, seed: 41 });
  const h = await startConnectorHarness({ tenant, destinations: ['TenantA'] });
  harness = h;
  h.configure([{ From: 'EntraId:Default', To: 'Signature365:TenantA' }]);
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', sink: { write: (line) => logs.push(line) } });
  const { config } = await loadConfig(process.env);
  const rt = await createRuntime({ config, logger, env: process.env, storage: h.storage, lockedPullRetryDelayInSeconds: RETRY_DELAY_IN_SECONDS });
  runtime = rt;
  return { h, rt, logs, pulls: rt.queues.pullRequests };
}

/** Takes one message off the real queue (waiting up to `waitMs` for it to become visible), as the host's trigger would. */
async function receivePull(queue: QueueClient, waitMs: number): Promise<{ message: PullRequestedMessage; done: () => Promise<unknown> } | undefined> {
  const until = Date.now() + waitMs;
  for (;;) {
    const received = await queue.receiveMessages({ numberOfMessages: 1, visibilityTimeout: 60 });
    const item = received.receivedMessageItems[0];
    if (item !== undefined) {
      const parsed = parseConnectorMessage(decodeHostMessage(item.messageText));
      if (parsed.type !== 'pull') throw new Error(`expected a pull message, got ${parsed.type}`);
      return { message: parsed, done: () => queue.deleteMessage(item.messageId, item.popReceipt) };
    }
    if (Date.now() >= until) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function messagesOnQueue(queue: QueueClient): Promise<number> {
  // Counts invisible (delayed) messages too, unlike peek.
  return (await queue.getProperties()).approximateMessagesCount ?? 0;
}

async function handle(rt: ConnectorRuntime, message: PullRequestedMessage, holder: string): Promise<SyncRunSummary | 'deferred'> {
  const logger = createLogger({ level: 'warn', sink: { write: () => undefined } });
  return runPullMessage(rt, message, { logger, holder });
}

describe('sync now while another run holds the source', () => {
  it('puts the request back on the queue, still full, and runs it once the lock is free', async () => {
    const { h, rt, pulls } = await start();
    const other = await new TableLockStore(h.storage).tryAcquire('pull|Default', 'another-instance:run', 60_000);
    expect(other).toBeDefined();

    const answer = await queueSyncNow(rt, '{"full": true, "source": "Default"}', rt.logger);
    expect(answer.status).toBe(202);
    const first = await receivePull(pulls, 0);
    if (first === undefined) throw new Error('sync now queued nothing');
    const lockedRun = await handle(rt, first.message, 'worker-1');
    await first.done();
    expect(lockedRun !== 'deferred' && lockedRun.pulls.map((p) => p.status)).toEqual(['locked']);

    // The request is still on the queue (invisible for the retry delay), not completed and gone.
    expect(await messagesOnQueue(pulls)).toBe(1);
    expect(await receivePull(pulls, 0)).toBeUndefined();

    await other?.release();
    const again = await receivePull(pulls, 10_000);
    if (again === undefined) throw new Error('the re-queued request never became visible');
    expect(again.message).toMatchObject({ runId: first.message.runId, source: 'Default', full: true, reason: 'syncNow', requeues: 1 });
    const graphRequestsBefore = h.graph.deltaRequests('users').length;
    const run = await handle(rt, again.message, 'worker-2');
    await again.done();
    if (run === 'deferred') throw new Error('a sync-now pull is never deferred');
    expect(run.pulls).toMatchObject([{ source: 'Default', status: 'completed', users: { roundKind: 'full' }, groups: { roundKind: 'full' } }]);
    expect(h.graph.deltaRequests('users').length).toBeGreaterThan(graphRequestsBefore);
    expect(await messagesOnQueue(pulls)).toBe(0);
  });

  it('splits a request for every source into one per locked source', async () => {
    const { h, rt, pulls } = await start();
    await new TableLockStore(h.storage).tryAcquire('pull|Default', 'another-instance:run', 60_000);
    await queueSyncNow(rt, '', rt.logger);
    const first = await receivePull(pulls, 0);
    if (first === undefined) throw new Error('sync now queued nothing');
    expect(first.message.source).toBeUndefined();
    await handle(rt, first.message, 'worker-1');
    await first.done();
    const again = await receivePull(pulls, 10_000);
    expect(again?.message).toMatchObject({ source: 'Default', full: false, requeues: 1 });
    await again?.done();
  });

  it('gives up after the last allowed try, logging an error, and queues nothing more', async () => {
    const { h, rt, pulls, logs } = await start();
    await new TableLockStore(h.storage).tryAcquire('pull|Default', 'another-instance:run', 60_000);
    const lastTry: PullRequestedMessage = {
      v: 1, type: 'pull', runId: 'run-that-waited', source: 'Default', full: true, reason: 'syncNow',
      requestedAt: new Date().toISOString(), requeues: MAX_LOCKED_PULL_REQUEUES,
    };
    const logger = createLogger({ level: 'debug', sink: { write: (line) => logs.push(line) } });
    await runPullMessage(rt, lastTry, { logger, holder: 'worker-1' });
    expect(await messagesOnQueue(pulls)).toBe(0);
    const dropped = logs.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.event === 'pull.requestDropped');
    expect(dropped).toMatchObject({ sources: ['Default'], full: true, requeues: MAX_LOCKED_PULL_REQUEUES });
  });
});
