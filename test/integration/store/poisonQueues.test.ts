/**
 * The poison queues on Azurite: their depth in `status` and `/api/status` (the same document), and
 * the `queues` command that re-drives them to their queue or clears them.
 */
import { QueueClient } from '@azure/storage-queue';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/config/resolve';
import { createRuntime, type ConnectorRuntime } from '../../../src/setup/runtime';
import { encodeMessage } from '../../../src/store/connectorQueues';
import { PoisonQueues } from '../../../src/store/poisonQueues';
import { createQueueClient, type StorageTarget } from '../../../src/store/storageAccount';
import { silentLogger } from '../../../src/sync/logger';
import { formatConnectorStatus, readConnectorStatus } from '../../../src/sync/status';
import { config } from '../../unit/config/builders';
import { runCliInProcess, type InProcessCliResult } from '../../support/inProcessCli';
import { isolatedStorage } from '../../support/storage';

const upload = (n: number) => encodeMessage({
  v: 1, type: 'upload', runId: `run-${n}`, source: 'Default', destination: 'Tenant1', kind: 'users', ids: [`0000000${n}-0000-4000-8000-000000000000`],
});

async function texts(queue: QueueClient): Promise<string[]> {
  const peeked = await queue.peekMessages({ numberOfMessages: 32 });
  return peeked.peekedMessageItems.map((m) => m.messageText).sort();
}

async function poison(target: StorageTarget, messages: readonly string[]): Promise<QueueClient> {
  const queue = createQueueClient(target, 'uploads-poison');
  await queue.createIfNotExists();
  for (const text of messages) await queue.sendMessage(text);
  return queue;
}

let runtime: ConnectorRuntime | undefined;
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});

function cli(target: StorageTarget, ...args: string[]): Promise<InProcessCliResult> {
  if (target.kind !== 'connectionString') throw new Error('the test Azurite is reached by connection string');
  return runCliInProcess(args, { AzureWebJobsStorage: target.connectionString, STORAGE_PREFIX: target.prefix, CONNECTOR_CONFIG: JSON.stringify(config()) });
}

describe('poison queues', () => {
  it('count 0 for a poison queue the host has not created yet', async () => {
    const depths = await new PoisonQueues(isolatedStorage()).depths();
    expect(depths).toEqual([
      { queue: 'pull-requests', messages: 0, poisonMessages: 0 },
      { queue: 'uploads', messages: 0, poisonMessages: 0 },
      { queue: 'subscription-events', messages: 0, poisonMessages: 0 },
    ]);
  });

  it('shows the depth of each poison queue in status (JSON and text)', async () => {
    const target = isolatedStorage();
    runtime = await createRuntime({ config: resolveConfig(config(), {}), logger: silentLogger, storage: target });
    await poison(target, [upload(1), upload(2), upload(3)]);

    const status = await readConnectorStatus(runtime);

    expect(status.queues).toContainEqual({ queue: 'uploads', messages: 0, poisonMessages: 3 });
    expect(formatConnectorStatus(status)).toContain('Queue uploads: 0 waiting, 3 POISONED');
  });

  it('re-drives poison messages back to their queue, unchanged, and leaves the poison queue empty', async () => {
    const target = isolatedStorage();
    const sent = [upload(1), upload(2), upload(3), upload(4), upload(5)];
    const poisoned = await poison(target, sent);
    const main = createQueueClient(target, 'uploads');
    await main.createIfNotExists();

    const { code, out } = await cli(target, 'queues', 'redrive', '--queue', 'uploads');

    expect(code).toBe(0);
    expect(out).toContain('uploads: 5 poison message(s) moved back');
    expect(await texts(main)).toEqual([...sent].sort());
    expect(await texts(poisoned)).toEqual([]);
    expect(await new PoisonQueues(target).depths()).toContainEqual({ queue: 'uploads', messages: 5, poisonMessages: 0 });
  });

  it('clears a poison queue, and lists what waits', async () => {
    const target = isolatedStorage();
    const poisoned = await poison(target, [upload(1), upload(2)]);

    expect((await cli(target, 'queues', 'list')).out).toContain('uploads: 0 waiting, 2 poisoned');
    const { code, out } = await cli(target, 'queues', 'clear', '--queue', 'uploads');

    expect(code).toBe(0);
    expect(out).toBe('uploads: 2 poison message(s) deleted\n');
    expect(await texts(poisoned)).toEqual([]);
  });
});
