/**
 * A crash right after the reconcile against the destination corrected the ledger (failpoint
 * afterReconcileLedgerWrite: SIGKILL, nothing planned yet). The orphan it found is now in the
 * ledger as held, an entry that no change-driven plan reaches; the whole-source plan it needs was
 * recorded in the journal before the ledger write, so the next ordinary run (no flag, no full
 * round) still plans the whole source and puts the orphan through the deletion gate.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TableLedgerStore } from '../../src/store/ledgerStore';
import { FakeTenant, startFakeGraph, type FakeGraph } from '../fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../fakes/signature365';
import { killCliChildren, runCli } from '../support/cliProcess';
import { SECRET_SETTING, TOKEN_SETTING, configForFakes, newSecrets, tempFolder, type TempFolder } from '../support/cliConfig';
import { ledgerEntry } from '../support/ledgerView';
import { isolatedStorage } from '../support/storage';

const ORPHAN_ID = 'fe000000-0000-4000-8000-0000000000c7';
const { clientSecret, token } = newSecrets();
const storage = isolatedStorage();

let graph: FakeGraph;
let s365: FakeSignature365;
let folder: TempFolder;

beforeAll(async () => {
  const tenant = new FakeTenant({ seed: 77 });
  tenant.generate({ users: 30, groups: 4, seed: 77, guestShare: 0, disabledShare: 0 });
  graph = await startFakeGraph({ tenant, clientSecret });
  s365 = await startFakeSignature365({ tenants: [{ name: 'Tenant1', token, tenantId: '5a1e5000-0000-4000-8000-0000000000c7' }] });
  folder = await tempFolder();
});
afterEach(() => {
  killCliChildren();
});
afterAll(async () => {
  killCliChildren();
  await Promise.all([graph?.close(), s365?.close()]);
  await folder?.remove();
});

describe('a crash after the reconcile wrote the ledger', () => {
  it('still deletes the orphan through the gate on the next ordinary run', async () => {
    if (storage.kind !== 'connectionString') throw new Error('the test Azurite is reached by connection string');
    const env = { AzureWebJobsStorage: storage.connectionString, STORAGE_PREFIX: storage.prefix, [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token };
    const config = await folder.file('config.json', { ...configForFakes(graph, s365.endpoint), Options: { DeleteAfterDays: 0 } });
    const first = await runCli(['sync', '--config', config], env, { timeoutInMs: 45_000 });
    expect({ code: first.code, stderr: first.code === 0 ? '' : first.stderr.slice(-1500) }).toEqual({ code: 0, stderr: '' });

    const fake = s365.tenant('Tenant1');
    const [template] = fake.users(graph.tenantId);
    fake.seed(graph.tenantId, { users: [{ ...(template ?? { id: 'none' }), id: ORPHAN_ID, displayName: 'Orphan' }] });

    const killed = await runCli(['sync', '--config', config, '--reconcile-destinations'], { ...env, S365_FAILPOINTS: 'afterReconcileLedgerWrite' }, { timeoutInMs: 45_000 });
    expect({ signal: killed.signal, failpoint: killed.stderr.includes('failpoint afterReconcileLedgerWrite@1: SIGKILL') }).toEqual({ signal: 'SIGKILL', failpoint: true });
    const ledger = new TableLedgerStore(storage);
    expect((await ledgerEntry(ledger, 'Tenant1', 'Default', 'users', ORPHAN_ID))?.a).toEqual(expect.any(String));
    expect(fake.user(graph.tenantId, ORPHAN_ID)).toBeDefined();

    // The killed run's lock belongs to a dead process on this machine: the rerun takes it over.
    const rerun = await runCli(['sync', '--config', config], env, { timeoutInMs: 45_000 });
    expect({ code: rerun.code, stderr: rerun.code === 0 ? '' : rerun.stderr.slice(-1500) }).toEqual({ code: 0, stderr: '' });
    expect(rerun.stdout).toContain('planned the whole source (the reconcile against the destinations corrected the ledger)');
    expect(fake.user(graph.tenantId, ORPHAN_ID)).toBeUndefined();
    expect(fake.users(graph.tenantId)).toHaveLength(30);
  });
});
