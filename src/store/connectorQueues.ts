/**
 * The connector's Storage queues. Messages are JSON, base64-encoded (the Functions queue trigger
 * is configured with messageEncoding "base64" in host.json), and never expire: the default time
 * to live is 7 days, and a destination that is down for longer must not lose its pending work.
 */
import type { QueueClient } from '@azure/storage-queue';
import type { ConnectorMessage } from '../sync/messages';
import { QUEUES } from '../sync/messages';
import type { UploadQueue, UploadKind } from '../sync/ports';
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

export class ConnectorQueues implements UploadQueue {
  readonly pullRequests: QueueClient;
  readonly uploads: QueueClient;

  private readonly onRequest: () => void;

  constructor(target: StorageTarget, options: { onRequest?: () => void } = {}) {
    this.pullRequests = createQueueClient(target, QUEUES.pullRequests);
    this.uploads = createQueueClient(target, QUEUES.uploads);
    this.onRequest = options.onRequest ?? (() => undefined);
  }

  /** Creates the queues (the host creates the poison queues when it first needs them). */
  async initialize(): Promise<void> {
    for (const queue of [this.pullRequests, this.uploads]) {
      try {
        this.onRequest();
        await queue.createIfNotExists();
      } catch (error) {
        if (statusOf(error) !== 409) throw toStorageError(error, `create queue ${queue.name}`);
      }
    }
  }

  async send(queue: QueueClient, message: ConnectorMessage): Promise<void> {
    try {
      this.onRequest();
      await queue.sendMessage(encodeMessage(message), { messageTimeToLive: NEVER_EXPIRES });
    } catch (error) {
      throw toStorageError(error, `enqueue on ${queue.name}`);
    }
  }

  async sendUpload(message: { runId: string; source: string; destination: string; kind: UploadKind; ids: string[] }): Promise<void> {
    await this.send(this.uploads, { v: 1, type: 'upload', ...message });
  }
}
