/**
 * Reads one Storage queue the way the Functions queue trigger does, for `serve`: a few messages at
 * a time, each hidden while it is handled (its visibility renewed while the handler runs, so a long
 * pull is not handed out twice), deleted on success, left to reappear after a failure, and moved to
 * `<queue>-poison` after `maxDequeueCount` tries. Idle, it polls at a growing interval; a message
 * this process sends wakes it at once (or when the message becomes visible).
 */
import type { QueueClient } from '@azure/storage-queue';
import type { Logger } from '../sync/logger';
import { errorFields } from '../sync/logger';
import { decodeMessageText } from '../store/connectorQueues';

export interface QueueReaderOptions {
  queue: QueueClient;
  poisonQueue: QueueClient;
  /** Throws to have the message tried again. */
  handle(message: unknown, dequeueCount: number): Promise<void>;
  /** Messages handled at once (host.json batchSize). */
  concurrency: number;
  visibilityTimeoutSeconds?: number;
  maxDequeueCount?: number;
  /** Idle polling starts at `min` and doubles up to `max`. */
  idlePollMs?: { min: number; max: number };
  logger: Logger;
}

const DEFAULT_VISIBILITY_SECONDS = 30;
const DEFAULT_MAX_DEQUEUE = 5;

export class QueueReader {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private wakeUp: (() => void) | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private poisonReady = false;

  constructor(private readonly options: QueueReaderOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** A message was sent: look now, or when it becomes visible. */
  wake(delaySeconds = 0): void {
    if (delaySeconds <= 0) {
      this.wakeUp?.();
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.wakeUp?.();
    }, delaySeconds * 1000 + 50);
    this.timers.add(timer);
  }

  /** Stops taking messages and waits for the ones being handled. */
  async stop(): Promise<void> {
    this.running = false;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.wakeUp?.();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  private async run(): Promise<void> {
    const idle = this.options.idlePollMs ?? { min: 100, max: 2000 };
    let wait = idle.min;
    while (this.running) {
      const free = this.options.concurrency - this.inFlight.size;
      let received = 0;
      if (free > 0) {
        try {
          received = await this.receive(free);
        } catch (error) {
          this.options.logger.warn('queue.receiveFailed', { queue: this.options.queue.name, ...errorFields(error) });
        }
      }
      if (received > 0) {
        wait = idle.min;
        continue;
      }
      await this.sleep(free > 0 ? wait : idle.max);
      wait = Math.min(idle.max, wait * 2);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private async receive(count: number): Promise<number> {
    const visibilityTimeout = this.options.visibilityTimeoutSeconds ?? DEFAULT_VISIBILITY_SECONDS;
    const response = await this.options.queue.receiveMessages({ numberOfMessages: Math.min(32, count), visibilityTimeout });
    for (const item of response.receivedMessageItems) {
      const work = this.process(item.messageId, item.popReceipt, item.messageText, item.dequeueCount, visibilityTimeout)
        .finally(() => {
          this.inFlight.delete(work);
          // A slot is free again: look for the next message without waiting out the idle interval.
          this.wakeUp?.();
        });
      this.inFlight.add(work);
    }
    return response.receivedMessageItems.length;
  }

  private async process(messageId: string, popReceipt: string, text: string, dequeueCount: number, visibilityTimeout: number): Promise<void> {
    const { queue, logger } = this.options;
    let receipt = popReceipt;
    if (dequeueCount > (this.options.maxDequeueCount ?? DEFAULT_MAX_DEQUEUE)) {
      await this.toPoison(messageId, receipt, text, 'tried too often');
      return;
    }
    let body: unknown;
    try {
      body = decodeMessageText(text);
    } catch {
      await this.toPoison(messageId, receipt, text, 'not a connector message');
      return;
    }
    // Keep the message hidden while the handler runs, as the Functions host does.
    let renewing: Promise<void> | undefined;
    const renewal = setInterval(() => {
      renewing = queue.updateMessage(messageId, receipt, undefined, visibilityTimeout)
        .then((updated) => { if (updated.popReceipt !== undefined) receipt = updated.popReceipt; })
        .catch((error: unknown) => logger.warn('queue.renewFailed', { queue: queue.name, ...errorFields(error) }));
    }, (visibilityTimeout * 1000) / 2);
    try {
      await this.options.handle(body, dequeueCount);
    } catch (error) {
      logger.warn('queue.handlerFailed', { queue: queue.name, dequeueCount, ...errorFields(error) });
      return;
    } finally {
      clearInterval(renewal);
      // The delete needs the receipt of the last renewal.
      await renewing;
    }
    await queue.deleteMessage(messageId, receipt).catch((error: unknown) => logger.warn('queue.deleteFailed', { queue: queue.name, ...errorFields(error) }));
  }

  private async toPoison(messageId: string, popReceipt: string, text: string, why: string): Promise<void> {
    const { queue, poisonQueue, logger } = this.options;
    try {
      if (!this.poisonReady) {
        await poisonQueue.createIfNotExists();
        this.poisonReady = true;
      }
      await poisonQueue.sendMessage(text, { messageTimeToLive: -1 });
      await queue.deleteMessage(messageId, popReceipt);
      logger.error('queue.poisoned', { queue: queue.name, why });
    } catch (error) {
      logger.warn('queue.poisonFailed', { queue: queue.name, ...errorFields(error) });
    }
  }
}
