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
    // Every Graph request: the delta pages, the mailbox-type read (one, refused: the fake grants no MailboxSettings.Read)
    // and the client secret's end date on the app registration (one, refused: no Application.Read.All).
    const mailboxReads = graph.requests.filter((request) => request.target === 'mailboxSettings');
    expect(mailboxReads.map((request) => request.status)).toEqual([403]);
    const registrationReads = graph.requests.filter((request) => request.target === 'applications');
    expect(registrationReads.map((request) => request.status)).toEqual([403]);
    expect(Number(requests)).toBe(graph.deltaRequests().length + mailboxReads.length + registrationReads.length);
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

  it('sync --reconcile-destinations finds an orphan, a missing and a changed user at the destination, and says so', async () => {
    const fake = s365.tenant('Tenant1');
    const users = fake.users(graph.tenantId);
    const [missing, drifted, template] = users;
    if (missing === undefined || drifted === undefined || template === undefined) throw new Error('the first sync sent fewer than 3 users');
    const orphanId = 'fe000000-0000-4000-8000-0000000000e2';
    const groups = fake.groups(graph.tenantId);
    fake.clear();
    fake.seed(graph.tenantId, {
      groups,
      users: [
        ...users.filter((user) => user.id !== missing.id).map((user) => (user.id === drifted.id ? { ...user, jobTitle: 'Changed at the destination' } : user)),
        { ...template, id: orphanId, displayName: 'Orphan' },
      ],
    });
    const config = await folder.file('config.json', configForFakes(graph, s365.endpoint));
    const reconciled = await runCli(
      ['sync', '--reconcile-destinations', '--config', config, '--state', `${folder.path}/state`],
      { [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token },
      { timeoutInMs: 45_000 },
    );
    expect({ code: reconciled.code, stderrTail: reconciled.code === 0 ? '' : reconciled.stderr.slice(-2000) }).toEqual({ code: 0, stderrTail: '' });
    expect(reconciled.stdout).toContain(`Default -> Tenant1: reconcile: users ${USERS} held: 1 unknown (1 to the deletion gate), 1 missing and 1 changed (sent again), 0 already gone; groups ${GROUPS} held, all as recorded`);
    // DeleteAfterDays defaults to 7: the orphan waits out the grace period like any user who left scope.
    expect(reconciled.stdout).toMatch(/users 2 to send, 0 to delete, \d+ unchanged, 1 waiting out the grace period/);
    expect(fake.user(graph.tenantId, missing.id)).toBeDefined();
    expect(fake.user(graph.tenantId, drifted.id)?.jobTitle).not.toBe('Changed at the destination');
    expect(fake.user(graph.tenantId, orphanId)).toBeDefined();
  });
});
