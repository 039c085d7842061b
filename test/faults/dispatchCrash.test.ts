/**
 * A `sync --queues` killed (SIGKILL, failpoint afterQueueMarkBeforeSend) after it marked ledger
 * entries queued and before it sent any of their upload messages: the next run, seconds later,
 * queues that work again instead of leaving it to the 30-minute re-queue check.
 */
import { QueueClient } from '@azure/storage-queue';
import { afterEach, describe, expect, it } from 'vitest';
import { TableLedgerStore } from '../../src/store/ledgerStore';
import { FakeTenant, startFakeGraph } from '../fakes/graph';
import { startFakeSignature365 } from '../fakes/signature365';
import { SECRET_SETTING, TOKEN_SETTING, configForFakes, newSecrets, tempFolder } from '../support/cliConfig';
import { killCliChildren, runCli } from '../support/cliProcess';
import { decodeHostMessage } from '../support/connectorHarness';
import { expireLocks } from '../support/faultRuns';
import { ledgerEntries } from '../support/ledgerView';
import { isolatedStorage } from '../support/storage';

interface UploadMessage {
  destination: string;
  kind: 'users' | 'groups';
  ids: string[];
}

/** Takes every message off the queue (the test keeps it small), decoded. */
async function takeAll(queue: QueueClient): Promise<UploadMessage[]> {
  const out: UploadMessage[] = [];
  for (let round = 0; round < 20; round += 1) {
    const received = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 300 });
    if (received.receivedMessageItems.length === 0) return out;
    for (const item of received.receivedMessageItems) out.push(decodeHostMessage(item.messageText) as UploadMessage);
  }
  throw new Error('the uploads queue did not empty');
}

afterEach(() => {
  killCliChildren();
});

describe('a queue dispatch killed between marking and sending', () => {
  it('leaves no marked work waiting: the next run queues it again at once', async () => {
    const { clientSecret, token } = newSecrets();
    const tenant = new FakeTenant({ seed: 97 });
    tenant.generate({ users: 45, groups: 4, seed: 97 });
    const graph = await startFakeGraph({ tenant, clientSecret });
    const s365 = await startFakeSignature365({ tenants: [{ name: 'Tenant1', token, tenantId: '5a1e5000-0000-4000-8000-0000000000c3' }] });
    const folder = await tempFolder();
    try {
      const storage = isolatedStorage();
      if (storage.kind !== 'connectionString') throw new Error('the test Azurite is reached by connection string');
      const config = await folder.file('config.json', configForFakes(graph, s365.endpoint));
      const env = { AzureWebJobsStorage: storage.connectionString, STORAGE_PREFIX: storage.prefix, [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token };

      const killed = await runCli(['sync', '--config', config, '--queues'], { ...env, S365_FAILPOINTS: 'afterQueueMarkBeforeSend' }, { timeoutInMs: 60_000 });
      expect({ signal: killed.signal, timedOut: killed.timedOut }).toEqual({ signal: 'SIGKILL', timedOut: false });
      expect(killed.stderr).toContain('failpoint afterQueueMarkBeforeSend@1: SIGKILL');
      const uploads = new QueueClient(storage.connectionString, `${storage.prefix}-uploads`);
      expect(await takeAll(uploads)).toEqual([]);

      // What the killed run marked queued, with no message to carry it.
      const ledger = new TableLedgerStore(storage);
      const marked = new Map<string, string[]>();
      for (const kind of ['users', 'groups'] as const) {
        const ids = [...(await ledgerEntries(ledger, 'Tenant1', 'Default', kind)).entries()].filter(([, entry]) => entry.q !== undefined).map(([id]) => id);
        if (ids.length > 0) marked.set(kind, ids.sort());
      }
      expect([...marked.values()].flat().length).toBeGreaterThan(0);

      await expireLocks(storage);
      const rerun = await runCli(['sync', '--config', config, '--queues'], env, { timeoutInMs: 60_000 });
      expect({ code: rerun.code, stderrTail: rerun.code === 0 ? '' : rerun.stderr.slice(-1500) }).toEqual({ code: 0, stderrTail: '' });

      const queued = await takeAll(uploads);
      for (const [kind, ids] of marked) {
        const queuedIds = queued.filter((message) => message.kind === kind).flatMap((message) => message.ids).sort();
        expect({ kind, missing: ids.filter((id) => !queuedIds.includes(id)) }).toEqual({ kind, missing: [] });
      }
      // And the rerun left no dispatch marker and no entry still marked by the killed run.
      for (const kind of ['users', 'groups'] as const) {
        const stale = [...(await ledgerEntries(ledger, 'Tenant1', 'Default', kind)).values()].filter((entry) => entry.q !== undefined && Date.now() - Date.parse(entry.q) > 10 * 60_000);
        expect(stale).toEqual([]);
      }
    } finally {
      await Promise.all([graph.close(), s365.close(), folder.remove()]);
    }
  }, 150_000);
});
