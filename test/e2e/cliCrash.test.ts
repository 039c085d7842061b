import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TableCursorStore, TableMirrorStore } from '../../src/store';
import { createTableClient } from '../../src/store/storageAccount';
import { TABLE_NAMES } from '../../src/store/entityCodec';
import { FakeTenant, startFakeGraph, type FakeGraph } from '../fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../fakes/signature365';
import { killCliChildren, runCli, startCli, waitFor, type CliResult } from '../support/cliProcess';
import { SECRET_SETTING, TOKEN_SETTING, configForFakes, newSecrets, tempFolder, type TempFolder } from '../support/cliConfig';
import { expectedDirectory, readMirrorDirectory, removedInMirror } from '../support/mirrorSnapshot';
import { isolatedStorage } from '../support/storage';

const USERS = 240;
const PAGE_SIZE = 40;
/** The run is killed while it waits for this users page, i.e. after it applied the pages before. */
const KILLED_AT_PAGE = 4;
const { clientSecret, token } = newSecrets();
const storage = isolatedStorage();

let graph: FakeGraph;
let s365: FakeSignature365;
let folder: TempFolder;
let env: NodeJS.ProcessEnv;
let configFile: string;
let killed: CliResult;
let rerun: CliResult;
let killedAtSkipToken: string | undefined;
let cursorAfterKill: Awaited<ReturnType<TableCursorStore['get']>>;
let rerunMark: number;
let mirroredAfterKill: number;
let leaseLeftByKilledRun = false;

beforeAll(async () => {
  const tenant = new FakeTenant({ seed: 41 });
  tenant.generate({ users: USERS, groups: 20, seed: 41 });
  // The CLI asks for 200 a page; Graph may serve fewer, and here does, so the round has several pages.
  graph = await startFakeGraph({ tenant, clientSecret, memberSliceSize: 7, maxPageSize: { users: PAGE_SIZE, groups: PAGE_SIZE } });
  s365 = await startFakeSignature365({ tenants: [{ name: 'Tenant1', token, tenantId: '5a1e5000-0000-4000-8000-0000000000c1' }] });
  folder = await tempFolder();
  configFile = await folder.file('config.json', configForFakes(graph, s365.endpoint));
  if (storage.kind !== 'connectionString') throw new Error('the test Azurite is reached by connection string');
  // The shared Azurite with a prefix of its own, so the test reads exactly what the child wrote.
  env = { AzureWebJobsStorage: storage.connectionString, STORAGE_PREFIX: storage.prefix, [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token };

  // Pages before KILLED_AT_PAGE are served at once; that page hangs, so the kill lands at a known point.
  graph.faults.add({ target: 'users', times: KILLED_AT_PAGE - 1 });
  graph.faults.add({ target: 'users', delayMs: 10_000 });
  const child = startCli(['sync', '--config', configFile, '--batch-size', String(PAGE_SIZE)], env, { timeoutInMs: 30_000 });
  await waitFor(() => graph.deltaRequests('users').length >= KILLED_AT_PAGE, {
    timeoutInMs: 25_000,
    what: `users page ${KILLED_AT_PAGE} to be requested`,
    stop: () => (child.process.exitCode !== null ? `the CLI exited early with ${child.process.exitCode}: ${child.stderr().slice(-1500)}` : undefined),
  });
  child.process.kill('SIGKILL');
  killed = await child.exited;
  killedAtSkipToken = graph.deltaRequests('users')[KILLED_AT_PAGE - 1]?.query.$skiptoken;

  cursorAfterKill = await new TableCursorStore(storage).get('Default', 'users');
  mirroredAfterKill = (await readMirrorDirectory(new TableMirrorStore(storage), 'Default')).users.length;
  // The killed process still holds the source lease (5 minutes). It is left as it is: the rerun, on
  // the same machine, must see that its holder is a dead process and take it over.
  const locks = createTableClient(storage, TABLE_NAMES.locks);
  for await (const lock of locks.listEntities<{ expiresAt?: string; holder?: string }>()) {
    if (lock.partitionKey === 'pull|Default' && Date.parse(lock.expiresAt ?? '') > Date.now()) leaseLeftByKilledRun = true;
  }

  rerunMark = graph.requests.length;
  rerun = await runCli(['sync', '--config', configFile, '--batch-size', String(PAGE_SIZE)], env, { timeoutInMs: 30_000 });
});
afterEach(() => {
  killCliChildren();
});
afterAll(async () => {
  killCliChildren();
  await Promise.all([graph.close(), s365.close()]);
  await folder.remove();
});

describe('the CLI killed (SIGKILL) in the middle of a full round', () => {
  it('died by the signal, having checkpointed the pages it applied', () => {
    expect(killed.signal).toBe('SIGKILL');
    expect(killedAtSkipToken).toEqual(expect.any(String));
    expect(cursorAfterKill).toMatchObject({ deltaLink: null, round: { kind: 'full', pages: KILLED_AT_PAGE - 1 } });
    expect(new URL(cursorAfterKill?.nextLink ?? 'https://missing').searchParams.get('$skiptoken')).toBe(killedAtSkipToken);
    expect(mirroredAfterKill).toBe((KILLED_AT_PAGE - 1) * PAGE_SIZE);
    // Nobody released the source lock: its 5-minute lease is still running when the rerun starts.
    expect(leaseLeftByKilledRun).toBe(true);
  });

  it('takes over the lease of the dead process at once, and resumes from the saved nextLink, not from the beginning', () => {
    expect({ code: rerun.code, stderrTail: rerun.code === 0 ? '' : rerun.stderr.slice(-2000) }).toEqual({ code: 0, stderrTail: '' });
    const users = graph.requests.slice(rerunMark).filter((request) => request.target === 'users');
    expect(users[0]?.query.$skiptoken).toBe(killedAtSkipToken);
    expect(users.every((request) => request.query.$skiptoken !== undefined)).toBe(true);
    expect(rerun.stdout).toMatch(/users\s+full\s+\d+ pages: \d+ added.*\(resumed\)/);
  });

  it('ends with the mirror equal to the tenant, nothing marked removed', async () => {
    const mirror = new TableMirrorStore(storage);
    expect(await readMirrorDirectory(mirror, 'Default')).toEqual(expectedDirectory(graph.tenant));
    expect(await removedInMirror(mirror, 'Default')).toEqual({ users: {}, groups: {} });
  });

  it('never prints the client secret or the token', () => {
    const output = killed.stdout + killed.stderr + rerun.stdout + rerun.stderr;
    expect(output).not.toContain(clientSecret);
    expect(output).not.toContain('idscl_');
  });
});
