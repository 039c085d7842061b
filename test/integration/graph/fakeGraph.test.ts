import { afterEach, describe, expect, it } from 'vitest';
import { FakeTenant, startFakeGraph, type FakeGraph } from '../../fakes/graph';

// The fake's own documented behaviours that the reader tests do not reach (the reader always sends
// $select and return=minimal), checked over raw HTTPS.
const SECRET = 'fake-secret';
let fake: FakeGraph | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function token(graph: FakeGraph): Promise<string> {
  const response = await fetch(`${graph.authorityHost}/${graph.tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: graph.clientId, client_secret: SECRET, scope: `${graph.graphEndpoint}/.default` }),
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

async function get(graph: FakeGraph, url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url.startsWith('http') ? url : `${graph.graphEndpoint}${url}`, {
    headers: { Authorization: `Bearer ${await token(graph)}`, ...headers },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('fake Graph', () => {
  it('rejects an unknown $select property with 400', async () => {
    fake = await startFakeGraph({ tenant: new FakeTenant(), clientSecret: SECRET });
    const answer = await get(fake, '/v1.0/users/delta?$select=displayName,shoeSize');
    expect(answer.status).toBe(400);
  });

  it('returns all selected properties of a changed user unless return=minimal is asked for', async () => {
    const tenant = new FakeTenant();
    const user = tenant.addUser({ displayName: 'A', jobTitle: 'Dev' });
    fake = await startFakeGraph({ tenant, clientSecret: SECRET });
    const full = await get(fake, '/v1.0/users/delta?$select=displayName,jobTitle');
    const deltaLink = String(full.body['@odata.deltaLink']);
    tenant.updateUser(user.id, { jobTitle: 'Lead' });

    const plain = await get(fake, deltaLink);
    const minimal = await get(fake, deltaLink, { Prefer: 'return=minimal' });

    expect(plain.body.value).toEqual([{ displayName: 'A', jobTitle: 'Lead', id: user.id }]);
    expect(minimal.body.value).toEqual([{ jobTitle: 'Lead', id: user.id }]);
  });

  it('does not report a user whose only change is to a property not selected', async () => {
    const tenant = new FakeTenant();
    const user = tenant.addUser();
    fake = await startFakeGraph({ tenant, clientSecret: SECRET });
    const full = await get(fake, '/v1.0/users/delta?$select=displayName');
    tenant.updateUser(user.id, { jobTitle: 'Lead' });

    const next = await get(fake, String(full.body['@odata.deltaLink']), { Prefer: 'return=minimal' });

    expect(next.body.value).toEqual([]);
  });

  it('expires delta links older than maxTokenAgeInMs with 410 and a Location to start over', async () => {
    fake = await startFakeGraph({ tenant: new FakeTenant(), clientSecret: SECRET, maxTokenAgeInMs: 50 });
    const full = await get(fake, '/v1.0/groups/delta?$select=displayName');
    await new Promise((resolve) => setTimeout(resolve, 100));

    const response = await fetch(String(full.body['@odata.deltaLink']), { headers: { Authorization: `Bearer ${await token(fake)}` } });

    expect(response.status).toBe(410);
    expect(response.headers.get('location')).toBe(`${fake.graphEndpoint}/v1.0/groups/delta`);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('syncStateNotFound');
  });

  it('generates the same tenant for the same seed, a few thousand users well under a second', () => {
    const a = new FakeTenant();
    const b = new FakeTenant();
    const started = performance.now();
    const generated = a.generate({ users: 3000, groups: 50, nestingDepth: 3, seed: 5 });
    const elapsed = performance.now() - started;
    b.generate({ users: 3000, groups: 50, nestingDepth: 3, seed: 5 });

    expect(generated.userIds).toHaveLength(3000);
    expect(generated.groupIds).toHaveLength(50);
    expect(a.activeUsers()).toEqual(b.activeUsers());
    expect(elapsed).toBeLessThan(1000);
  });
});
