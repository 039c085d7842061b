import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/setup/freePort';
import { FakeTenant, startFakeGraph, type FakeGraph } from '../fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../fakes/signature365';
import { SECRET_SETTING, TOKEN_SETTING, configForFakes, newSecrets, tempFolder, type TempFolder } from '../support/cliConfig';
import { killCliChildren, runCli, startCli, waitFor } from '../support/cliProcess';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  killCliChildren();
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});


async function fakes(): Promise<{ graph: FakeGraph; s365: FakeSignature365; folder: TempFolder; secrets: { clientSecret: string; token: string }; configPath: string }> {
  const tenant = new FakeTenant({ seed: 21 });
  tenant.generate({ users: 25, groups: 3 });
  const secrets = newSecrets();
  const graph = await startFakeGraph({ tenant, clientSecret: secrets.clientSecret, notifications: { batchWindowMs: 50 } });
  const s365 = await startFakeSignature365({ tenants: [{ name: 'Tenant1', token: secrets.token, tenantId: '5a1e5000-0000-4000-8000-000000000021' }] });
  const folder = await tempFolder();
  cleanup.push(() => graph.close(), () => s365.close(), () => folder.remove());
  const configPath = await folder.file('config.json', configForFakes(graph, s365.endpoint));
  return { graph, s365, folder, secrets, configPath };
}

describe('s365-connector serve (a child process)', () => {
  it('logs its URL, subscribes, carries a notified change, serves status without secrets, and exits 0 on SIGTERM', async () => {
    const { graph, s365, secrets, configPath } = await fakes();
    const port = await freePort();
    const child = startCli(['serve', '--config', configPath, '--port', String(port), '--public-url', `http://127.0.0.1:${port}`, '--log-level', 'debug'], {
      [SECRET_SETTING]: secrets.clientSecret, [TOKEN_SETTING]: secrets.token,
    }, { timeoutInMs: 90_000 });
    const stop = () => (child.process.exitCode !== null ? `serve exited: ${child.stderr()}` : undefined);
    await waitFor(() => child.stdout().includes(`Listening on http://127.0.0.1:${port}`), { timeoutInMs: 30_000, what: 'the listening line', stop });
    const source = graph.tenantId;
    const everyone = graph.tenant.activeUsers().length;
    await waitFor(() => s365.tenant('Tenant1').users(source).length === everyone, { timeoutInMs: 30_000, what: 'the first sync', stop });
    expect(graph.subscriptions.list().map((s) => s.notificationUrl)).toEqual([
      `http://127.0.0.1:${port}/api/graph/notifications`, `http://127.0.0.1:${port}/api/graph/notifications`,
    ]);

    // The first notified pull may have to keep 10 s from the catch-up pull after subscribing.
    const user = graph.tenant.activeUsers()[2];
    if (user === undefined) throw new Error('no user');
    graph.tenant.updateUser(user.id, { jobTitle: 'Notified' });
    await waitFor(() => s365.tenant('Tenant1').user(source, user.id)?.jobTitle === 'Notified', { timeoutInMs: 30_000, what: 'the notified change', stop });
    expect(child.stderr()).toMatch(/"event":"webhook|"reason":"changeNotification"|notifiedPull|sync\.start/);

    const status = await fetch(`http://127.0.0.1:${port}/api/status`);
    expect(status.status).toBe(200);
    const text = await status.text();
    const body = JSON.parse(text) as { sources: { changeNotifications?: { users: { state: string } } }[]; serve: { webhook: { accepted: number } } };
    expect(body.sources[0]?.changeNotifications?.users.state).toBe('active');
    expect(body.serve.webhook.accepted).toBeGreaterThan(0);
    // The status page from the same process, with its policy, and the runs serve sent in-process recorded.
    const dashboard = await fetch(`http://127.0.0.1:${port}/api/dashboard`);
    expect(dashboard.status).toBe(200);
    expect(dashboard.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'sha256-/);
    const page = await dashboard.text();
    expect(page).toContain('full <span class="ok">ok</span>');
    expect(page.match(/<svg class="spark"/g)).toHaveLength(2);
    const clientStates = graph.subscriptions.list().map((s) => s.clientState).filter((value): value is string => typeof value === 'string');
    expect(clientStates).toHaveLength(2);
    for (const secret of [secrets.clientSecret, secrets.token, ...clientStates]) {
      expect(page).not.toContain(secret);
      expect(text).not.toContain(secret);
      expect(child.stderr()).not.toContain(secret);
      expect(child.stdout()).not.toContain(secret);
    }

    child.process.kill('SIGTERM');
    const result = await child.exited;
    expect(result.timedOut).toBe(false);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Stopped.');
  });

  it('refuses an http public URL that is not loopback, naming the flag', async () => {
    const { secrets, configPath } = await fakes();
    const result = await runCli(['serve', '--config', configPath, '--port', '0', '--public-url', 'http://connector.example.com'], {
      [SECRET_SETTING]: secrets.clientSecret, [TOKEN_SETTING]: secrets.token,
    }, { timeoutInMs: 30_000 });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--public-url: http:\/\/connector\.example\.com must use https/);
  });
});
