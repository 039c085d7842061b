import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FAKE_TLS_DIR, FakeTenant, startFakeGraph, type ChangeEntry, type FakeGraph, type FakeGraphOptions } from '../../fakes/graph';
import type { ChangeNotification, GraphSubscription } from '../../fakes/graph/subscriptions';

// The fake Graph's change-notification subscriptions, checked against a real local webhook receiver.
const SECRET = 'fake-secret';
const VALIDATION_FAILED = 'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.';

// ---- a webhook receiver on 127.0.0.1 -----------------------------------------------------------------

interface ReceivedRequest {
  method: string;
  /** Path and raw query, as sent. */
  rawUrl: string;
  path: string;
  query: URLSearchParams;
  contentType: string | undefined;
  body: string;
}

type Responder = (request: ReceivedRequest, res: ServerResponse) => void;

interface Receiver {
  /** http(s)://127.0.0.1:<port> */
  origin: string;
  requests: ReceivedRequest[];
  /** How validation requests (?validationToken=) are answered; default: the token, 200, text/plain. */
  onValidation: Responder;
  /** How everything else is answered; default 202. */
  onNotification: Responder;
  /** Notification POSTs (not validations) to `path`, bodies parsed. */
  notifications(path?: string): { value: Record<string, unknown>[] }[];
  close(): Promise<void>;
}

const echoToken: Responder = (request, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end(request.query.get('validationToken') ?? '');
};
const accept: Responder = (_request, res) => {
  res.writeHead(202);
  res.end();
};

async function startReceiver(options: { https?: boolean } = {}): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawUrl = req.url ?? '/';
      const parsed = new URL(rawUrl, 'http://receiver');
      const request: ReceivedRequest = {
        method: req.method ?? '',
        rawUrl,
        path: parsed.pathname,
        query: parsed.searchParams,
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      (request.query.has('validationToken') ? receiver.onValidation : receiver.onNotification)(request, res);
    });
  };
  const server: Server = options.https
    ? createHttpsServer({ cert: readFileSync(join(FAKE_TLS_DIR, 'server.pem')), key: readFileSync(join(FAKE_TLS_DIR, 'server.key')) }, handler)
    : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const receiver: Receiver = {
    origin: `${options.https ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    onValidation: echoToken,
    onNotification: accept,
    notifications: (path) =>
      requests
        .filter((r) => !r.query.has('validationToken') && (path === undefined || r.path === path))
        .map((r) => JSON.parse(r.body) as { value: Record<string, unknown>[] }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return receiver;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createHttpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// ---- the fake Graph, over HTTPS with a bearer token --------------------------------------------------

const cleanups: (() => Promise<void>)[] = [];
/** Graphs a test closed itself (a second close() would fail). */
const closedGraphs = new WeakSet<FakeGraph>();
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: FakeGraphOptions = {}, receiverOptions: { https?: boolean } = {}): Promise<{ graph: FakeGraph; tenant: FakeTenant; receiver: Receiver }> {
  const tenant = options.tenant ?? new FakeTenant();
  const receiver = await startReceiver(receiverOptions);
  cleanups.push(() => receiver.close());
  const graph = await startFakeGraph({ clientSecret: SECRET, ...options, tenant, notifications: { batchWindowMs: 50, retryBackoffMs: 50, ...options.notifications } });
  cleanups.push(async () => {
    if (!closedGraphs.has(graph)) await graph.close();
  });
  return { graph, tenant, receiver };
}

const accessTokens = new WeakMap<FakeGraph, string>();
async function token(graph: FakeGraph): Promise<string> {
  const cached = accessTokens.get(graph);
  if (cached) return cached;
  const response = await fetch(`${graph.authorityHost}/${graph.tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: graph.clientId, client_secret: SECRET, scope: `${graph.graphEndpoint}/.default` }),
  });
  const accessToken = ((await response.json()) as { access_token: string }).access_token;
  accessTokens.set(graph, accessToken);
  return accessToken;
}

interface GraphJson {
  error?: { code: string; message: string };
  value?: GraphSubscription[];
  [property: string]: unknown;
}

async function call(graph: FakeGraph, method: string, path: string, body?: unknown, options: { auth?: boolean } = {}): Promise<{ status: number; json: GraphJson; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (options.auth !== false) headers.Authorization = `Bearer ${await token(graph)}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${graph.graphEndpoint}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as GraphJson) : {}, headers: response.headers };
}

function inMinutes(minutes: number): string {
  return new Date(Date.now() + minutes * 60_000).toISOString();
}

function subscriptionBody(receiver: Receiver, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    changeType: 'updated,deleted',
    notificationUrl: `${receiver.origin}/notify?code=func-key`,
    resource: 'users',
    expirationDateTime: inMinutes(60),
    clientState: 'client-state-secret',
    ...overrides,
  };
}

async function subscribe(graph: FakeGraph, receiver: Receiver, overrides: Record<string, unknown> = {}): Promise<GraphSubscription> {
  const created = await call(graph, 'POST', '/v1.0/subscriptions', subscriptionBody(receiver, overrides));
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  return created.json as unknown as GraphSubscription;
}

async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- tests -----------------------------------------------------------------------------------------

describe('FakeTenant.onChange', () => {
  it('tells listeners about every change after logging it; a throwing listener breaks nothing', () => {
    const tenant = new FakeTenant();
    const seen: ChangeEntry[] = [];
    tenant.onChange(() => {
      throw new Error('listener bug');
    });
    const unsubscribe = tenant.onChange((entry) => seen.push(entry));

    const user = tenant.addUser();
    tenant.updateUser(user.id, { jobTitle: 'Lead' });
    unsubscribe();
    tenant.hardDeleteUser(user.id);

    expect(seen.map((entry) => entry.seq)).toEqual([1, 2]);
    expect(seen[1]).toMatchObject({ type: 'user', id: user.id, op: 'updated', properties: ['jobTitle'] });
    expect(tenant.sequence).toBe(3);
  });
});

describe('fake Graph subscriptions: create and validation handshake', () => {
  it('validates the notificationUrl with a POST echoing an encoded token, then answers 201 with the subscription', async () => {
    const { graph, receiver } = await setup();

    const created = await call(graph, 'POST', '/v1.0/subscriptions', subscriptionBody(receiver));

    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      '@odata.context': `${graph.graphEndpoint}/v1.0/$metadata#subscriptions/$entity`,
      resource: 'users',
      applicationId: graph.clientId,
      changeType: 'updated,deleted',
      clientState: 'client-state-secret',
      notificationUrl: `${receiver.origin}/notify?code=func-key`,
      lifecycleNotificationUrl: null,
      latestSupportedTlsVersion: 'v1_2',
      includeResourceData: false,
      encryptionCertificate: null,
      encryptionCertificateId: null,
      notificationQueryOptions: null,
      notificationUrlAppId: null,
    });
    expect(created.json.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.json.creatorId).toMatch(/^[0-9a-f-]{36}$/);

    const [validation] = receiver.requests;
    expect(receiver.requests).toHaveLength(1);
    expect(validation?.method).toBe('POST');
    expect(validation?.path).toBe('/notify');
    expect(validation?.contentType).toBe('text/plain; charset=utf-8');
    expect(validation?.body).toBe('');
    // The subscriber's own query stays first; the token is form-encoded (spaces as +) like Graph's.
    expect(validation?.rawUrl).toMatch(/^\/notify\?code=func-key&validationToken=Validation%3a\+Testing\+client/);
    expect(validation?.query.get('code')).toBe('func-key');
    expect(validation?.query.get('validationToken')).toMatch(/^Validation: Testing client application reachability for subscription Request-Id: [0-9a-f-]{36}$/);
    expect(graph.subscriptions.handshakes).toEqual([{ url: `${receiver.origin}/notify`, property: 'notificationUrl', status: 200, ok: true, ms: expect.any(Number) }]);

    const listed = await call(graph, 'GET', '/v1.0/subscriptions');
    expect(listed.json['@odata.context']).toBe(`${graph.graphEndpoint}/v1.0/$metadata#subscriptions`);
    expect(listed.json.value?.map((s) => s.id)).toEqual([created.json.id]);
    const single = await call(graph, 'GET', `/v1.0/subscriptions/${String(created.json.id)}`);
    expect(single.status).toBe(200);
    expect(single.json.expirationDateTime).toBe(created.json.expirationDateTime);
    expect(graph.requests.filter((r) => r.target === 'subscriptions')).toHaveLength(3);
  });

  const failures: [string, Responder][] = [
    ['a body other than the token', (_request, res) => { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('hello'); }],
    ['the token with a trailing newline', (request, res) => { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end(`${request.query.get('validationToken') ?? ''}\n`); }],
    ['202 instead of 200', (request, res) => { res.writeHead(202, { 'Content-Type': 'text/plain' }); res.end(request.query.get('validationToken') ?? ''); }],
    ['a JSON content type', (request, res) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end(request.query.get('validationToken') ?? ''); }],
    ['an answer slower than validationTimeoutMs', (request, res) => { setTimeout(() => echoToken(request, res), 400); }],
  ];
  it.each(failures)('fails the subscription with 400 when the endpoint answers %s', async (_name, responder) => {
    const { graph, receiver } = await setup({ notifications: { validationTimeoutMs: 150 } });
    receiver.onValidation = responder;

    const created = await call(graph, 'POST', '/v1.0/subscriptions', subscriptionBody(receiver));

    expect(created.status).toBe(400);
    expect(created.json.error).toMatchObject({ code: 'InvalidRequest', message: VALIDATION_FAILED });
    expect(graph.subscriptions.handshakes).toEqual([expect.objectContaining({ ok: false, problem: expect.any(String) })]);
    expect(graph.subscriptions.list()).toEqual([]);
  });

  it('fails when nothing listens on the notificationUrl, and validates the lifecycleNotificationUrl too', async () => {
    const { graph, receiver } = await setup();
    const deadUrl = `http://127.0.0.1:${await closedPort()}/notify`;

    const dead = await call(graph, 'POST', '/v1.0/subscriptions', subscriptionBody(receiver, { notificationUrl: deadUrl }));
    const deadLifecycle = await call(graph, 'POST', '/v1.0/subscriptions', subscriptionBody(receiver, { lifecycleNotificationUrl: deadUrl }));
    const both = await call(graph, 'POST', '/v1.0/subscriptions', subscriptionBody(receiver, { lifecycleNotificationUrl: `${receiver.origin}/lifecycle` }));

    expect([dead.status, deadLifecycle.status, both.status]).toEqual([400, 400, 201]);
    expect(deadLifecycle.json.error?.message).toBe(VALIDATION_FAILED);
    expect(graph.subscriptions.handshakes.map((h) => [h.property, h.ok, h.status])).toEqual([
      ['notificationUrl', false, undefined],
      ['notificationUrl', true, 200],
      ['lifecycleNotificationUrl', false, undefined],
      ['notificationUrl', true, 200],
      ['lifecycleNotificationUrl', true, 200],
    ]);
    expect(both.json.lifecycleNotificationUrl).toBe(`${receiver.origin}/lifecycle`);
  });

  it('accepts an https notificationUrl whose certificate the test CA signed', async () => {
    const { graph, tenant, receiver } = await setup({}, { https: true });

    await subscribe(graph, receiver);
    tenant.addUser();
    await graph.subscriptions.flush();

    expect(receiver.notifications('/notify')).toHaveLength(1);
  });
});

describe('fake Graph subscriptions: request rules', () => {
  const rejected: [string, (receiver: Receiver) => Record<string, unknown>, string | RegExp][] = [
    ['a resource other than users or groups', () => ({ resource: 'me/messages' }), /Resource 'me\/messages' is not supported/],
    ['a single user as resource', () => ({ resource: 'users/0f1e' }), /not supported/],
    ['changeType created', () => ({ changeType: 'created,updated' }), /'created' is not supported/],
    ['an unknown changeType', () => ({ changeType: 'updated,renamed' }), "Invalid 'changeType' attribute: 'renamed'."],
    ['http to a host that is not loopback', () => ({ notificationUrl: 'http://example.com/notify' }), 'Subscription validation request failed. NotificationUrl must be https.'],
    ['a relative notificationUrl', () => ({ notificationUrl: '/notify' }), /absolute URL/],
    ['http lifecycleNotificationUrl off loopback', () => ({ lifecycleNotificationUrl: 'http://10.0.0.1/lifecycle' }), /LifecycleNotificationUrl must be https/],
    ['an expiration in the past', () => ({ expirationDateTime: inMinutes(-1) }), /in the future/],
    ['an expiration beyond 41760 minutes', () => ({ expirationDateTime: inMinutes(41_761) }), /41760 minutes/],
    ['an expiration that is not a date', () => ({ expirationDateTime: 'tomorrow' }), /ISO 8601/],
    ['a clientState over 128 characters', () => ({ clientState: 'x'.repeat(129) }), /128 characters/],
    ['no expirationDateTime', () => ({ expirationDateTime: undefined }), 'expirationDateTime is a required property for subscription creation.'],
  ];
  it.each(rejected)('rejects %s with 400 before any handshake', async (_name, overrides, message) => {
    const { graph, receiver } = await setup();

    const created = await call(graph, 'POST', '/v1.0/subscriptions', subscriptionBody(receiver, overrides(receiver)));

    expect(created.status).toBe(400);
    expect(created.json.error?.message).toMatch(message);
    expect(receiver.requests).toEqual([]);
    expect(graph.subscriptions.handshakes).toEqual([]);
  });

  it('accepts resource spellings, the edge of the lifetime and a 128-character clientState; rejects bad JSON', async () => {
    const { graph, receiver } = await setup();

    const users = await call(graph, 'POST', '/v1.0/subscriptions', subscriptionBody(receiver, { resource: '/Users', changeType: 'updated', expirationDateTime: inMinutes(41_759), clientState: 'x'.repeat(128) }));
    const groups = await call(graph, 'POST', '/v1.0/subscriptions', subscriptionBody(receiver, { resource: 'GROUPS', changeType: 'deleted', clientState: undefined }));
    const broken = await call(graph, 'POST', '/v1.0/subscriptions', '{"resource": "users",');

    expect([users.status, groups.status, broken.status]).toEqual([201, 201, 400]);
    expect(users.json.resource).toBe('/Users');
    expect(groups.json.clientState).toBeNull();
  });

  it('answers 403 ExtensionError when the app lacks a role that allows the resource', async () => {
    const { graph, receiver } = await setup({ permissions: ['User.Read.All', 'GroupMember.Read.All'] });

    const groups = await call(graph, 'POST', '/v1.0/subscriptions', subscriptionBody(receiver, { resource: 'groups' }));
    const users = await call(graph, 'POST', '/v1.0/subscriptions', subscriptionBody(receiver, { resource: 'users' }));
    graph.subscriptions.setPermissions(['GroupMember.Read.All']);
    const usersWithoutRole = await call(graph, 'POST', '/v1.0/subscriptions', subscriptionBody(receiver, { resource: 'users' }));
    graph.subscriptions.setPermissions(['Directory.Read.All']);
    const groupsWithDirectory = await call(graph, 'POST', '/v1.0/subscriptions', subscriptionBody(receiver, { resource: 'groups' }));

    expect([groups.status, users.status, usersWithoutRole.status, groupsWithDirectory.status]).toEqual([403, 201, 403, 201]);
    expect(groups.json.error).toEqual({
      code: 'ExtensionError',
      message: 'Operation: Create; Exception: [Status Code: Forbidden; Reason: Insufficient privileges to complete the operation.]',
      innerError: expect.any(Object),
    });
  });

  it('needs a bearer token, and takes queued faults aimed at subscriptions', async () => {
    const { graph } = await setup();

    const anonymous = await call(graph, 'GET', '/v1.0/subscriptions', undefined, { auth: false });
    graph.faults.add({ status: 500 }); // aimed at delta requests: not taken here
    graph.faults.add({ target: 'subscriptions', status: 503, retryAfterSeconds: 2 });
    const throttled = await call(graph, 'GET', '/v1.0/subscriptions');
    const afterwards = await call(graph, 'GET', '/v1.0/subscriptions');

    expect(anonymous.status).toBe(401);
    expect(throttled.status).toBe(503);
    expect(throttled.headers.get('retry-after')).toBe('2');
    expect(afterwards.status).toBe(200);
    expect(graph.faults.pending).toBe(1);
  });

  it('answers 404 ResourceNotFound for an unknown id on every route', async () => {
    const { graph } = await setup();
    const id = '00000000-0000-4000-8000-000000000000';

    const answers = [
      await call(graph, 'GET', `/v1.0/subscriptions/${id}`),
      await call(graph, 'PATCH', `/v1.0/subscriptions/${id}`, { expirationDateTime: inMinutes(10) }),
      await call(graph, 'DELETE', `/v1.0/subscriptions/${id}`),
      await call(graph, 'POST', `/v1.0/subscriptions/${id}/reauthorize`),
    ];

    for (const answer of answers) {
      expect(answer.status).toBe(404);
      expect(answer.json.error).toMatchObject({ code: 'ResourceNotFound', message: 'The object was not found.' });
    }
  });
});

describe('fake Graph subscriptions: renew, reauthorize, delete, expiry', () => {
  it('renews with PATCH, validates a new notificationUrl, and keeps the old state when a PATCH fails', async () => {
    const { graph, tenant, receiver } = await setup();
    const subscription = await subscribe(graph, receiver);
    const path = `/v1.0/subscriptions/${subscription.id}`;

    const renewed = await call(graph, 'PATCH', path, { expirationDateTime: inMinutes(41_000) });
    const tooFar = await call(graph, 'PATCH', path, { expirationDateTime: inMinutes(50_000) });
    receiver.onValidation = (_request, res) => { res.writeHead(500); res.end(); };
    const badMove = await call(graph, 'PATCH', path, { notificationUrl: `${receiver.origin}/broken` });
    receiver.onValidation = echoToken;
    const moved = await call(graph, 'PATCH', path, { notificationUrl: `${receiver.origin}/moved` });
    tenant.addUser();
    await graph.subscriptions.flush();

    expect(renewed.status).toBe(200);
    expect(Date.parse(String(renewed.json.expirationDateTime))).toBeGreaterThan(Date.parse(subscription.expirationDateTime));
    expect(tooFar.status).toBe(400);
    expect(tooFar.json.error?.message).toMatch(/41760 minutes/);
    expect(badMove.status).toBe(400);
    expect(moved.status).toBe(200);
    expect(moved.json.notificationUrl).toBe(`${receiver.origin}/moved`);
    expect(moved.json.expirationDateTime).toBe(renewed.json.expirationDateTime);
    expect(graph.subscriptions.handshakes.map((h) => [h.url.replace(receiver.origin, ''), h.ok])).toEqual([['/notify', true], ['/broken', false], ['/moved', true]]);
    expect(receiver.notifications('/notify')).toEqual([]);
    expect(receiver.notifications('/moved')).toHaveLength(1);
  });

  it('reauthorizes with 204, deletes with 204, and a deleted subscription gets nothing', async () => {
    const { graph, tenant, receiver } = await setup();
    const subscription = await subscribe(graph, receiver);
    const path = `/v1.0/subscriptions/${subscription.id}`;

    const reauthorized = await call(graph, 'POST', `${path}/reauthorize`);
    tenant.addUser(); // queued before the delete, not sent after it
    const deleted = await call(graph, 'DELETE', path);
    const deletedAgain = await call(graph, 'DELETE', path);
    const read = await call(graph, 'GET', path);
    tenant.addUser();
    await graph.subscriptions.flush();

    expect([reauthorized.status, deleted.status, deletedAgain.status, read.status]).toEqual([204, 204, 404, 404]);
    expect(graph.subscriptions.reauthorizations).toEqual([subscription.id]);
    expect(graph.subscriptions.list()).toEqual([]);
    expect(graph.subscriptions.deliveries).toEqual([]);
    expect(receiver.notifications()).toEqual([]);
  });

  it('forgets a subscription past its expirationDateTime, whether it ran out or expire() was called', async () => {
    const { graph, tenant, receiver } = await setup();
    const shortLived = await subscribe(graph, receiver, { expirationDateTime: new Date(Date.now() + 800).toISOString() });
    const other = await subscribe(graph, receiver);

    expect(graph.subscriptions.expire(other.id)).toBe(true);
    expect((await call(graph, 'GET', `/v1.0/subscriptions/${other.id}`)).status).toBe(404);
    expect(graph.subscriptions.get(shortLived.id)).toBeDefined();
    await sleep(850);
    const renew = await call(graph, 'PATCH', `/v1.0/subscriptions/${shortLived.id}`, { expirationDateTime: inMinutes(60) });
    const listed = await call(graph, 'GET', '/v1.0/subscriptions');
    tenant.addUser();
    await graph.subscriptions.flush();

    expect(renew.status).toBe(404);
    expect(listed.json.value).toEqual([]);
    expect(receiver.notifications()).toEqual([]);
  });
});

describe('fake Graph subscriptions: delivery', () => {
  it('batches the changes of one window into one POST; creations arrive as updated, hard deletes as deleted', async () => {
    const { graph, tenant, receiver } = await setup({ notifications: { batchWindowMs: 100 } });
    const users = await subscribe(graph, receiver);
    const groups = await subscribe(graph, receiver, { resource: 'groups', changeType: 'updated', clientState: 'groups-state' });

    const user = tenant.addUser();
    tenant.updateUser(user.id, { jobTitle: 'Lead' });
    const group = tenant.addGroup();
    tenant.addMember(group.id, user.id);
    tenant.hardDeleteUser(user.id); // removes the membership (group updated), then the user (deleted)
    await waitFor(() => receiver.notifications().length > 0);
    await graph.subscriptions.flush();

    const posts = receiver.notifications('/notify');
    expect(posts).toHaveLength(1);
    const value = posts[0]?.value as unknown as ChangeNotification[];
    expect(value.map((n) => [n.changeType, n.resource])).toEqual([
      ['updated', `Users/${user.id}`],
      ['updated', `Users/${user.id}`],
      ['updated', `Groups/${group.id}`],
      ['updated', `Groups/${group.id}`],
      ['updated', `Groups/${group.id}`],
      ['deleted', `Users/${user.id}`],
    ]);
    expect(value[0]).toEqual({
      subscriptionId: users.id,
      subscriptionExpirationDateTime: users.expirationDateTime,
      changeType: 'updated',
      resource: `Users/${user.id}`,
      resourceData: { '@odata.type': '#Microsoft.Graph.User', '@odata.id': `Users/${user.id}`, id: user.id, organizationId: graph.tenantId },
      clientState: 'client-state-secret',
      tenantId: graph.tenantId,
    });
    expect(value[2]).toMatchObject({ subscriptionId: groups.id, clientState: 'groups-state', resourceData: { '@odata.type': '#Microsoft.Graph.Group', id: group.id } });
    expect(receiver.requests.at(-1)?.contentType).toMatch(/^application\/json/);

    const [delivery] = graph.subscriptions.deliveries;
    expect(graph.subscriptions.deliveries).toHaveLength(1);
    expect(delivery).toMatchObject({ subscriptionIds: [users.id, groups.id], url: `${receiver.origin}/notify`, attempt: 1, status: 202, delivered: true });
    expect(delivery?.items.map((item) => item.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    // Latency from the tenant change to the POST is the batch window (timers may fire a millisecond early).
    for (const item of delivery?.items ?? []) expect((delivery?.sentAt ?? 0) - item.queuedAt).toBeGreaterThanOrEqual(95);
  });

  it('sends only the change types a subscription asked for, at most maxBatch per POST', async () => {
    const { graph, tenant, receiver } = await setup({ notifications: { maxBatch: 2 } });
    await subscribe(graph, receiver, { changeType: 'deleted', notificationUrl: `${receiver.origin}/deletions` });
    await subscribe(graph, receiver, { changeType: 'updated', notificationUrl: `${receiver.origin}/updates` });

    const ids = Array.from({ length: 5 }, () => tenant.addUser().id);
    const first = ids[0] ?? '';
    tenant.hardDeleteUser(first);
    await graph.subscriptions.flush();

    expect(receiver.notifications('/updates').map((post) => post.value.length)).toEqual([2, 2, 1]);
    expect(receiver.notifications('/deletions').map((post) => post.value.map((n) => n.changeType))).toEqual([['deleted']]);
  });

  it('retries a failed POST after the backoff and records both attempts', async () => {
    const { graph, tenant, receiver } = await setup({ notifications: { retryBackoffMs: 100 } });
    await subscribe(graph, receiver);
    let answered = 0;
    receiver.onNotification = (_request, res) => {
      answered += 1;
      res.writeHead(answered === 1 ? 500 : 202);
      res.end();
    };

    tenant.addUser();
    await waitFor(() => graph.subscriptions.deliveries.length > 0);
    await graph.subscriptions.flush();

    const [first, second] = graph.subscriptions.deliveries;
    expect(graph.subscriptions.deliveries.map((d) => [d.attempt, d.status, d.delivered])).toEqual([[1, 500, false], [2, 202, true]]);
    expect((second?.sentAt ?? 0) - (first?.answeredAt ?? 0)).toBeGreaterThanOrEqual(95);
    const bodies = receiver.requests.filter((r) => !r.query.has('validationToken')).map((r) => r.body);
    expect(bodies).toHaveLength(2);
    expect(bodies[1]).toBe(bodies[0]);
  });

  it('drops a POST after `attempts` failures, with doubling backoff', async () => {
    const { graph, tenant, receiver } = await setup({ notifications: { attempts: 3, retryBackoffMs: 60 } });
    await subscribe(graph, receiver);
    receiver.onNotification = (_request, res) => { res.writeHead(503); res.end(); };

    tenant.addUser();
    await waitFor(() => graph.subscriptions.deliveries.length > 0);
    await graph.subscriptions.flush();
    await sleep(100);

    const attempts = graph.subscriptions.deliveries;
    expect(attempts.map((d) => [d.attempt, d.status, d.delivered])).toEqual([[1, 503, false], [2, 503, false], [3, 503, false]]);
    const gaps = [1, 2].map((i) => (attempts[i]?.sentAt ?? 0) - (attempts[i - 1]?.answeredAt ?? 0));
    expect(gaps[0]).toBeGreaterThanOrEqual(55);
    expect(gaps[1]).toBeGreaterThanOrEqual(115);
    expect(receiver.notifications()).toHaveLength(3);
  });

  it('counts an answer slower than responseTimeoutMs as a failure', async () => {
    const { graph, tenant, receiver } = await setup({ notifications: { attempts: 2, responseTimeoutMs: 150 } });
    await subscribe(graph, receiver);
    receiver.onNotification = () => undefined; // never answers

    tenant.addUser();
    await graph.subscriptions.flush();

    expect(graph.subscriptions.deliveries.map((d) => [d.attempt, d.status, d.delivered])).toEqual([[1, undefined, false], [2, undefined, false]]);
    expect(graph.subscriptions.deliveries[0]?.error).toMatch(/no answer within 150 ms/);
  });

  it('holds changes while delivery is paused and sends them after resume', async () => {
    const { graph, tenant, receiver } = await setup();
    await subscribe(graph, receiver);

    graph.subscriptions.pauseDelivery();
    tenant.addUser();
    tenant.addUser();
    await sleep(150);
    const whilePaused = receiver.notifications().length;
    graph.subscriptions.resumeDelivery();
    await waitFor(() => receiver.notifications().length > 0);

    expect(whilePaused).toBe(0);
    expect(receiver.notifications().map((post) => post.value.length)).toEqual([2]);
  });

  it('close() aborts a delivery under way and leaves nothing running', async () => {
    // Without close() cutting them short, the 10 s answer timeout and the 5 s backoff would hold the test.
    const { graph, tenant, receiver } = await setup({ notifications: { batchWindowMs: 10, retryBackoffMs: 5000 } });
    await subscribe(graph, receiver);
    receiver.onNotification = () => undefined; // never answers

    tenant.addUser();
    await waitFor(() => graph.subscriptions.deliveries.length > 0);
    const started = Date.now();
    closedGraphs.add(graph);
    await graph.close();
    tenant.addUser();
    await sleep(50);

    expect(Date.now() - started).toBeLessThan(1000);
    expect(graph.subscriptions.deliveries).toHaveLength(1);
    expect(graph.subscriptions.deliveries[0]).toMatchObject({ delivered: false, status: undefined });
  });
});

describe('fake Graph subscriptions: lifecycle notifications', () => {
  it('posts lifecycle events to the lifecycleNotificationUrl; subscriptionRemoved removes the subscription first', async () => {
    const { graph, receiver } = await setup();
    const subscription = await subscribe(graph, receiver, { lifecycleNotificationUrl: `${receiver.origin}/lifecycle?code=k` });
    const withoutLifecycle = await subscribe(graph, receiver);

    const reauthorization = await graph.subscriptions.sendLifecycle(subscription.id, 'reauthorizationRequired');
    const missed = await graph.subscriptions.sendLifecycle(subscription.id, 'missed');
    const removed = await graph.subscriptions.sendLifecycle(subscription.id, 'subscriptionRemoved');

    expect([reauthorization.status, missed.status, removed.status]).toEqual([202, 202, 202]);
    const events = receiver.notifications('/lifecycle').map((post) => post.value);
    expect(events.map((value) => value.map((item) => item.lifecycleEvent))).toEqual([['reauthorizationRequired'], ['missed'], ['subscriptionRemoved']]);
    expect(events[0]?.[0]).toEqual({
      subscriptionId: subscription.id,
      subscriptionExpirationDateTime: subscription.expirationDateTime,
      tenantId: graph.tenantId,
      clientState: 'client-state-secret',
      lifecycleEvent: 'reauthorizationRequired',
      resource: 'users',
      organizationId: graph.tenantId,
    });
    expect((await call(graph, 'GET', `/v1.0/subscriptions/${subscription.id}`)).status).toBe(404);
    expect(graph.subscriptions.lifecycleNotifications.map((r) => [r.lifecycleEvent, r.status, r.url])).toEqual([
      ['reauthorizationRequired', 202, `${receiver.origin}/lifecycle`],
      ['missed', 202, `${receiver.origin}/lifecycle`],
      ['subscriptionRemoved', 202, `${receiver.origin}/lifecycle`],
    ]);
    await expect(graph.subscriptions.sendLifecycle(withoutLifecycle.id, 'missed')).rejects.toThrow(/no lifecycleNotificationUrl/);
  });

  it('remove() drops a subscription silently', async () => {
    const { graph, receiver } = await setup();
    const subscription = await subscribe(graph, receiver, { lifecycleNotificationUrl: `${receiver.origin}/lifecycle` });

    expect(graph.subscriptions.remove(subscription.id)).toBe(true);

    expect(graph.subscriptions.get(subscription.id)).toBeUndefined();
    expect(receiver.notifications('/lifecycle')).toEqual([]);
  });
});
