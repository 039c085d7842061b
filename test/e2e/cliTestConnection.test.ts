/**
 * `s365-connector test-connection` as a child process against the fake Graph and Signature 365:
 * a good configuration passes, a wrong secret and a wrong token fail with what to do, and no
 * secret is printed either way. With the network out of reach (a refused loopback port, a `.invalid`
 * host name, which never resolves) it says so instead of blaming the credentials, and exits as soon
 * as its last check has ended.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeTenant, startFakeGraph, type FakeGraph } from '../fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../fakes/signature365';
import { freePort } from '../../src/setup/freePort';
import { killCliChildren, runCli, startCli } from '../support/cliProcess';
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
    // The fake grants no MailboxSettings.Read: said, and not a failure (exit 0 above).
    expect(run.stdout).toContain('WARN  EntraId:Default mailboxSettings (optional MailboxSettings.Read): not granted: records carry mailboxType "unknown"');
    expect(run.stdout).toMatch(/OK {4}Signature365:Tenant1 .*token accepted by tenant "Tenant1"/);
    // The secret's end date is on the app registration, which the fake lets no one read without Application.Read.All.
    expect(run.stdout).toContain("WARN  EntraId:Default credential: a client secret's end date is on the app registration; grant Application.Read.All");
    expect(graph.requests.slice(mark).filter((r) => r.target === 'users' || r.target === 'groups')).toHaveLength(2);
    expect(s365.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });

  it('fails with what to do when the client secret and the token are wrong, printing neither', async () => {
    const wrong = newSecrets();
    const run = await runCli(['test-connection', '--config', config], { [SECRET_SETTING]: wrong.clientSecret, [TOKEN_SETTING]: wrong.token }, { timeoutInMs: 30_000 });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/FAIL {2}EntraId:Default users\/delta .*AADSTS7000215/);
    expect(run.stdout).toContain('check TenantId, ClientId and the secret or certificate');
    expect(run.stdout).not.toContain('network failure');
    expect(run.stdout).toMatch(/FAIL {2}Signature365:Tenant1 /);
    expect(run.stdout).toContain('copy it again from the Signature 365 portal');
    const output = run.stdout + run.stderr;
    for (const secret of [clientSecret, token, wrong.clientSecret, wrong.token]) expect(output).not.toContain(secret);
  });

  /**
   * Runs test-connection with `raw` and measures how long the process lives after printing its last
   * result. It used to linger about 100 s: a failed HTTPS attempt left the SDK's request timer running.
   */
  async function runUnreachable(raw: Record<string, unknown>): Promise<{ code: number | null; stdout: string; exitAfterLastLineInMs: number; timedOut: boolean }> {
    const file = await folder.file(`unreachable-${Math.random().toString(36).slice(2)}.json`, raw);
    const child = startCli(['test-connection', '--config', file], { [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token }, { timeoutInMs: 150_000 });
    let lastLineAt = Date.now();
    child.process.stdout?.on('data', () => { lastLineAt = Date.now(); });
    const run = await child.exited;
    return { code: run.code, stdout: run.stdout, exitAfterLastLineInMs: Date.now() - lastLineAt, timedOut: run.timedOut };
  }

  function unreachableConfig(authorityHost: string, graphEndpoint: string, signature365Endpoint: string): Record<string, unknown> {
    const raw = configForFakes(graph, signature365Endpoint);
    const source = (raw.EntraId as Record<string, Record<string, unknown>>).Default;
    return { ...raw, EntraId: { Default: { ...source, AuthorityHost: authorityHost, GraphEndpoint: graphEndpoint } } };
  }

  it('tells a name that does not resolve and a refused port from bad credentials, and exits once the checks end', async () => {
    const refused = await freePort(); // free a moment ago: nothing listens there
    const run = await runUnreachable(unreachableConfig('https://login.connector-test.invalid', 'https://graph.connector-test.invalid', `https://127.0.0.1:${refused}`));
    expect({ code: run.code, timedOut: run.timedOut }).toEqual({ code: 1, timedOut: false });
    expect(run.stdout).toMatch(/FAIL {2}EntraId:Default users\/delta [^\n]*\n {6}→ network failure, not a credential problem: could not reach login\.connector-test\.invalid \(ENOTFOUND: the host name does not resolve \(DNS\)\); check AuthorityHost/);
    expect(run.stdout).toMatch(/FAIL {2}EntraId:Default groups\/delta [^\n]*: not tried: signing in failed \(see above\)\n {6}→ network failure, not a credential problem: could not reach login\.connector-test\.invalid \(ENOTFOUND/);
    expect(run.stdout).toMatch(new RegExp(`FAIL {2}Signature365:Tenant1 [^\\n]*\\n {6}→ network failure, not a credential problem: could not reach 127\\.0\\.0\\.1:${refused} \\(ECONNREFUSED`));
    expect(run.stdout).not.toContain('check TenantId, ClientId and the secret');
    expect(run.stdout).not.toContain('copy it again');
    // Bounded far below the 100 s the old code lingered; a generous margin for a loaded machine.
    console.info(`test-connection (DNS failure + refused port) exited ${run.exitAfterLastLineInMs} ms after its last line`);
    expect(run.exitAfterLastLineInMs).toBeLessThan(20_000);
  });

  it('tells a refused token authority and an unresolvable Signature 365 host, and exits once the checks end', async () => {
    const refused = await freePort();
    const run = await runUnreachable(unreachableConfig(`https://127.0.0.1:${refused}`, graph.graphEndpoint, 'https://s365.connector-test.invalid'));
    expect({ code: run.code, timedOut: run.timedOut }).toEqual({ code: 1, timedOut: false });
    expect(run.stdout).toMatch(new RegExp(`FAIL {2}EntraId:Default users/delta [^\\n]*\\n {6}→ network failure, not a credential problem: could not reach 127\\.0\\.0\\.1:${refused} \\(ECONNREFUSED`));
    expect(run.stdout).toMatch(/FAIL {2}Signature365:Tenant1 [^\n]*\n {6}→ network failure, not a credential problem: could not reach s365\.connector-test\.invalid \(ENOTFOUND/);
    console.info(`test-connection (refused authority + DNS failure) exited ${run.exitAfterLastLineInMs} ms after its last line`);
    expect(run.exitAfterLastLineInMs).toBeLessThan(20_000);
  });
});
