/**
 * `sync --watch` when storage goes away in the middle of the uploads: the run that met the outage
 * is reported and logged, the loop backs off and goes on, and once storage is back a run brings
 * the destination in line; Ctrl+C (SIGINT) then stops it after the run in progress, as documented.
 * In-process (runSyncCommand), with storage behind a relay the test can cut.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { runSyncCommand } from '../../src/cli/syncCommand';
import { FakeTenant, startFakeGraph, type FakeGraph } from '../fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../fakes/signature365';
import { configForFakes, newSecrets, SECRET_SETTING, TOKEN_SETTING } from '../support/cliConfig';
import { expectedDestinations, type RawMapping } from '../support/expectedDestinations';
import { eventually } from '../support/realtimeHarness';
import { relayStorage, type RelayedStorage } from '../support/flakyTcpProxy';

let graph: FakeGraph | undefined;
let s365: FakeSignature365 | undefined;
let outage: RelayedStorage | undefined;
afterEach(async () => {
  await Promise.all([graph?.close(), s365?.close(), outage?.close()]);
});

describe('sync --watch', () => {
  it('logs a storage outage during the uploads, backs off, goes on, and stops on Ctrl+C after the run in progress', async () => {
    const { clientSecret, token } = newSecrets();
    const tenant = new FakeTenant({ seed: 23 });
    tenant.generate({ users: 30, groups: 3, seed: 23 });
    graph = await startFakeGraph({ tenant, clientSecret });
    s365 = await startFakeSignature365({ tenants: [{ name: 'Tenant1', token, tenantId: '5a1e5000-0000-4000-8000-0000000000a9' }] });
    outage = await relayStorage(inject('storageConnectionString'));
    // The first batch is slow, so storage can be taken away while it is in flight.
    s365.faults.slow(1, 3_000);

    const out: string[] = [];
    const err: string[] = [];
    const logs: string[] = [];
    const mappings: RawMapping[] = [{ From: 'EntraId:Default', To: 'Signature365:Tenant1' }];
    // The usual interval (1 minute, the least allowed) is longer than the test waits: only the retry after a failure brings the next run.
    const config = { ...configForFakes(graph, s365.endpoint), Mappings: mappings, Options: { DeltaIntervalMinutes: 1 } };
    const running = runSyncCommand({ watch: true }, {
      env: {
        [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token, CONNECTOR_CONFIG: JSON.stringify(config),
        AzureWebJobsStorage: outage.connectionString, STORAGE_PREFIX: `w${randomBytes(5).toString('hex')}`,
      },
      out: (text) => out.push(text), err: (text) => err.push(text),
      logSink: { write: (line) => logs.push(line) },
    });
    let finished = false;
    void running.finally(() => { finished = true; });

    const destination = s365.tenant('Tenant1');
    // The pull is done once groups/delta was read; the plan and the (slow) first batch follow.
    await eventually(() => (graph?.deltaRequests('groups').length ?? 0) > 0, 20_000, 'the pull');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    outage.outage(Number.POSITIVE_INFINITY);
    await eventually(() => out.some((text) => /fail/i.test(text)), 60_000, 'the run that met the outage to report');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(finished).toBe(false);
    outage.restore();

    const expectedUsers = expectedDestinations(tenant, mappings).get('Tenant1')?.users.size ?? Number.NaN;
    expect(expectedUsers).toBeGreaterThan(0);
    await eventually(() => destination.users(graph?.tenantId ?? '').length === expectedUsers, 40_000, 'the destination to catch up');
    process.emit('SIGINT');
    const exitCode = await running;

    expect(exitCode).toBe(0);
    expect(err.join('')).toMatch(/Stopping after the run in progress/);
    expect(err.join('')).toMatch(/Run failed; next run in 5 s/);
    expect(logs.some((line) => line.includes('"event":"watch.backoff"'))).toBe(true);
    // The run after the outage took over the lease the failed run could not release (storage was down).
    expect(out.join('')).not.toMatch(/skipped|locked/i);
  }, 150_000);
});
