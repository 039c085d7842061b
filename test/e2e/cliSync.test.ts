import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeTenant, startFakeGraph, type FakeGraph } from '../fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../fakes/signature365';
import { killCliChildren, runCli, type CliResult } from '../support/cliProcess';
import { SECRET_SETTING, TOKEN_SETTING, configForFakes, newSecrets, tempFolder, type TempFolder } from '../support/cliConfig';

const USERS = 120;
const GROUPS = 12;
const { clientSecret, token } = newSecrets();

let graph: FakeGraph;
let s365: FakeSignature365;
let folder: TempFolder;
let run: CliResult;

beforeAll(async () => {
  const tenant = new FakeTenant({ seed: 31 });
  // No guests or disabled accounts: every user is in scope, so the upload count is exact.
  tenant.generate({ users: USERS, groups: GROUPS, seed: 31, guestShare: 0, disabledShare: 0 });
  graph = await startFakeGraph({ tenant, clientSecret, memberSliceSize: 7, maxPageSize: { users: 50, groups: 10 } });
  s365 = await startFakeSignature365({ tenants: [{ name: 'Tenant1', token, tenantId: '5a1e5000-0000-4000-8000-0000000000e2' }] });
  folder = await tempFolder();
  const config = await folder.file('config.json', configForFakes(graph, s365.endpoint));
  // No AzureWebJobsStorage: the CLI starts its own Azurite, kept in the --state folder.
  run = await runCli(
    ['sync', '--config', config, '--state', `${folder.path}/state`, '--log-level', 'debug'],
    { [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token },
    { timeoutInMs: 45_000 },
  );
});
afterEach(() => {
  killCliChildren();
});
afterAll(async () => {
  killCliChildren();
  await Promise.all([graph.close(), s365.close()]);
  await folder.remove();
});

describe('s365-connector sync against the fake Graph and Signature 365, with embedded storage', () => {
  it('exits 0 and prints a summary with the users and groups read and the Graph requests made', () => {
    expect({ code: run.code, timedOut: run.timedOut, stderrTail: run.code === 0 ? '' : run.stderr.slice(-2000) }).toEqual({ code: 0, timedOut: false, stderrTail: '' });
    expect(run.stdout).toMatch(new RegExp(`users\\s+full\\s+\\d+ pages: ${USERS} added`));
    expect(run.stdout).toMatch(new RegExp(`groups\\s+full\\s+\\d+ pages: ${GROUPS} added`));
    const requests = /Graph requests: (\d+)/.exec(run.stdout)?.[1];
    expect(Number(requests)).toBe(graph.deltaRequests().length);
    expect(run.stdout).toMatch(/Uploads: \d+ batches, \d+ objects acknowledged, 0 failed/);
  });

  it('uploads every user of the source to the destination', () => {
    expect(s365.tenant('Tenant1').users(graph.tenantId)).toHaveLength(USERS);
  });

  it('prints neither the client secret nor the idscl_ token, even at debug level', () => {
    const output = run.stdout + run.stderr;
    expect(run.stderr.length).toBeGreaterThan(0);
    expect(output).not.toContain(clientSecret);
    expect(output).not.toContain(token);
    expect(output).not.toContain('idscl_');
  });
});
