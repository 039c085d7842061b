import { randomUUID } from 'node:crypto';
import type { QueueClient } from '@azure/storage-queue';
import { beforeEach, describe, expect, it } from 'vitest';
import { runNotifiedPull } from '../../../src/realtime/notifiedPull';
import type { NotifiedPullReason, RealtimeQueue } from '../../../src/realtime/ports';
import { beginNotifiedPull, requestNotifiedPull, type PullCoalescerDeps } from '../../../src/realtime/pullCoalescer';
import { ConnectorQueues, decodeMessageText } from '../../../src/store/connectorQueues';
import { TablePullGateStore } from '../../../src/store/pullGateStore';
import { silentLogger } from '../../../src/sync/logger';
import type { SyncRunSummary } from '../../../src/sync/runSync';
import { eventually } from '../../support/realtimeHarness';
import { isolatedStorage } from '../../support/storage';

// The coalescing gate of notified pulls against the real Table and Queue storage (Azurite).

const SOURCE = 'Default';
/** Short spacing of notified pulls, long enough that a burst of 50 fits well inside it on a busy machine. */
const INTERVAL_MS = 2500;

interface PullMessage {
  type: string;
  source: string;
  reason: NotifiedPullReason;
  full: boolean;
  runId: string;
}

let gates: TablePullGateStore;
let queues: ConnectorQueues;
let queue: QueueClient;

beforeEach(async () => {
  const storage = isolatedStorage();
  gates = new TablePullGateStore(storage);
  queues = new ConnectorQueues(storage);
  await Promise.all([gates.initialize(), queues.initialize()]);
  queue = queues.pullRequests;
});

function deps(overrides: Partial<PullCoalescerDeps> = {}): PullCoalescerDeps {
  return { gates, queue: queues, ...overrides };
}

/** Messages in the queue, visible or not. */
async function queuedCount(): Promise<number> {
  return (await queue.getProperties()).approximateMessagesCount ?? 0;
}

async function visibleMessages(): Promise<PullMessage[]> {
  const peeked = await queue.peekMessages({ numberOfMessages: 32 });
  return peeked.peekedMessageItems.map((item) => decodeMessageText(item.messageText) as PullMessage);
}

/** Receives and deletes every visible message, as the pull worker would. */
async function takeVisible(): Promise<PullMessage[]> {
  const received = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 30 });
  for (const item of received.receivedMessageItems) await queue.deleteMessage(item.messageId, item.popReceipt);
  return received.receivedMessageItems.map((item) => decodeMessageText(item.messageText) as PullMessage);
}

function burst(count: number, d: PullCoalescerDeps, reason: NotifiedPullReason = 'changeNotification') {
  return Promise.all(Array.from({ length: count }, () => requestNotifiedPull(SOURCE, reason, d)));
}

function summary(status: 'locked' | 'completed', source = SOURCE): SyncRunSummary {
  return { runId: randomUUID(), pulls: [{ source, status, seconds: 0 }], reconciles: [], plans: [], failures: [], seconds: 0 };
}

describe('requestNotifiedPull', () => {
  it('turns 50 concurrent notifications into one queued pull message', async () => {
    const results = await burst(50, deps());
    expect(results.filter((r) => r === 'queued')).toHaveLength(1);
    expect(results.filter((r) => r === 'coalesced')).toHaveLength(49);
    expect(await queuedCount()).toBe(1);
    const [message, ...rest] = await visibleMessages();
    expect(rest).toEqual([]);
    expect(message).toMatchObject({ type: 'pull', source: SOURCE, reason: 'changeNotification', full: false });
    const gate = await gates.read(SOURCE);
    expect(gate?.state.queuedAt).not.toBeNull();
    expect(gate?.state.startedAt).toBeNull();
  });

  it('keeps coalescing into the waiting message until a pull starts', async () => {
    await burst(10, deps());
    await burst(10, deps());
    expect(await requestNotifiedPull(SOURCE, 'subscriptionCatchUp', deps())).toBe('coalesced');
    expect(await queuedCount()).toBe(1);
  });

  it('queues exactly one more after a pull starts, invisible until the interval has passed', async () => {
    const d = deps({ minIntervalMs: INTERVAL_MS });
    await burst(20, d);
    expect(await takeVisible()).toHaveLength(1);
    const startedAt = Date.now();
    expect(await beginNotifiedPull(SOURCE, 'changeNotification', d)).toBe('start');
    expect((await gates.read(SOURCE))?.state).toMatchObject({ queuedAt: null, notBefore: null });

    const results = await burst(50, d);
    expect(results.filter((r) => r === 'queued')).toHaveLength(1);
    expect(await queuedCount()).toBe(1);
    const gate = await gates.read(SOURCE);
    expect(Date.parse(gate!.state.notBefore!) - Date.parse(gate!.state.startedAt!)).toBe(INTERVAL_MS);
    // Not receivable right away...
    expect(await takeVisible()).toEqual([]);
    expect(await visibleMessages()).toEqual([]);
    // ...but once the interval has passed.
    let taken: PullMessage[] = [];
    await eventually(async () => (taken = await takeVisible()).length > 0, 6000, 'the delayed pull message');
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(INTERVAL_MS);
    expect(taken).toHaveLength(1);
    expect(taken[0]).toMatchObject({ source: SOURCE, reason: 'changeNotification' });
    expect(await queuedCount()).toBe(0);
  });

  it('does not delay the first pull of a source, nor one long after the last start', async () => {
    const d = deps({ minIntervalMs: 1500 });
    await requestNotifiedPull(SOURCE, 'changeNotification', d);
    expect(await takeVisible()).toHaveLength(1);
    const long = deps({ minIntervalMs: 1500, now: () => new Date(Date.now() - 60_000) });
    expect(await beginNotifiedPull(SOURCE, 'changeNotification', long)).toBe('start');
    expect(await requestNotifiedPull(SOURCE, 'changeNotification', d)).toBe('queued');
    expect(await visibleMessages()).toHaveLength(1);
  });

  it('gives a claim back when sending the message failed, so the next notification queues', async () => {
    const failing: RealtimeQueue = {
      sendPull: async () => { throw new Error('queue service unavailable'); },
      sendLifecycleEvent: async () => undefined,
    };
    await expect(requestNotifiedPull(SOURCE, 'changeNotification', deps({ queue: failing }))).rejects.toThrow('queue service unavailable');
    expect((await gates.read(SOURCE))?.state.queuedAt ?? null).toBeNull();
    expect(await queuedCount()).toBe(0);

    expect(await requestNotifiedPull(SOURCE, 'changeNotification', deps())).toBe('queued');
    expect(await queuedCount()).toBe(1);

    // Also when the gate row already existed (a released claim after a start).
    await takeVisible();
    expect(await beginNotifiedPull(SOURCE, 'changeNotification', deps({ minIntervalMs: 0 }))).toBe('start');
    const before = (await gates.read(SOURCE))!.state;
    await expect(requestNotifiedPull(SOURCE, 'changeNotification', deps({ queue: failing, minIntervalMs: 0 }))).rejects.toThrow();
    expect((await gates.read(SOURCE))!.state).toEqual(before);
    expect(await requestNotifiedPull(SOURCE, 'changeNotification', deps({ minIntervalMs: 0 }))).toBe('queued');
    expect(await visibleMessages()).toHaveLength(1);
  });

  it('queues again when a claim is stale (its message should have been visible long ago)', async () => {
    expect(await requestNotifiedPull(SOURCE, 'changeNotification', deps())).toBe('queued');
    const inOneMinute = deps({ now: () => new Date(Date.now() + 60_000) });
    expect(await requestNotifiedPull(SOURCE, 'changeNotification', inOneMinute)).toBe('coalesced');
    const muchLater = deps({ now: () => new Date(Date.now() + 60 * 60_000) });
    expect(await requestNotifiedPull(SOURCE, 'changeNotification', muchLater)).toBe('queued');
    expect(await queuedCount()).toBe(2);
    // And the new claim is live again.
    expect(await requestNotifiedPull(SOURCE, 'changeNotification', muchLater)).toBe('coalesced');
    expect(await queuedCount()).toBe(2);
  });

  it('keeps sources apart', async () => {
    await Promise.all([burst(10, deps()), Promise.all(Array.from({ length: 10 }, () => requestNotifiedPull('Other', 'changeNotification', deps())))]);
    const messages = await visibleMessages();
    expect(messages.map((m) => m.source).sort()).toEqual(['Default', 'Other']);
  });
});

describe('beginNotifiedPull', () => {
  it('starts a pull and lets the next notification queue a new message', async () => {
    await requestNotifiedPull(SOURCE, 'changeNotification', deps());
    await takeVisible();
    expect(await beginNotifiedPull(SOURCE, 'changeNotification', deps())).toBe('start');
    const gate = (await gates.read(SOURCE))!.state;
    expect(gate.queuedAt).toBeNull();
    expect(gate.startedAt).not.toBeNull();
  });

  it('defers within the interval and makes sure exactly one pull message follows', async () => {
    const d = deps({ minIntervalMs: 1500 });
    expect(await beginNotifiedPull(SOURCE, 'changeNotification', d)).toBe('start');
    expect(await queuedCount()).toBe(0);
    expect(await beginNotifiedPull(SOURCE, 'changeNotification', d)).toBe('deferred');
    expect(await queuedCount()).toBe(1);
    // A second early message joins the one already waiting.
    expect(await beginNotifiedPull(SOURCE, 'subscriptionCatchUp', d)).toBe('deferred');
    expect(await queuedCount()).toBe(1);
    expect(await visibleMessages()).toEqual([]);
    let taken: PullMessage[] = [];
    await eventually(async () => (taken = await takeVisible()).length > 0, 6000, 'the deferred pull message');
    expect(taken).toHaveLength(1);
    // The message arrives when the interval is over: now it starts.
    expect(await beginNotifiedPull(SOURCE, taken[0]!.reason, d)).toBe('start');
  });
});

describe('runNotifiedPull', () => {
  it('runs the sync and queues the pull once more when another run held the source', async () => {
    let runs = 0;
    const result = await runNotifiedPull(SOURCE, 'changeNotification', {
      ...deps({ minIntervalMs: 0 }), logger: silentLogger,
      runSync: async () => { runs += 1; return summary('locked'); },
    });
    expect(runs).toBe(1);
    expect(result).not.toBe('deferred');
    const messages = await visibleMessages();
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ source: SOURCE, reason: 'changeNotification' });
  });

  it('spaces the requeued pull by the interval', async () => {
    await runNotifiedPull(SOURCE, 'subscriptionCatchUp', {
      ...deps({ minIntervalMs: 1500 }), logger: silentLogger, runSync: async () => summary('locked'),
    });
    expect(await queuedCount()).toBe(1);
    expect(await visibleMessages()).toEqual([]);
  });

  it('queues nothing after a completed pull, nor for a lock held on another source', async () => {
    await runNotifiedPull(SOURCE, 'changeNotification', { ...deps({ minIntervalMs: 0 }), logger: silentLogger, runSync: async () => summary('completed') });
    await runNotifiedPull('Second', 'changeNotification', { ...deps({ minIntervalMs: 0 }), logger: silentLogger, runSync: async () => summary('locked', 'Other') });
    expect(await queuedCount()).toBe(0);
  });

  it('does not run the sync when deferred', async () => {
    const d = deps({ minIntervalMs: 5000 });
    expect(await beginNotifiedPull(SOURCE, 'changeNotification', d)).toBe('start');
    let runs = 0;
    const result = await runNotifiedPull(SOURCE, 'changeNotification', { ...d, logger: silentLogger, runSync: async () => { runs += 1; return summary('completed'); } });
    expect(result).toBe('deferred');
    expect(runs).toBe(0);
    expect(await queuedCount()).toBe(1);
  });
});
