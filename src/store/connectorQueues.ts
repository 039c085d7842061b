/**
 * The connector's Storage queues. Messages are JSON, base64-encoded (the Functions queue trigger
 * is configured with messageEncoding "base64" in host.json), and never expire: the default time
 * to live is 7 days, and a destination that is down for longer must not lose its pending work.
 */
import type { QueueClient } from '@azure/storage-queue';
import type { ConnectorMessage } from '../sync/messages';
import { QUEUES } from '../sync/messages';
import type { UploadQueue, UploadKind } from '../sync/ports';
import type { LifecycleEvent, NotifiedPullReason, RealtimeQueue, SubscribedKind } from '../realtime/ports';
import { statusOf, toStorageError } from './errors';
import { createQueueClient, type StorageTarget } from './storageAccount';

/** -1: the message never expires (Storage queues API, version 2017-07-29 and later). */
const NEVER_EXPIRES = -1;

export function encodeMessage(message: ConnectorMessage): string {
  return Buffer.from(JSON.stringify(message), 'utf8').toString('base64');
}

export function decodeMessageText(text: string): unknown {
  return JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as unknown;
}

export class ConnectorQueues implements UploadQueue, RealtimeQueue {
  readonly pullRequests: QueueClient;
  readonly uploads: QueueClient;
  readonly subscriptionEvents: QueueClient;

  private readonly onRequest: () => void;
  private readonly sentListeners: ((queueName: string, delayInSeconds: number) => void)[] = [];

  constructor(target: StorageTarget, options: { onRequest?: () => void } = {}) {
    this.pullRequests = createQueueClient(target, QUEUES.pullRequests);
    this.uploads = createQueueClient(target, QUEUES.uploads);
    this.subscriptionEvents = createQueueClient(target, QUEUES.subscriptionEvents);
    this.onRequest = options.onRequest ?? (() => undefined);
  }

  /** `serve` wakes its queue readers here (when the message becomes visible) instead of waiting for their next poll. */
  onSent(listener: (queueName: string, delayInSeconds: number) => void): void {
    this.sentListeners.push(listener);
  }

  /** Creates the queues (the host creates the poison queues when it first needs them). */
  async initialize(): Promise<void> {
    for (const queue of [this.pullRequests, this.uploads, this.subscriptionEvents]) {
      try {
        this.onRequest();
        await queue.createIfNotExists();
      } catch (error) {
        if (statusOf(error) !== 409) throw toStorageError(error, `create queue ${queue.name}`);
      }
    }
  }

  /** `delayInSeconds`: the message stays invisible that long (a later pull, spaced from the previous one). */
  async send(queue: QueueClient, message: ConnectorMessage, delayInSeconds = 0): Promise<void> {
    try {
      this.onRequest();
      await queue.sendMessage(encodeMessage(message), {
        messageTimeToLive: NEVER_EXPIRES,
        ...(delayInSeconds > 0 ? { visibilityTimeout: Math.ceil(delayInSeconds) } : {}),
      });
    } catch (error) {
      throw toStorageError(error, `enqueue on ${queue.name}`);
    }
    for (const listener of this.sentListeners) listener(queue.name, delayInSeconds);
  }

  async sendPull(message: { source: string; reason: NotifiedPullReason; runId: string }, delayInSeconds: number): Promise<void> {
    await this.send(this.pullRequests, {
      v: 1, type: 'pull', runId: message.runId, source: message.source, full: false, reason: message.reason, requestedAt: new Date().toISOString(),
    }, delayInSeconds);
  }

  async sendLifecycleEvent(message: { source: string; kind: SubscribedKind; subscriptionId: string; event: LifecycleEvent }): Promise<void> {
    await this.send(this.subscriptionEvents, { v: 1, type: 'subscriptionEvent', ...message, receivedAt: new Date().toISOString() });
  }

  async sendUpload(message: { runId: string; source: string; destination: string; kind: UploadKind; ids: string[] }): Promise<void> {
    await this.send(this.uploads, { v: 1, type: 'upload', ...message });
  }
}
