/**
 * The fake must hold the client to the contract, or the client tests prove nothing: these talk to
 * it with raw HTTPS requests, without the client.
 */
import { request } from 'node:https';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { s365Group, s365User } from '../../fakes/signature365/builders';
import { startFakeSignature365, type FakeSignature365 } from '../../fakes/signature365';

const TOKEN = 'idscl_fake_server_test_token';
const SOURCE = 'source-tenant';

let fake: FakeSignature365;

beforeAll(async () => {
  fake = await startFakeSignature365({ tenants: [{ name: 'Contoso', token: TOKEN, tenantId: 'tenant-guid' }] });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.faults.clear();
  fake.tenant('Contoso').clear();
  fake.requests.length = 0;
});

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

function call(method: string, path: string, body?: unknown, options: { token?: string; contentType?: string } = {}): Promise<RawAnswer> {
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(`${fake.endpoint}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${options.token ?? TOKEN}`,
        'Content-Type': options.contentType ?? 'application/json',
      },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: raw ? JSON.parse(raw) as unknown : undefined });
      });
    });
    req.on('error', reject);
    req.end(text);
  });
}

const postUsers = (body: unknown, options?: { token?: string; contentType?: string }) =>
  call('POST', '/api/directory/v1/users/batch', body, options);

describe('fake Signature 365 server', () => {
  it('answers the connection of the tenant whose token is presented', async () => {
    await expect(call('GET', '/api/directory/v1/connection')).resolves.toMatchObject({ status: 200, body: { tenant: 'Contoso', tenantId: 'tenant-guid' } });
  });

  it('answers 401 to an unknown token', async () => {
    const answer = await call('GET', '/api/directory/v1/connection', undefined, { token: 'idscl_nobody' });
    expect(answer.status).toBe(401);
    expect(fake.requests[0]).toMatchObject({ tenant: null, status: 401 });
  });

  it('stores a complete user record and lists it back', async () => {
    const user = s365User();
    const answer = await postUsers({ source: SOURCE, upserts: [user], deletes: [] });
    expect(answer).toMatchObject({ status: 200, body: { results: [{ id: user.id, status: 200 }] } });
    await expect(call('GET', `/api/directory/v1/users?source=${SOURCE}`)).resolves.toMatchObject({ body: { value: [user] } });
  });

  it('rejects a user record with a property omitted with 400, storing nothing', async () => {
    const { faxNumber: _omitted, ...incomplete } = s365User();
    const answer = await postUsers({ source: SOURCE, upserts: [s365User(), incomplete], deletes: [] });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: expect.stringContaining('upserts[1].faxNumber is missing') as unknown });
    expect(fake.tenant('Contoso').users(SOURCE)).toEqual([]);
  });

  it('rejects a property the contract does not have, and values of the wrong type', async () => {
    expect((await postUsers({ source: SOURCE, upserts: [{ ...s365User(), nickname: 'x' }], deletes: [] })).status).toBe(400);
    expect((await postUsers({ source: SOURCE, upserts: [{ ...s365User(), businessPhones: null }], deletes: [] })).status).toBe(400);
    expect((await postUsers({ source: SOURCE, upserts: [{ ...s365User(), mailboxType: 'mailbox' }], deletes: [] })).status).toBe(400);
    expect((await postUsers({ source: SOURCE, upserts: [{ ...s365User(), manager: { id: 'm' } }], deletes: [] })).status).toBe(400);
  });

  it('rejects a malformed body with 400', async () => {
    expect((await postUsers('{not json')).status).toBe(400);
    expect((await postUsers({ upserts: [], deletes: [] })).status).toBe(400);
    expect((await postUsers({ source: SOURCE, upserts: [] })).status).toBe(400);
    expect((await postUsers({ source: SOURCE, upserts: [], deletes: [] }, { contentType: 'text/plain' })).status).toBe(400);
  });

  it('validates groups against the group record', async () => {
    const answer = await call('POST', '/api/directory/v1/groups/batch', { source: SOURCE, upserts: [s365Group(), s365User()], deletes: [] });
    expect(answer.status).toBe(400);
  });

  it('answers 413 above 100 items or 1 MiB', async () => {
    const ids = Array.from({ length: 101 }, (_, i) => `id-${i}`);
    expect((await postUsers({ source: SOURCE, upserts: [], deletes: ids })).status).toBe(413);
    const huge = s365User({ extensionAttributes: { extensionAttribute1: 'x'.repeat(1024 * 1024) } });
    expect((await postUsers({ source: SOURCE, upserts: [huge], deletes: [] })).status).toBe(413);
    expect((await postUsers({ source: SOURCE, upserts: [], deletes: ids.slice(0, 100) })).status).toBe(200);
  });

  it('answers per item: 404 for deleting an id not held, 400 for an item the test rejects', async () => {
    const kept = s365User();
    fake.faults.rejectItem('bad-id', 'no such mailbox');
    const answer = await postUsers({ source: SOURCE, upserts: [kept], deletes: ['unknown-id', 'bad-id'] });
    expect(answer.body).toEqual({
      results: [
        { id: kept.id, status: 200 },
        { id: 'unknown-id', status: 404, error: expect.any(String) as unknown },
        { id: 'bad-id', status: 400, error: 'no such mailbox' },
      ],
    });
  });

  it('keeps sources and tenants apart', async () => {
    const user = s365User();
    await postUsers({ source: 'source-a', upserts: [user], deletes: [] });
    expect(fake.tenant('Contoso').users('source-a')).toHaveLength(1);
    expect(fake.tenant('Contoso').users('source-b')).toEqual([]);
    expect(fake.tenant('Contoso').sources()).toEqual(['source-a']);
  });

  it('injects faults for the next N matching requests only, with Retry-After in seconds or as a date', async () => {
    fake.faults.throttle(2, 3, { path: '/api/directory/v1/connection' });
    const when = new Date(Date.now() + 60_000);
    fake.faults.failNext(1, 503, { retryAfter: when, match: { method: 'POST' } });

    const first = await call('GET', '/api/directory/v1/connection');
    const posted = await postUsers({ source: SOURCE, upserts: [], deletes: [] });
    const second = await call('GET', '/api/directory/v1/connection');
    const third = await call('GET', '/api/directory/v1/connection');

    expect([first.status, first.headers['retry-after']]).toEqual([429, '3']);
    expect([posted.status, posted.headers['retry-after']]).toEqual([503, when.toUTCString()]);
    expect(second.status).toBe(429);
    expect(third.status).toBe(200);
    expect(fake.faults.pending()).toBe(0);
    expect(fake.requests.map((r) => r.fault)).toEqual(['status 429', 'status 503', 'status 429', null]);
  });

  it('refuses a whole batch holding a poisoned id with 400 and no results, storing nothing of it', async () => {
    const [good, bad] = [s365User(), s365User()];
    fake.faults.rejectBatchWith(bad.id, 'record cannot be read');
    await expect(postUsers({ source: SOURCE, upserts: [good, bad], deletes: [] })).resolves.toMatchObject({ status: 400, body: { error: 'record cannot be read' } });
    await expect(postUsers({ source: SOURCE, upserts: [], deletes: [bad.id] })).resolves.toMatchObject({ status: 400 });
    expect(fake.tenant('Contoso').users(SOURCE)).toEqual([]);
    await expect(postUsers({ source: SOURCE, upserts: [good], deletes: [] })).resolves.toMatchObject({ status: 200 });
  });

  it('counts batch requests in flight per tenant', async () => {
    fake.faults.slow(3, 200);
    fake.resetConcurrency();
    await Promise.all([0, 1, 2].map(() => postUsers({ source: SOURCE, upserts: [s365User()], deletes: [] })));
    expect(fake.concurrency('Contoso')).toEqual({ current: 0, max: 3 });
    fake.resetConcurrency();
    expect(fake.concurrency('Contoso').max).toBe(0);
  });

  it('delays a slow request and then handles it', async () => {
    fake.faults.slow(1, 300);
    const started = Date.now();
    const answer = await call('GET', '/api/directory/v1/connection');
    expect(answer.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });
});
