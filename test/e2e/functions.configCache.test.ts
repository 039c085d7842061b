/**
 * The Functions handlers read config.json from Blob storage through the worker's config cache:
 * N upload-message invocations within 30 s read the blob once, and a change to the blob is picked
 * up at the first check after the 30 s. The handlers run in-process as the host would call them,
 * on Azurite; a proxy in front of the blob endpoint counts the reads; the cache's clock is the test's.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { InvocationContext } from '@azure/functions';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { uploadWorker } from '../../functions/uploadWorker';
import { DEFAULT_CONFIG_CACHE_TTL_IN_MS } from '../../src/config/configCache';
import { getProcessLogger } from '../../src/setup/invocationLogger';
import { getWorkerRuntime, resetWorkerRuntime } from '../../src/setup/workerRuntime';
import { startCountingBlobProxy, type CountingBlobProxy } from '../support/countingBlobProxy';
import { config } from '../unit/config/builders';

const INVOCATIONS = 25;
const connectionString = inject('storageConnectionString');
const prefix = `c${randomBytes(5).toString('hex')}`;
const container = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(`${prefix}-config`);
const saved = { ...process.env };
let proxy: CountingBlobProxy;
let clock = 5_000_000;

async function upload(content: unknown): Promise<void> {
  const text = JSON.stringify(content);
  await container.getBlockBlobClient('config.json').upload(text, Buffer.byteLength(text));
}

function configReads(): string[] {
  return proxy.requests.filter((request) => request.path.endsWith('/config.json')).map((request) => `${request.method} ${request.status}`);
}

/** One uploads-queue message as the host hands it over: ids the ledger does not know, so nothing is sent. */
async function deliverUpload(): Promise<void> {
  const message = { v: 1, type: 'upload', runId: randomUUID(), source: 'Default', destination: 'Tenant1', kind: 'users', ids: [randomUUID()] };
  await uploadWorker(message, new InvocationContext({ invocationId: randomUUID(), functionName: 'uploadWorker', logHandler: () => undefined }));
}

beforeAll(async () => {
  await container.create();
  await upload(config({ Options: { DeleteAfterDays: 7 } }));
  proxy = await startCountingBlobProxy(connectionString);
  const blobEndpoint = /BlobEndpoint=([^;]+)/.exec(proxy.connectionString)?.[1] ?? '';
  process.env.AzureWebJobsStorage = proxy.connectionString;
  process.env.STORAGE_PREFIX = prefix;
  process.env.CONFIG_BLOB_URI = `${blobEndpoint}/${container.containerName}/config.json`;
  delete process.env.CONFIG_PATH;
  delete process.env.CONNECTOR_CONFIG;
  await resetWorkerRuntime({ now: () => clock });
});
afterAll(async () => {
  await resetWorkerRuntime();
  process.env = saved;
  await proxy.close();
  await container.deleteIfExists();
});

describe('Functions handlers and config.json in Blob storage', () => {
  it(`reads the blob once for ${INVOCATIONS} upload messages within 30 s, and checks it once after`, async () => {
    for (let i = 0; i < INVOCATIONS; i++) {
      await deliverUpload();
      clock += 1_000; // 25 messages over 25 s
    }
    expect(configReads()).toEqual(['GET 200']);
    clock += DEFAULT_CONFIG_CACHE_TTL_IN_MS;
    await deliverUpload();
    await deliverUpload();
    expect(configReads()).toEqual(['GET 200', 'GET 304']);
  });

  it('picks up a changed config.json at the first check after 30 s', async () => {
    const before = await getWorkerRuntime(getProcessLogger());
    expect(before.config.options.deleteAfterDays).toBe(7);
    await upload(config({ Options: { DeleteAfterDays: 2 } }));
    await deliverUpload();
    expect((await getWorkerRuntime(getProcessLogger())).config.options.deleteAfterDays).toBe(7);
    clock += DEFAULT_CONFIG_CACHE_TTL_IN_MS;
    await deliverUpload();
    const after = await getWorkerRuntime(getProcessLogger());
    expect(after.config.options.deleteAfterDays).toBe(2);
    expect(after).not.toBe(before);
    expect(configReads()).toEqual(['GET 200', 'GET 304', 'GET 200']);
  });
});
