import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DestinationConfig } from '../../../src/config/types';
import {
  DestinationAuthError,
  DestinationRequestError,
  DestinationUnavailableError,
  createHttpDestinationClient,
  type DestinationEvent,
  type HttpDestinationClientOptions,
  type Signature365User,
} from '../../../src/signature365';
import { s365Group, s365User, s365Users } from '../../fakes/signature365/builders';
import { startFakeSignature365, type FakeSignature365 } from '../../fakes/signature365';

const SOURCE = '11111111-2222-4333-8444-555555555555';
const TOKEN = 'idscl_TestTokenForTenant1_do_not_leak_0123456789';
const OTHER_TOKEN = 'idscl_TestTokenForTenant2_do_not_leak_9876543210';
const BATCH_PATH = '/api/directory/v1/users/batch';

let fake: FakeSignature365;
let events: DestinationEvent[];

beforeAll(async () => {
  fake = await startFakeSignature365({
    tenants: [
      { name: 'Contoso Signatures', token: TOKEN, tenantId: 'aaaaaaaa-0000-4000-8000-000000000001' },
      { name: 'Fabrikam Signatures', token: OTHER_TOKEN, tenantId: 'aaaaaaaa-0000-4000-8000-000000000002' },
    ],
  });
});

afterAll(async () => {
  await fake.close();
});

beforeEach(() => {
  fake.faults.clear();
  fake.tenant('Contoso Signatures').clear();
  fake.tenant('Fabrikam Signatures').clear();
  fake.requests.length = 0;
  events = [];
});

function destination(overrides: Partial<DestinationConfig> = {}): DestinationConfig {
  return { name: 'Tenant1', token: TOKEN, endpoint: fake.endpoint, ...overrides };
}

/** Fast backoff so retry tests take milliseconds unless they are about Retry-After. */
function client(options: HttpDestinationClientOptions = {}, config: Partial<DestinationConfig> = {}) {
  return createHttpDestinationClient(destination(config), {
    retryDelayInMs: 5,
    onEvent: (event) => events.push(event),
    ...options,
  });
}

function held(): Signature365User[] {
  return fake.tenant('Contoso Signatures').users(SOURCE) as unknown as Signature365User[];
}

function batchRequests() {
  return fake.requests.filter((r) => r.path === BATCH_PATH);
}

describe('HttpDestinationClient against the fake Signature 365 over HTTPS', () => {
  it('returns the tenant name and id the token belongs to', async () => {
    await expect(client().testConnection()).resolves.toEqual({ tenant: 'Contoso Signatures', tenantId: 'aaaaaaaa-0000-4000-8000-000000000001' });
    await expect(client({}, { token: OTHER_TOKEN }).testConnection()).resolves.toMatchObject({ tenant: 'Fabrikam Signatures' });
  });

  it('lands upserts and deletes in the tenant and answers one result per item in input order', async () => {
    const [keep, gone] = [s365User({ displayName: 'Ada Lovelace' }), s365User()];
    fake.tenant('Contoso Signatures').seed(SOURCE, { users: [{ ...gone }] });

    const results = await client().sendUsers(SOURCE, { upserts: [keep], deletes: [gone.id] });

    expect(results).toEqual([
      { id: keep.id, op: 'upsert', ok: true, status: 200 },
      { id: gone.id, op: 'delete', ok: true, status: 200 },
    ]);
    expect(held()).toEqual([keep]);
    expect(fake.tenant('Fabrikam Signatures').users(SOURCE)).toEqual([]);
  });

  it('reads back what it sent through listUsers and listGroups', async () => {
    const users = s365Users(3);
    const group = s365Group({ displayName: 'Sales' });
    const c = client();
    await c.sendUsers(SOURCE, { upserts: users, deletes: [] });
    await c.sendGroups(SOURCE, { upserts: [group], deletes: [] });

    const pages: Signature365User[][] = [];
    for await (const page of c.listUsers(SOURCE)) pages.push(page);
    const groups = [];
    for await (const page of c.listGroups(SOURCE)) groups.push(...page);

    expect(pages.flat()).toEqual(users);
    expect(groups).toEqual([group]);
  });

  it('hands a long listing out in pages of 1,000 records, in the order held', async () => {
    const users = s365Users(2_500);
    fake.tenant('Contoso Signatures').seed(SOURCE, { users: users });

    const pages: Signature365User[][] = [];
    for await (const page of client().listUsers(SOURCE)) pages.push(page);

    expect(pages.map((page) => page.length)).toEqual([1_000, 1_000, 500]);
    expect(pages.flat()).toEqual(users);
    expect(fake.requests.filter((request) => request.method === 'GET')).toHaveLength(1);
  });

  it('refuses a listed record that breaks the contract, naming its place and not its values', async () => {
    const [first, second] = s365Users(2);
    if (first === undefined || second === undefined) throw new Error('builder');
    const { jobTitle: _dropped, ...broken } = second;
    fake.tenant('Contoso Signatures').seed(SOURCE, { users: [first, { ...broken, displayName: 'Secret Name' }] });

    const read = async () => {
      for await (const page of client().listUsers(SOURCE)) void page;
    };
    const error = await read().then(() => undefined, (thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(DestinationRequestError);
    expect(String((error as Error).message)).toMatch(/breaks the directory API contract \(value\.1\.jobTitle: /);
    expect(String((error as Error).message)).not.toContain('Secret Name');
  });

  it('splits more than 100 items into batches of at most 100', async () => {
    const users = s365Users(250);

    const results = await client().sendUsers(SOURCE, { upserts: users, deletes: [] });

    expect(results.every((r) => r.ok)).toBe(true);
    expect(results.map((r) => r.id)).toEqual(users.map((u) => u.id));
    expect(batchRequests().map((r) => r.upserts)).toEqual([100, 100, 50]);
    expect(held()).toHaveLength(250);
  });

  it('splits a payload of more than 1 MiB by size', async () => {
    // ~60 KB of extension attributes per user: 30 users make ~1.8 MiB, far under 100 items.
    const users = s365Users(30, { extensionAttributes: { extensionAttribute1: 'x'.repeat(60_000) } });

    const results = await client().sendUsers(SOURCE, { upserts: users, deletes: [] });

    expect(results.every((r) => r.ok)).toBe(true);
    const sent = batchRequests();
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(sent.every((r) => r.status === 200 && r.bytes <= 1024 * 1024)).toBe(true);
    expect(sent.reduce((sum, r) => sum + r.upserts, 0)).toBe(30);
    expect(held()).toHaveLength(30);
  });

  it('waits at least the Retry-After of a 429 and then succeeds', async () => {
    fake.faults.throttle(1, 1, { path: BATCH_PATH });
    const c = client();
    const started = Date.now();

    const results = await c.sendUsers(SOURCE, { upserts: [s365User()], deletes: [] });

    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(results[0]?.ok).toBe(true);
    expect(c.stats()).toMatchObject({ requests: 2, retries: 1, throttled: 1, retryWaitInMs: 1000 });
    expect(events).toContainEqual(expect.objectContaining({ type: 'retry', status: 429, delayInMs: 1000, delaySource: 'retryAfter' }));
  });

  it('honours Retry-After on a 504 too, which the SDK stock strategy would not', async () => {
    fake.faults.failNext(1, 504, { retryAfter: 1 });
    const started = Date.now();

    await client().testConnection();

    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(events).toContainEqual(expect.objectContaining({ type: 'retry', status: 504, delaySource: 'retryAfter' }));
  });

  it('recovers from a burst of 503s with backoff', async () => {
    fake.faults.failNext(4, 503);
    const c = client();
    const users = s365Users(5);

    const results = await c.sendUsers(SOURCE, { upserts: users, deletes: [] });

    expect(results.every((r) => r.ok)).toBe(true);
    expect(held()).toHaveLength(5);
    expect(c.stats()).toMatchObject({ requests: 5, retries: 4, serverErrors: 4 });
    expect(events.filter((e) => e.type === 'retry').map((e) => e.type === 'retry' && e.delaySource)).toEqual(Array(4).fill('backoff'));
  });

  it('retries 500 and 502 as well', async () => {
    fake.faults.failNext(1, 500);
    fake.faults.failNext(1, 502);
    const c = client();
    await expect(c.testConnection()).resolves.toMatchObject({ tenant: 'Contoso Signatures' });
    expect(c.stats().retries).toBe(2);
  });

  it('gives up after maxRetries with DestinationUnavailableError carrying the last status and Retry-After', async () => {
    fake.faults.failNext(10, 503, { retryAfter: 0 });
    const c = client({ maxRetries: 2 });

    const error = await c.sendUsers(SOURCE, { upserts: [s365User()], deletes: [] }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DestinationUnavailableError);
    expect(error).toMatchObject({ status: 503, retryAfterInMs: 0, attempts: 3, destination: 'Tenant1' });
    expect(fake.requests).toHaveLength(3);
    expect(events).toContainEqual(expect.objectContaining({ type: 'giveUp', reason: 'maxRetries', status: 503 }));
  });

  it('does not wait beyond the retry budget: a long Retry-After fails at once and tells the caller when to come back', async () => {
    fake.faults.throttle(1, 120);
    const c = client({ maxRetryDelayInMs: 10_000 });
    const started = Date.now();

    const error = await c.testConnection().catch((e: unknown) => e);

    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(DestinationUnavailableError);
    expect(error).toMatchObject({ status: 429, retryAfterInMs: 120_000 });
    expect(fake.requests).toHaveLength(1);
    expect(events).toContainEqual(expect.objectContaining({ type: 'giveUp', reason: 'retryBudget' }));
  });

  it('retries an attempt that times out', async () => {
    fake.faults.slow(1, 2_000);
    const c = client({ requestTimeoutInMs: 300 });

    await expect(c.testConnection()).resolves.toMatchObject({ tenant: 'Contoso Signatures' });
    expect(c.stats()).toMatchObject({ timeouts: 1, retries: 1 });
    expect(events).toContainEqual(expect.objectContaining({ type: 'retry', status: null, code: 'ETIMEDOUT' }));
  });

  it('splits a batch answered 413 in half and lands everything', async () => {
    fake.faults.failNext(1, 413, { match: { path: BATCH_PATH } });
    const c = client();
    const users = s365Users(10);

    const results = await c.sendUsers(SOURCE, { upserts: users, deletes: [] });

    expect(results.every((r) => r.ok)).toBe(true);
    expect(batchRequests().map((r) => [r.status, r.upserts])).toEqual([[413, 10], [200, 5], [200, 5]]);
    expect(held()).toHaveLength(10);
    expect(c.stats().splits).toBe(1);
    expect(events).toContainEqual(expect.objectContaining({ type: 'split', items: 10, into: [5, 5] }));
  });

  it('keeps halving until the batches fit a destination that accepts fewer items than the contract says', async () => {
    fake.faults.lowerLimits({ maxItems: 7 });
    const users = s365Users(40);

    const results = await client().sendUsers(SOURCE, { upserts: users, deletes: [] });

    expect(results.map((r) => r.id)).toEqual(users.map((u) => u.id));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(batchRequests().filter((r) => r.status === 200).every((r) => r.upserts <= 7)).toBe(true);
    expect(held()).toHaveLength(40);
  });

  it('reports a single item that is still too large alone as a failed item while the rest land', async () => {
    fake.faults.lowerLimits({ maxBytes: 20_000 });
    const big = s365User({ extensionAttributes: { extensionAttribute1: 'x'.repeat(30_000) } });
    const [a, b, c] = [s365User(), s365User(), s365User()];

    const results = await client().sendUsers(SOURCE, { upserts: [a, big, b, c], deletes: [] });

    expect(results.map((r) => [r.id, r.ok, r.status])).toEqual([
      [a.id, true, 200], [big.id, false, 413], [b.id, true, 200], [c.id, true, 200],
    ]);
    expect(held().map((u) => u.id).sort()).toEqual([a.id, b.id, c.id].sort());
    expect(events).toContainEqual(expect.objectContaining({ type: 'itemTooLarge', id: big.id }));
  });

  it('returns an item the destination rejects as failed, without throwing, while the rest land', async () => {
    const [a, rejected, c] = [s365User(), s365User(), s365User()];
    fake.faults.rejectItem(rejected.id, 'mail is not a valid address');

    const results = await client().sendUsers(SOURCE, { upserts: [a, rejected, c], deletes: [] });

    expect(results[1]).toEqual({ id: rejected.id, op: 'upsert', ok: false, status: 400, error: 'mail is not a valid address' });
    expect(results.filter((r) => r.ok)).toHaveLength(2);
    expect(held().map((u) => u.id).sort()).toEqual([a.id, c.id].sort());
  });

  it('counts deleting an id the destination does not hold as done', async () => {
    const results = await client().sendUsers(SOURCE, { upserts: [], deletes: ['99999999-0000-4000-8000-000000000000'] });

    expect(results).toEqual([{ id: '99999999-0000-4000-8000-000000000000', op: 'delete', ok: true, status: 404 }]);
  });

  it('returns a lone item refused with a whole-request 400 as that item\'s failure, without retrying it', async () => {
    const { mailboxType: _omitted, ...incomplete } = s365User();

    const results = await client().sendUsers(SOURCE, { upserts: [incomplete as Signature365User], deletes: [] });

    expect(results).toEqual([expect.objectContaining({ id: incomplete.id, ok: false, status: 400, error: expect.stringContaining('mailboxType is missing') })]);
    expect(fake.requests).toHaveLength(1);
    expect(events).toContainEqual(expect.objectContaining({ type: 'itemRejected', id: incomplete.id }));
  });

  it('splits a batch refused as a whole with 400 down to the one bad record; the other 99 land', async () => {
    const users = s365Users(100);
    const bad = users[37]?.id ?? '';
    fake.faults.rejectBatchWith(bad, 'upserts[37].mail is not a mailbox');
    const c = client();

    const results = await c.sendUsers(SOURCE, { upserts: users, deletes: [] });

    expect(results.filter((r) => !r.ok)).toEqual([expect.objectContaining({ id: bad, status: 400, error: expect.stringContaining('is not a mailbox') })]);
    expect(held().map((u) => u.id).sort()).toEqual(users.map((u) => u.id).filter((id) => id !== bad).sort());
    // Halving finds one record in at most 2·ceil(log2 100) + 1 = 15 requests (here 13), never one request per item.
    expect(batchRequests().length).toBeLessThanOrEqual(15);
    expect(batchRequests()).toHaveLength(1 + 2 * c.stats().rejectionSplits);
    expect(events).toContainEqual(expect.objectContaining({ type: 'split', status: 400, items: 100, into: [50, 50] }));
  });

  it('finds two bad records in one batch, and keeps the answers in input order', async () => {
    const users = s365Users(20);
    const [first, second] = [users[3]?.id ?? '', users[16]?.id ?? ''];
    fake.faults.rejectBatchWith(first);
    fake.faults.rejectBatchWith(second);

    const results = await client().sendUsers(SOURCE, { upserts: users, deletes: [] });

    expect(results.map((r) => r.id)).toEqual(users.map((u) => u.id));
    expect(results.filter((r) => !r.ok).map((r) => r.id)).toEqual([first, second]);
    expect(held()).toHaveLength(18);
  });

  it('still throws DestinationRequestError for a 404 or 422: resending the same request cannot help', async () => {
    fake.faults.failNext(1, 404, { match: { path: BATCH_PATH } });
    const notFound = await client().sendUsers(SOURCE, { upserts: s365Users(3), deletes: [] }).catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(DestinationRequestError);
    expect(notFound).toMatchObject({ status: 404, serverError: 'Injected fault: 404' });
    fake.faults.failNext(1, 422, { match: { path: BATCH_PATH } });
    await expect(client().sendUsers(SOURCE, { upserts: s365Users(3), deletes: [] })).rejects.toMatchObject({ name: 'DestinationRequestError', status: 422 });
    expect(batchRequests()).toHaveLength(2);
  });

  it('throws DestinationAuthError for an unknown token, without retrying and without the token anywhere', async () => {
    const badToken = 'idscl_RevokedToken_must_never_be_printed_42';
    const c = client({}, { token: badToken });

    const error = await c.sendUsers(SOURCE, { upserts: [s365User()], deletes: [] }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DestinationAuthError);
    // The engine recognises it by name (src/sync/processUpload.ts), so the name is part of the API.
    expect(error).toMatchObject({ name: 'DestinationAuthError', status: 401, destination: 'Tenant1' });
    expect(fake.requests).toHaveLength(1);
    const auth = error as DestinationAuthError;
    for (const text of [String(auth), JSON.stringify(auth), auth.stack ?? '', inspect(auth), auth.message,
      JSON.stringify(c.stats()), JSON.stringify(c), String(c), inspect(c, { depth: 5 }), JSON.stringify(events)]) {
      expect(text).not.toContain(badToken);
      expect(text).not.toContain('RevokedToken');
    }
    expect(auth.message).toContain('Signature365.Tenant1.Token');
  });

  it('treats an injected 403 as an auth error too', async () => {
    fake.faults.failNext(1, 403);
    await expect(client().testConnection()).rejects.toBeInstanceOf(DestinationAuthError);
    expect(fake.requests).toHaveLength(1);
  });

  it('keeps the token out of a network error', async () => {
    const closed = await startFakeSignature365({ tenants: [] });
    const endpoint = closed.endpoint;
    await closed.close();
    const c = client({ maxRetries: 1 }, { endpoint });

    const error = await c.testConnection().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DestinationUnavailableError);
    expect(error).toMatchObject({ status: undefined, attempts: 2 });
    const unavailable = error as DestinationUnavailableError;
    for (const text of [String(unavailable), JSON.stringify(unavailable), unavailable.stack ?? '', inspect(unavailable, { depth: 5 })]) {
      expect(text).not.toContain(TOKEN);
    }
  });

  it('sends batches concurrently when asked, and still answers in input order', async () => {
    fake.faults.slow(3, 400, { path: BATCH_PATH });
    const users = s365Users(300);

    const results = await client({ concurrency: 3 }).sendUsers(SOURCE, { upserts: users, deletes: [] });

    expect(results.map((r) => r.id)).toEqual(users.map((u) => u.id));
    const [first, ...others] = batchRequests();
    expect(first).toBeDefined();
    const firstEnded = Date.parse(first?.startedAt ?? '') + (first?.durationInMs ?? 0);
    expect(others.filter((r) => Date.parse(r.startedAt) < firstEnded)).toHaveLength(2);
  });

  it('stops at the caller\'s abort signal instead of waiting out a retry', async () => {
    fake.faults.throttle(1, 30);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const started = Date.now();

    await expect(client({ maxRetryDelayInMs: 60_000 }).testConnection({ abortSignal: controller.signal }))
      .rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('refuses a plain-http endpoint that is not loopback, since the token travels with every request', () => {
    expect(() => client({}, { endpoint: 'http://app.signature365.example' })).toThrow(/Signature365\.Tenant1\.Endpoint must be an https/);
  });
});
