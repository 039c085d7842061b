/**
 * `s365-connector test-connection` as a child process against the fake Graph and Signature 365:
 * a good configuration passes, a wrong secret and a wrong token fail with what to do, and no
 * secret is printed either way.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeTenant, startFakeGraph, type FakeGraph } from '../fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../fakes/signature365';
import { killCliChildren, runCli } from '../support/cliProcess';
import { SECRET_SETTING, TOKEN_SETTING, configForFakes, newSecrets, tempFolder, type TempFolder } from '../support/cliConfig';

const { clientSecret, token } = newSecrets();
let graph: FakeGraph;
let s365: FakeSignature365;
let folder: TempFolder;
let config: string;

beforeAll(async () => {
  const tenant = new FakeTenant({ seed: 5 });
  tenant.generate({ users: 30, groups: 3, seed: 5 });
  graph = await startFakeGraph({ tenant, clientSecret });
  s365 = await startFakeSignature365({ tenants: [{ name: 'Tenant1', token, tenantId: '5a1e5000-0000-4000-8000-0000000000d1' }] });
  folder = await tempFolder();
  config = await folder.file('config.json', configForFakes(graph, s365.endpoint));
});
afterEach(() => killCliChildren());
afterAll(async () => {
  killCliChildren();
  await Promise.all([graph.close(), s365.close()]);
  await folder.remove();
});

describe('s365-connector test-connection', () => {
  it('passes when the source signs in with both permissions and the token is accepted, reading one object a kind', async () => {
    const mark = graph.requests.length;
    const run = await runCli(['test-connection', '--config', config], { [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token }, { timeoutInMs: 30_000 });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/OK {4}EntraId:Default users\/delta .*read 1 object/);
    expect(run.stdout).toMatch(/OK {4}EntraId:Default groups\/delta .*read 1 object/);
    expect(run.stdout).toMatch(/OK {4}Signature365:Tenant1 .*token accepted by tenant "Tenant1"/);
    expect(graph.requests.slice(mark).filter((r) => r.target === 'users' || r.target === 'groups')).toHaveLength(2);
    expect(s365.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });

  it('fails with what to do when the client secret and the token are wrong, printing neither', async () => {
    const wrong = newSecrets();
    const run = await runCli(['test-connection', '--config', config], { [SECRET_SETTING]: wrong.clientSecret, [TOKEN_SETTING]: wrong.token }, { timeoutInMs: 30_000 });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/FAIL {2}EntraId:Default users\/delta .*AADSTS7000215/);
    expect(run.stdout).toContain('check TenantId, ClientId and the secret or certificate');
    expect(run.stdout).toMatch(/FAIL {2}Signature365:Tenant1 /);
    expect(run.stdout).toContain('copy it again from the Signature 365 portal');
    const output = run.stdout + run.stderr;
    for (const secret of [clientSecret, token, wrong.clientSecret, wrong.token]) expect(output).not.toContain(secret);
  });
});
