/**
 * Upload work on the Storage queue survives a destination that is down for long, and work that
 * ends in the poison queue is not lost: the next sync sends those objects again from the ledger.
 *
 * - Time to live: messages are peeked on the shared Azurite and must not expire (TTL -1) for the
 *   two fronts that enqueue (the syncTimer function and `sync --queues` as a child process); the
 *   queue default of 7 days would drop the work of a destination down for 10.
 * - Poison: one upload message fails its last attempt (an unexpected error in the worker; a
 *   destination's own refusals no longer throw, they quarantine it) and is moved to
 *   the poison queue by hand (what the host does after maxDequeueCount failures); the worker handles the
 *   rest; the next timer run must queue exactly the poisoned ids again and the destination catch up.
 */
import { QueueClient } from '@azure/storage-queue';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { getProcessLogger } from '../../src/setup/invocationLogger';
import { getWorkerRuntime } from '../../src/setup/workerRuntime';
import { FakeTenant, startFakeGraph } from '../fakes/graph';
import { startFakeSignature365 } from '../fakes/signature365';
import { SECRET_SETTING, TOKEN_SETTING, configForFakes, newSecrets, tempFolder } from '../support/cliConfig';
import { killCliChildren, runCli } from '../support/cliProcess';
import { decodeHostMessage, startConnectorHarness, type ConnectorHarness } from '../support/connectorHarness';
import type { RawMapping } from '../support/expectedDestinations';
import { destinationDifferences } from '../support/faultRuns';
import { isolatedStorage } from '../support/storage';

const TEN_DAYS_IN_MS = 10 * 24 * 3_600_000;

interface UploadMessage {
  destination: string;
  kind: 'users' | 'groups';
  ids: string[];
}

async function peekAll(queue: QueueClient): Promise<{ expiresOn: Date | undefined; message: UploadMessage }[]> {
  // peekMessages returns at most 32; the tests keep each queue below that.
  const peeked = await queue.peekMessages({ numberOfMessages: 32 });
  return peeked.peekedMessageItems.map((item) => ({ expiresOn: item.expiresOn, message: decodeHostMessage(item.messageText) as UploadMessage }));
}

let harness: ConnectorHarness | undefined;
afterEach(async () => {
  killCliChildren();
  await harness?.close();
  harness = undefined;
});

describe('upload messages on the Storage queue', () => {
  it('never expire when the syncTimer function queues them, so a destination down for 10 days loses nothing', async () => {
    const tenant = new FakeTenant({ seed: 79 });
    tenant.generate({ users: 150, groups: 10, nestingDepth: 3, seed: 79 });
    harness = await startConnectorHarness({ tenant, destinations: ['TenantA'] });
    harness.configure([{ From: 'EntraId:Default', To: 'Signature365:TenantA' }]);
    await harness.runTimer();

    const queued = await peekAll(new QueueClient(harness.storage.kind === 'connectionString' ? harness.storage.connectionString : '', `${harness.prefix}-uploads`));
    expect(queued.length).toBeGreaterThan(1);
    const tenDaysFromNow = Date.now() + TEN_DAYS_IN_MS;
    expect(queued.filter(({ expiresOn }) => expiresOn === undefined || expiresOn.getTime() <= tenDaysFromNow)).toEqual([]);
  });

  it('never expire when `sync --queues` (a child process) queues them', async () => {
    const { clientSecret, token } = newSecrets();
    const tenant = new FakeTenant({ seed: 83 });
    tenant.generate({ users: 60, groups: 5, seed: 83 });
    const graph = await startFakeGraph({ tenant, clientSecret });
    const s365 = await startFakeSignature365({ tenants: [{ name: 'Tenant1', token, tenantId: '5a1e5000-0000-4000-8000-0000000000f5' }] });
    const folder = await tempFolder();
    try {
      const storage = isolatedStorage();
      if (storage.kind !== 'connectionString') throw new Error('the test Azurite is reached by connection string');
      const config = await folder.file('config.json', configForFakes(graph, s365.endpoint));
      const run = await runCli(['sync', '--config', config, '--queues'], {
        AzureWebJobsStorage: storage.connectionString, STORAGE_PREFIX: storage.prefix, [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token,
      }, { timeoutInMs: 30_000 });
      expect({ code: run.code, stderrTail: run.code === 0 ? '' : run.stderr.slice(-1500) }).toEqual({ code: 0, stderrTail: '' });

      const queued = await peekAll(new QueueClient(storage.connectionString, `${storage.prefix}-uploads`));
      expect(queued.map(({ message }) => message.kind).sort()).toEqual(['groups', 'users']);
      const tenDaysFromNow = Date.now() + TEN_DAYS_IN_MS;
      expect(queued.filter(({ expiresOn }) => expiresOn === undefined || expiresOn.getTime() <= tenDaysFromNow)).toEqual([]);
      expect(s365.requests.filter((r) => r.method === 'POST')).toEqual([]);
    } finally {
      await Promise.all([graph.close(), s365.close()]);
      await folder.remove();
    }
  });

  it('lose nothing to the poison queue: the next sync queues the poisoned ids again and the destination catches up', async () => {
    const tenant = new FakeTenant({ seed: 89 });
    tenant.generate({ users: 150, groups: 10, nestingDepth: 3, seed: 89 });
    harness = await startConnectorHarness({ tenant, destinations: ['TenantA'] });
    const mappings: RawMapping[] = [{ From: 'EntraId:Default', To: 'Signature365:TenantA' }];
    harness.configure(mappings);
    await harness.runTimer();

    if (harness.storage.kind !== 'connectionString') throw new Error('the test Azurite is reached by connection string');
    const uploads = new QueueClient(harness.storage.connectionString, `${harness.prefix}-uploads`);
    const poison = new QueueClient(harness.storage.connectionString, `${harness.prefix}-uploads-poison`);
    // Take the first users message off the queue unprocessed, as the host does once its dequeue count runs out.
    let poisoned: UploadMessage | undefined;
    for (let attempts = 0; poisoned === undefined && attempts < 10; attempts += 1) {
      const received = await uploads.receiveMessages({ numberOfMessages: 1, visibilityTimeout: 60 });
      const item = received.receivedMessageItems[0];
      if (item === undefined) break;
      const message = decodeHostMessage(item.messageText) as UploadMessage;
      if (message.kind === 'users') {
        // A message reaches the poison queue only after failed attempts: fail this one once, as the host would see it. Every
        // answer of the destination is handled without a throw (refusals quarantine it), so the failure is an unexpected
        // error inside the worker's send (a bug, a crash of the HTTP stack), injected into the worker's own client.
        const client = (await getWorkerRuntime(getProcessLogger())).destination('TenantA');
        if (client === undefined) throw new Error('TenantA is not configured');
        vi.spyOn(client, 'sendUsers').mockRejectedValueOnce(new TypeError('unexpected failure inside the worker'));
        await expect(harness.deliverUpload(message, 5)).rejects.toThrow('unexpected failure inside the worker');
        await poison.createIfNotExists();
        await poison.sendMessage(item.messageText);
        await uploads.deleteMessage(item.messageId, item.popReceipt);
        poisoned = message;
      } else {
        await uploads.updateMessage(item.messageId, item.popReceipt, undefined, 0);
      }
    }
    expect(poisoned?.ids.length).toBeGreaterThan(0);
    const poisonedIds = [...(poisoned?.ids ?? [])].sort();

    const drained = await harness.drainUploads();
    expect(drained).toMatchObject({ failed: 0, poisoned: 0 });
    const missing = destinationDifferences(tenant, harness.s365, harness.sourceId, mappings);
    expect(missing.sort()).toEqual(poisonedIds.map((id) => `TenantA: user ${id} missing`).sort());

    await harness.runTimer();
    const requeued = await peekAll(uploads);
    expect(requeued.flatMap(({ message }) => message.ids).sort()).toEqual(poisonedIds);
    expect(await harness.drainUploads()).toMatchObject({ failed: 0, poisoned: 0 });
    expect(destinationDifferences(tenant, harness.s365, harness.sourceId, mappings)).toEqual([]);
  });
});
