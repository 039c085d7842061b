/**
 * The Graph webhook as the Functions app runs it: `graphWebhook` hosted over real HTTP by the bridge
 * (test/support/functionsHttpBridge.ts), so the fake Graph runs its real validation handshake and
 * delivers real notifications to the in-process handler; subscriptionTimer, pullWorker,
 * uploadWorker and subscriptionWorker called as the host calls them.
 *
 * Functions keep notified pulls of a source at least 10 s apart (the runtime's default; app settings
 * cannot shorten it), so a pull queued soon after another one is invisible for a while: the test
 * counts queued messages (visible or not) and waits for them to become visible before reading them.
 */
import { HttpRequest, InvocationContext, type Timer } from '@azure/functions';
import { QueueClient } from '@azure/storage-queue';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphWebhook } from '../../functions/graphWebhook';
import { status } from '../../functions/status';
import { subscriptionTimer } from '../../functions/subscriptionTimer';
import { subscriptionWorker } from '../../functions/subscriptionWorker';
import { TableSubscriptionStore } from '../../src/store/subscriptionStore';
import { FakeTenant } from '../fakes/graph';
import {
  decodeHostMessage, everythingCaptured, expectNoSecrets, startConnectorHarness, type ConnectorHarness,
} from '../support/connectorHarness';
import { startFunctionsHttpBridge, type FunctionsHttpBridge } from '../support/functionsHttpBridge';
import { eventually } from '../support/realtimeHarness';

const SOURCE = 'Default';
const WEBHOOK_ENV = ['GRAPH_NOTIFICATION_BASE_URL', 'GRAPH_WEBHOOK_KEY'] as const;

interface QueuedMessage {
  type: string;
  source?: string;
  reason?: string;
  kind?: string;
  subscriptionId?: string;
  event?: string;
}

let harness: ConnectorHarness;
let bridge: FunctionsHttpBridge;
let webhookKey: string;
let pulls: QueueClient;
let subscriptionEvents: QueueClient;
/** The status function's answers, searched for secrets at the end. */
const statusBodies: string[] = [];

function invocation(functionName: string): InvocationContext {
  return new InvocationContext({
    invocationId: randomUUID(),
    functionName,
    logHandler: (_level, ...args: unknown[]) => {
      harness.capture.logs.push(args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '));
    },
  });
}

function timer(): Timer {
  const now = Date.now();
  return {
    isPastDue: false,
    schedule: { adjustForDST: true },
    scheduleStatus: { last: new Date(now - 900_000).toISOString(), next: new Date(now + 900_000).toISOString(), lastUpdated: new Date(now).toISOString() },
  };
}

/** Messages on the queue, visible or not. */
async function queuedCount(queue: QueueClient): Promise<number> {
  return (await queue.getProperties()).approximateMessagesCount ?? 0;
}

async function peekVisible(queue: QueueClient): Promise<QueuedMessage[]> {
  const peeked = await queue.peekMessages({ numberOfMessages: 32 });
  return peeked.peekedMessageItems.map((item) => decodeHostMessage(item.messageText) as QueuedMessage);
}

/** Waits until `count` messages are visible (a notified pull may be delayed by the 10 s spacing). */
async function waitVisible(queue: QueueClient, count: number): Promise<QueuedMessage[]> {
  let visible: QueuedMessage[] = [];
  await eventually(async () => (visible = await peekVisible(queue)).length >= count, 20_000, `${count} visible message(s) on ${queue.name}`);
  return visible;
}

/** POSTs to the bridge, as Graph (or anyone) would. */
async function post(path: string, query: Record<string, string>, body: string, contentType = 'application/json; charset=utf-8'): Promise<{ status: number; text: string }> {
  const url = new URL(`${bridge.url}${path}`);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': contentType }, body });
  return { status: response.status, text: await response.text() };
}

async function readStatus(): Promise<string> {
  const response = await status(new HttpRequest({ method: 'GET', url: 'http://localhost/api/status' }), invocation('status'));
  expect(response.status).toBe(200);
  if (typeof response.body !== 'string') throw new Error('the status function answers a JSON string');
  statusBodies.push(response.body);
  return response.body;
}

async function storedSubscriptions() {
  return new TableSubscriptionStore(harness.storage).listSubscriptions();
}

beforeAll(async () => {
  const tenant = new FakeTenant({ seed: 83, domain: 'contoso.example' });
  tenant.generate({ users: 25, groups: 4, seed: 83 });
  harness = await startConnectorHarness({ tenant, destinations: ['TenantA'] });
  harness.configure([{ From: 'EntraId:Default', To: 'Signature365:TenantA' }]);
  bridge = await startFunctionsHttpBridge({
    routes: {
      '/api/graph/notifications': { functionName: 'graphNotifications', handler: graphWebhook },
      '/api/graph/lifecycle': { functionName: 'graphLifecycle', handler: graphWebhook },
    },
    log: (line) => harness.capture.logs.push(line),
  });
  webhookKey = randomBytes(24).toString('base64url');
  process.env.GRAPH_NOTIFICATION_BASE_URL = bridge.url;
  process.env.GRAPH_WEBHOOK_KEY = webhookKey;
  const connectionString = harness.storage.kind === 'connectionString' ? harness.storage.connectionString : '';
  pulls = new QueueClient(connectionString, `${harness.prefix}-pull-requests`);
  subscriptionEvents = new QueueClient(connectionString, `${harness.prefix}-subscription-events`);
});

afterAll(async () => {
  await harness.close();
  await bridge.close();
  for (const name of WEBHOOK_ENV) delete process.env[name];
});

describe('the Graph webhook in the Functions app', () => {
  it('subscriptionTimer subscribes through the real handshake against the Functions handler, on both URLs with ?code=', async () => {
    await subscriptionTimer(timer(), invocation('subscriptionTimer'));

    const handshakes = harness.graph.subscriptions.handshakes;
    expect(handshakes.map((h) => [h.property, h.url, h.status, h.ok])).toEqual(expect.arrayContaining([
      ['notificationUrl', `${bridge.url}/api/graph/notifications`, 200, true],
      ['lifecycleNotificationUrl', `${bridge.url}/api/graph/lifecycle`, 200, true],
    ]));
    expect(handshakes.every((h) => h.ok)).toBe(true);
    // The handshakes went through the bridge to graphWebhook.
    expect(bridge.calls.filter((c) => c.status === 200).map((c) => c.functionName).sort())
      .toEqual(expect.arrayContaining(['graphLifecycle', 'graphNotifications']));
    expect(bridge.errors).toEqual([]);

    const atGraph = harness.graph.subscriptions.list();
    expect(atGraph.map((s) => s.resource).sort()).toEqual(['groups', 'users']);
    for (const subscription of atGraph) {
      expect(new URL(subscription.notificationUrl).searchParams.get('code')).toBe(webhookKey);
      expect(new URL(subscription.lifecycleNotificationUrl ?? '').searchParams.get('code')).toBe(webhookKey);
      expect(subscription.notificationUrl.startsWith(`${bridge.url}/api/graph/notifications?`)).toBe(true);
    }
    const stored = await storedSubscriptions();
    expect(stored.map((s) => s.id).sort()).toEqual(atGraph.map((s) => s.id).sort());
    expect(stored.every((s) => s.source === SOURCE)).toBe(true);

    // Creating subscriptions asks for a catch-up pull; it is the first sync.
    expect(await peekVisible(pulls)).toEqual([expect.objectContaining({ type: 'pull', source: SOURCE, reason: 'subscriptionCatchUp' })]);
    expect(await harness.drainPulls()).toEqual({ completed: 1, failed: 0, poisoned: 0 });
    expect((await harness.drainUploads()).failed).toBe(0);
    expect(harness.s365.tenant('TenantA').users(harness.sourceId).length).toBeGreaterThan(0);
    expect(await queuedCount(pulls)).toBe(0);
  });

  it('answers 401 to a genuine-looking notification with a wrong or missing code, and queues nothing', async () => {
    const users = harness.graph.subscriptions.list().find((s) => s.resource === 'users');
    if (users === undefined) throw new Error('no users subscription');
    // Everything right but the key: the real subscription id, its clientState and tenant.
    const body = JSON.stringify({
      value: [{ subscriptionId: users.id, clientState: users.clientState, tenantId: harness.graph.tenantId, changeType: 'updated', resource: 'Users/x' }],
    });
    const requestsBefore = bridge.calls.length;
    const wrongCodes: Record<string, string>[] = [{ code: `${webhookKey}x` }, { code: webhookKey.slice(1) }, { code: '' }, {}];
    for (const query of wrongCodes) {
      expect((await post('/api/graph/notifications', query, body)).status).toBe(401);
      expect((await post('/api/graph/lifecycle', query, JSON.stringify({ value: [{ ...JSON.parse(body).value[0], lifecycleEvent: 'missed' }] }))).status).toBe(401);
    }
    // The handshake too needs the key.
    expect((await post('/api/graph/notifications', { code: 'nope', validationToken: 'abc' }, '', 'text/plain')).status).toBe(401);
    expect(bridge.calls.slice(requestsBefore).every((c) => c.status === 401)).toBe(true);
    expect(await queuedCount(pulls)).toBe(0);
    expect(await queuedCount(subscriptionEvents)).toBe(0);
    expect(harness.capture.logs.filter((line) => line.includes('webhook.handled') && /"(pullsQueued|pullsCoalesced|lifecycleEvents)"/.test(line))).toEqual([]);
  });

  it('a tenant change notified by Graph queues exactly one changeNotification pull, and pullWorker and uploadWorker carry it to Signature 365', async () => {
    const user = harness.tenant.activeUsers().find((u) => harness.s365.tenant('TenantA').user(harness.sourceId, u.id) !== undefined);
    if (user === undefined) throw new Error('no synced user');
    const deliveriesBefore = harness.graph.subscriptions.deliveries.length;
    harness.tenant.updateUser(user.id, { jobTitle: 'Notified Through Functions' });
    await harness.graph.subscriptions.flush();

    const deliveries = harness.graph.subscriptions.deliveries.slice(deliveriesBefore);
    expect(deliveries.length).toBeGreaterThan(0);
    expect(deliveries.every((d) => d.delivered && d.status === 202)).toBe(true);
    expect(deliveries.every((d) => d.url === `${bridge.url}/api/graph/notifications`)).toBe(true);

    // The invocation logged what it counted (the 401 test relies on these fields being logged).
    expect(harness.capture.logs.some((line) => line.includes('webhook.handled') && line.includes('"pullsQueued":1') && line.includes('"status":202'))).toBe(true);
    expect(await queuedCount(pulls)).toBe(1);
    // Invisible until 10 s after the catch-up pull started.
    const visible = await waitVisible(pulls, 1);
    expect(visible).toEqual([expect.objectContaining({ type: 'pull', source: SOURCE, reason: 'changeNotification' })]);
    expect(await queuedCount(pulls)).toBe(1);
    expect(await queuedCount(subscriptionEvents)).toBe(0);

    expect(await harness.drainPulls()).toEqual({ completed: 1, failed: 0, poisoned: 0 });
    const uploads = await harness.drainUploads();
    expect(uploads.failed).toBe(0);
    expect(uploads.completed).toBeGreaterThan(0);
    expect(harness.s365.tenant('TenantA').user(harness.sourceId, user.id)?.jobTitle).toBe('Notified Through Functions');
    expect(await queuedCount(pulls)).toBe(0);
  });

  it('a reauthorizationRequired lifecycle event is queued, subscriptionWorker reauthorizes at Graph and queues a catch-up pull', async () => {
    const users = harness.graph.subscriptions.list().find((s) => s.resource === 'users');
    if (users === undefined) throw new Error('no users subscription');
    const answer = await harness.graph.subscriptions.sendLifecycle(users.id, 'reauthorizationRequired');
    expect(answer.status).toBe(202);
    expect(harness.graph.subscriptions.lifecycleNotifications.at(-1)).toMatchObject({ url: `${bridge.url}/api/graph/lifecycle`, status: 202 });

    expect(await queuedCount(subscriptionEvents)).toBe(1);
    expect(await queuedCount(pulls)).toBe(0);
    const received = await subscriptionEvents.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 });
    expect(received.receivedMessageItems).toHaveLength(1);
    const [item] = received.receivedMessageItems;
    if (item === undefined) throw new Error('no message');
    const message = decodeHostMessage(item.messageText);
    harness.capture.messages.push({ queue: subscriptionEvents.name, text: item.messageText, decoded: message });
    expect(message).toMatchObject({ type: 'subscriptionEvent', source: SOURCE, kind: 'users', subscriptionId: users.id, event: 'reauthorizationRequired' });

    expect(harness.graph.subscriptions.reauthorizations).toEqual([]);
    await subscriptionWorker(message, invocation('subscriptionWorker'));
    await subscriptionEvents.deleteMessage(item.messageId, item.popReceipt);
    expect(harness.graph.subscriptions.reauthorizations).toEqual([users.id]);
    // Reauthorized, not replaced.
    expect(harness.graph.subscriptions.list().map((s) => s.id).sort()).toEqual((await storedSubscriptions()).map((s) => s.id).sort());
    expect(harness.graph.subscriptions.get(users.id)).toBeDefined();

    expect(await queuedCount(pulls)).toBe(1);
    const visible = await waitVisible(pulls, 1);
    expect(visible).toEqual([expect.objectContaining({ type: 'pull', source: SOURCE, reason: 'subscriptionCatchUp' })]);
    expect(await harness.drainPulls()).toEqual({ completed: 1, failed: 0, poisoned: 0 });
    expect((await harness.drainUploads()).failed).toBe(0);
  });

  it('lets no secret out: logs, queue messages and the status function hold no client secret, token, webhook key or clientState', async () => {
    const body = await readStatus();
    expect(JSON.parse(body)).toMatchObject({ sources: [expect.objectContaining({ source: SOURCE })] });

    const clientStates = [
      ...(await storedSubscriptions()).map((s) => s.clientState),
      ...harness.graph.subscriptions.list().map((s) => s.clientState ?? ''),
    ].filter((value) => value !== '');
    expect(clientStates.length).toBeGreaterThanOrEqual(2);
    const texts = [...everythingCaptured(harness), ...statusBodies];
    // The captures are not empty: the webhook and the workers did log.
    expect(harness.capture.logs.some((line) => line.includes('webhook.handled'))).toBe(true);
    expectNoSecrets(harness, texts);
    const secrets = [webhookKey, ...clientStates];
    expect(texts.filter((text) => secrets.some((secret) => text.includes(secret)))).toEqual([]);
    expect(texts.filter((text) => /[?&]code=(?!\[redacted\])/.test(text))).toEqual([]);
    expect(bridge.errors).toEqual([]);
  });
});
