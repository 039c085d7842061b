/**
 * The configuration kept between invocations (src/config/configCache.ts), on Azurite: the blob is
 * read once per period however many loads come, checked with If-None-Match after the period (a 304
 * reads nothing more), and a changed blob is seen at the first check after the change. Requests are
 * counted by a proxy in front of Azurite's blob endpoint; the clock is the test's.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigCache, DEFAULT_CONFIG_CACHE_TTL_IN_MS } from '../../src/config/configCache';
import { ConfigError } from '../../src/config/errors';
import type { BlobAccess } from '../../src/config/load';
import { startCountingBlobProxy, type CountingBlobProxy } from '../support/countingBlobProxy';
import { isolatedStorage } from '../support/storage';
import { config } from '../unit/config/builders';

const storage = isolatedStorage();
if (storage.kind !== 'connectionString') throw new Error('the test storage is reached by connection string');
const container = BlobServiceClient.fromConnectionString(storage.connectionString).getContainerClient(`${storage.prefix}-config`);
let proxy: CountingBlobProxy;
let access: BlobAccess;
let clock: number;
let blobName: string;
let uri: string;
let fileIndex = 0;

async function upload(content: unknown): Promise<void> {
  const text = typeof content === 'string' ? content : JSON.stringify(content);
  await container.getBlockBlobClient(blobName).upload(text, Buffer.byteLength(text));
}

/** Requests for this test's blob that went through the proxy, as "METHOD status". */
function blobRequests(): string[] {
  return proxy.requests.filter((request) => request.path.endsWith(`/${blobName}`)).map((request) => `${request.method} ${request.status}`);
}

beforeAll(async () => {
  await container.create();
  proxy = await startCountingBlobProxy(storage.connectionString);
  access = { kind: 'connectionString', connectionString: proxy.connectionString };
});
afterAll(async () => {
  await proxy.close();
  await container.deleteIfExists();
});
beforeEach(async () => {
  clock = 1_000_000;
  fileIndex += 1;
  blobName = `config-${fileIndex}.json`;
  await upload(config({ Options: { DeleteAfterDays: 7 } }));
  const blobEndpoint = /BlobEndpoint=([^;]+)/.exec(proxy.connectionString)?.[1] ?? '';
  uri = `${blobEndpoint}/${container.containerName}/${blobName}`;
});

function newCache(): ConfigCache {
  return new ConfigCache({ now: () => clock });
}

describe('ConfigCache on Azurite', () => {
  it('reads the blob once for many loads within 30 s, then checks it with If-None-Match (304: nothing more read)', async () => {
    const cache = newCache();
    const env = { CONFIG_BLOB_URI: uri };
    const first = await cache.load(env, { blobAccess: access });
    for (let i = 0; i < 50; i++) {
      clock += 500; // 50 loads over 25 s
      expect(await cache.load(env, { blobAccess: access })).toBe(first);
    }
    expect(blobRequests()).toEqual(['GET 200']);
    clock = 1_000_000 + DEFAULT_CONFIG_CACHE_TTL_IN_MS;
    expect(await cache.load(env, { blobAccess: access })).toBe(first);
    expect(blobRequests()).toEqual(['GET 200', 'GET 304']);
    // The 304 starts a new period.
    clock += DEFAULT_CONFIG_CACHE_TTL_IN_MS - 1;
    await cache.load(env, { blobAccess: access });
    expect(blobRequests()).toEqual(['GET 200', 'GET 304']);
  });

  it('sees a changed blob at the first check after the period, not before', async () => {
    const cache = newCache();
    const env = { CONFIG_BLOB_URI: uri };
    expect((await cache.load(env, { blobAccess: access })).config.options.deleteAfterDays).toBe(7);
    await upload(config({ Options: { DeleteAfterDays: 3 } }));
    clock += DEFAULT_CONFIG_CACHE_TTL_IN_MS - 1;
    expect((await cache.load(env, { blobAccess: access })).config.options.deleteAfterDays).toBe(7);
    clock += 1;
    expect((await cache.load(env, { blobAccess: access })).config.options.deleteAfterDays).toBe(3);
    expect(blobRequests()).toEqual(['GET 200', 'GET 200']);
  });

  it('shares one read among concurrent loads', async () => {
    const cache = newCache();
    const env = { CONFIG_BLOB_URI: uri };
    const loaded = await Promise.all(Array.from({ length: 20 }, () => cache.load(env, { blobAccess: access })));
    expect(new Set(loaded).size).toBe(1);
    expect(blobRequests()).toEqual(['GET 200']);
  });

  it('keeps no broken configuration: the error goes to every caller until the blob is fixed', async () => {
    const cache = newCache();
    const env = { CONFIG_BLOB_URI: uri };
    await cache.load(env, { blobAccess: access });
    await upload('{"EntraId": {}, "EntraId": {}}');
    clock += DEFAULT_CONFIG_CACHE_TTL_IN_MS;
    await expect(cache.load(env, { blobAccess: access })).rejects.toBeInstanceOf(ConfigError);
    await expect(cache.load(env, { blobAccess: access })).rejects.toThrow(/EntraId: is written twice/);
    await upload(config({ Options: { DeleteAfterDays: 1 } }));
    expect((await cache.load(env, { blobAccess: access })).config.options.deleteAfterDays).toBe(1);
  });

  it('reads again at once when the setting names another configuration', async () => {
    const cache = newCache();
    await cache.load({ CONFIG_BLOB_URI: uri }, { blobAccess: access });
    const inline = await cache.load({ CONNECTOR_CONFIG: JSON.stringify(config({ Options: { DeleteAfterDays: 2 } })) });
    expect(inline.config.options.deleteAfterDays).toBe(2);
    expect(blobRequests()).toEqual(['GET 200']);
  });
});
