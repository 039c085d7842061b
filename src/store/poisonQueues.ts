/**
 * The poison queues (`<queue>-poison`): where the Functions host (and `serve`'s queue readers) put
 * a message that failed `maxDequeueCount` times. Their depth is the first sign of a loop; an
 * operator re-drives them (back to their queue, once the cause is fixed) or clears them (the
 * ledger re-drives upload work by itself after 30 minutes, so clearing loses no upload).
 *
 * A poison queue may not exist yet (the host creates it with its first message): it then counts 0.
 */
import type { QueueClient } from '@azure/storage-queue';
import { QUEUES } from '../sync/messages';
import type { QueueDepth, QueueDepthReader } from '../sync/ports';
import { statusOf, toStorageError, withStorageErrors } from './errors';
import { createQueueClient, type StorageTarget } from './storageAccount';

/** The queues' base names (without the storage prefix), as commands and status name them. */
export type ConnectorQueueName = (typeof QUEUES)[keyof typeof QUEUES];
export const CONNECTOR_QUEUE_NAMES: readonly ConnectorQueueName[] = [QUEUES.pullRequests, QUEUES.uploads, QUEUES.subscriptionEvents];

/** Messages taken per receive call: the Storage queues API allows at most 32. */
const RECEIVE_BATCH = 32;
/** A message being moved stays hidden this long in the poison queue; a crash mid-move shows it again after. */
const MOVE_VISIBILITY_IN_SECONDS = 60;
/** -1: the message never expires (as every connector message). */
const NEVER_EXPIRES = -1;

export interface RedriveResult {
  queue: ConnectorQueueName;
  moved: number;
}

export class PoisonQueues implements QueueDepthReader {
  constructor(private readonly target: StorageTarget) {}

  /** Approximate message counts (the service's own count) of each queue and its poison queue. */
  async depths(): Promise<QueueDepth[]> {
    const out: QueueDepth[] = [];
    for (const queue of CONNECTOR_QUEUE_NAMES) {
      out.push({ queue, messages: await countOf(this.main(queue)), poisonMessages: await countOf(this.poison(queue)) });
    }
    return out;
  }

  /**
   * Moves the poison messages of `queue` back to it, unchanged (the handlers are idempotent, so a
   * crash between the copy and the delete only sends one twice). Takes at most what was there
   * when it started, so messages that fail again while it runs are not moved in a loop.
   */
  async redrive(queue: ConnectorQueueName): Promise<RedriveResult> {
    const poison = this.poison(queue);
    const main = this.main(queue);
    const budget = await countOf(poison);
    let moved = 0;
    while (moved < budget) {
      const received = await withStorageErrors(`receive from ${poison.name}`, () =>
        poison.receiveMessages({ numberOfMessages: Math.min(RECEIVE_BATCH, budget - moved), visibilityTimeout: MOVE_VISIBILITY_IN_SECONDS }));
      if (received.receivedMessageItems.length === 0) break;
      for (const message of received.receivedMessageItems) {
        await withStorageErrors(`enqueue on ${main.name}`, () => main.sendMessage(message.messageText, { messageTimeToLive: NEVER_EXPIRES }));
        await withStorageErrors(`delete from ${poison.name}`, () => poison.deleteMessage(message.messageId, message.popReceipt));
        moved += 1;
      }
    }
    return { queue, moved };
  }

  /** Deletes every message of the poison queue of `queue`; returns how many there were (approximately). */
  async clear(queue: ConnectorQueueName): Promise<{ queue: ConnectorQueueName; cleared: number }> {
    const poison = this.poison(queue);
    const cleared = await countOf(poison);
    if (cleared > 0) await withStorageErrors(`clear ${poison.name}`, () => poison.clearMessages());
    return { queue, cleared };
  }

  private main(queue: ConnectorQueueName): QueueClient {
    return createQueueClient(this.target, queue);
  }

  private poison(queue: ConnectorQueueName): QueueClient {
    return createQueueClient(this.target, `${queue}-poison`);
  }
}

async function countOf(queue: QueueClient): Promise<number> {
  try {
    return (await queue.getProperties()).approximateMessagesCount ?? 0;
  } catch (error) {
    if (statusOf(error) === 404) return 0;
    throw toStorageError(error, `read the properties of queue ${queue.name}`);
  }
}
