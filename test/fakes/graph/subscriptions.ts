/**
 * Change-notification subscriptions (webhooks) of the fake Graph for `users` and `groups`, as Graph
 * documents them:
 * - creating a subscription, or moving it to another notificationUrl, first validates each endpoint with a
 *   POST carrying ?validationToken=…, which must be answered in time with 200, text/plain and the decoded token;
 * - a subscription past its expirationDateTime is gone (404, not listed, no notifications);
 * - tenant changes are queued per notificationUrl and POSTed as {"value":[…]} a batch window after the first
 *   one; anything but a timely 2xx is retried with doubling backoff a few times, then dropped;
 * - lifecycle notifications are sent when a test asks for them (Graph decides that on its own).
 * Every handshake, delivery attempt and lifecycle notification is logged for assertions.
 */
import { randomUUID } from 'node:crypto';
import type { ChangeEntry, FakeTenant } from './fakeTenant';
import {
  directoryChangeOf,
  GraphRequestError,
  parseChangeTypes,
  parseClientState,
  parseEndpointUrl,
  parseExpiration,
  parseJsonObject,
  parseResource,
  parseTlsVersion,
  requirePermission,
  requireProperties,
  type NotificationChangeType,
  type SubscriptionResource,
} from './subscriptionRules';
import { WebhookClient, withoutQuery, type PostResult } from './webhookClient';

export interface NotificationOptions {
  /** A notificationUrl's queue is sent this long after its first change. Default 200. */
  batchWindowMs?: number;
  /** Most notifications in one POST. Default 100. */
  maxBatch?: number;
  /** Tries per POST (the first included) before it is dropped. Default 3. */
  attempts?: number;
  /** Wait before the first retry, doubling after each. Default 500. */
  retryBackoffMs?: number;
  /** A notification POST not answered in this time failed. Default 10000. */
  responseTimeoutMs?: number;
  /** A validation request not answered in this time failed (Graph documents 10 seconds). Default 10000. */
  validationTimeoutMs?: number;
}

export type LifecycleEvent = 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed';

/** A subscription as Graph returns it. */
export interface GraphSubscription {
  id: string;
  resource: string;
  applicationId: string;
  changeType: string;
  clientState: string | null;
  notificationUrl: string;
  notificationQueryOptions: null;
  lifecycleNotificationUrl: string | null;
  expirationDateTime: string;
  creatorId: string;
  includeResourceData: false;
  latestSupportedTlsVersion: string;
  encryptionCertificate: null;
  encryptionCertificateId: null;
  notificationUrlAppId: null;
}

/** One change notification as Graph sends it for a directory object. */
export interface ChangeNotification {
  subscriptionId: string;
  subscriptionExpirationDateTime: string;
  changeType: NotificationChangeType;
  resource: string;
  resourceData: { '@odata.type': string; '@odata.id': string; id: string; organizationId: string };
  clientState: string | null;
  tenantId: string;
}

export interface HandshakeRecord {
  /** Without the query. */
  url: string;
  property: 'notificationUrl' | 'lifecycleNotificationUrl';
  status: number | undefined;
  ok: boolean;
  ms: number;
  /** Why it failed. */
  problem?: string;
}

/** A notification in a delivery, with the tenant change it came from, for latency and ordering checks. */
export interface DeliveredItem {
  subscriptionId: string;
  changeType: NotificationChangeType;
  resource: string;
  /** The tenant change log's sequence number. */
  seq: number;
  /** When the tenant change happened (and the notification was queued), ms since epoch. */
  queuedAt: number;
}

export interface DeliveryRecord {
  subscriptionIds: string[];
  /** Without the query. */
  url: string;
  /** 1 for the first try. */
  attempt: number;
  items: DeliveredItem[];
  sentAt: number;
  /** Undefined while waiting, and when there was no answer. */
  status: number | undefined;
  /** When the attempt ended (answer, timeout or connection error); undefined while waiting. */
  answeredAt: number | undefined;
  delivered: boolean;
  error?: string;
}

export interface LifecycleRecord {
  subscriptionId: string;
  lifecycleEvent: LifecycleEvent;
  url: string;
  sentAt: number;
  status: number | undefined;
  error?: string;
}

/** What the server sends back: a body, no body (204), or a Graph error. */
export type SubscriptionAnswer =
  | { status: number; body?: Record<string, unknown> }
  | { status: number; error: { code: string; message: string } };

export interface SubscriptionServiceConfig {
  tenant: FakeTenant;
  tenantId: string;
  /** The app registration: applicationId of its subscriptions. */
  clientId: string;
  /** https://127.0.0.1:<port>, known only once the server listens. */
  origin: () => string;
  /** Application roles granted to the app. */
  permissions: readonly string[];
  notifications?: NotificationOptions;
}

/** What a test can see and steer (FakeGraph.subscriptions). */
export type SubscriptionControl = Pick<
  FakeSubscriptionService,
  | 'list' | 'get' | 'remove' | 'expire' | 'sendLifecycle' | 'flush' | 'pauseDelivery' | 'resumeDelivery'
  | 'deliveries' | 'handshakes' | 'reauthorizations' | 'lifecycleNotifications' | 'setPermissions' | 'permissions'
>;

interface StoredSubscription {
  data: GraphSubscription;
  resource: SubscriptionResource;
  changeTypes: Set<NotificationChangeType>;
  expiresAt: number;
}

interface QueuedNotification {
  notification: ChangeNotification;
  item: DeliveredItem;
}

interface PendingBatch {
  queued: QueuedNotification[];
  timer: NodeJS.Timeout | undefined;
}

const VALIDATION_FAILED = 'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.';
function notFound(): GraphRequestError {
  return new GraphRequestError(404, 'ResourceNotFound', 'The object was not found.');
}

/**
 * Query encoding as .NET's HttpUtility.UrlEncode does it (Graph's): `+` for spaces, lower-case escapes.
 * A subscriber that decodes with decodeURIComponent alone gets the token wrong, as it would against Graph.
 */
function formEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.!*()]/.test(char)) out += char;
    else if (byte === 0x20) out += '+';
    else out += `%${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

function withValidationToken(url: string, token: string): string {
  const parsed = new URL(url);
  parsed.hash = '';
  return `${parsed.toString()}${parsed.search ? '&' : '?'}validationToken=${formEncode(token)}`;
}

function handshakeProblem(result: PostResult, token: string): string | undefined {
  if (result.error !== undefined) return result.error;
  if (result.status !== 200) return `answered ${String(result.status)}`;
  const mediaType = (result.contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'text/plain') return `content type ${result.contentType ?? '(none)'}`;
  if (result.body !== token) return 'body is not the validation token';
  return undefined;
}

export class FakeSubscriptionService {
  /** Every delivery attempt, oldest first (a live array; an attempt is added when it is sent). */
  readonly deliveries: DeliveryRecord[] = [];
  readonly handshakes: HandshakeRecord[] = [];
  /** Ids of subscriptions reauthorized through POST /subscriptions/{id}/reauthorize. */
  readonly reauthorizations: string[] = [];
  readonly lifecycleNotifications: LifecycleRecord[] = [];

  private readonly subscriptions = new Map<string, StoredSubscription>();
  /** By notificationUrl (query included: two URLs differing only in ?code= are different endpoints). */
  private readonly batches = new Map<string, PendingBatch>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly sleepers = new Set<() => void>();
  private readonly settings: Required<NotificationOptions>;
  private readonly client = new WebhookClient();
  /** App-only subscriptions are created by the app's service principal. */
  private readonly creatorId = randomUUID();
  private readonly stopListening: () => void;
  private granted: Set<string>;
  private paused = false;
  private closed = false;

  constructor(private readonly config: SubscriptionServiceConfig) {
    const options = config.notifications ?? {};
    this.settings = {
      batchWindowMs: options.batchWindowMs ?? 200,
      maxBatch: Math.max(1, options.maxBatch ?? 100),
      attempts: Math.max(1, options.attempts ?? 3),
      retryBackoffMs: options.retryBackoffMs ?? 500,
      responseTimeoutMs: options.responseTimeoutMs ?? 10_000,
      validationTimeoutMs: options.validationTimeoutMs ?? 10_000,
    };
    this.granted = new Set(config.permissions);
    this.stopListening = config.tenant.onChange((entry) => this.onTenantChange(entry));
  }

  // ---- HTTP surface: the server routes /v1.0/subscriptions... here after authentication ------------

  async handle(method: string, path: string, readBody: () => Promise<string>): Promise<SubscriptionAnswer> {
    try {
      return await this.route(method, path, readBody);
    } catch (error) {
      if (error instanceof GraphRequestError) return { status: error.status, error: { code: error.code, message: error.message } };
      throw error;
    }
  }

  private async route(method: string, path: string, readBody: () => Promise<string>): Promise<SubscriptionAnswer> {
    const match = /^\/v1\.0\/subscriptions(?:\/([^/]+)(\/reauthorize)?)?\/?$/.exec(path);
    if (!match) throw new GraphRequestError(400, 'BadRequest', `Resource not found for the segment '${path.split('/').pop() ?? ''}'.`);
    const id = match[1] !== undefined ? decodeURIComponent(match[1]) : undefined;
    const notAllowed = new GraphRequestError(405, 'Request_BadRequest', `The HTTP method '${method}' is not allowed on this resource.`);

    if (id === undefined) {
      if (method === 'GET') return { status: 200, body: { '@odata.context': `${this.config.origin()}/v1.0/$metadata#subscriptions`, value: this.list() } };
      if (method === 'POST') return this.create(await readBody());
      throw notAllowed;
    }
    if (match[2] !== undefined) {
      if (method !== 'POST') throw notAllowed;
      const subscription = this.requireLive(id);
      requirePermission(subscription.resource, this.granted, 'Reauthorize');
      this.reauthorizations.push(id);
      return { status: 204 };
    }
    if (method === 'GET') return { status: 200, body: this.entity(this.requireLive(id)) };
    if (method === 'PATCH') return this.update(id, await readBody());
    if (method === 'DELETE') {
      this.requireLive(id);
      this.subscriptions.delete(id);
      return { status: 204 };
    }
    throw notAllowed;
  }

  private async create(bodyText: string): Promise<SubscriptionAnswer> {
    const body = parseJsonObject(bodyText);
    requireProperties(body, ['changeType', 'notificationUrl', 'resource', 'expirationDateTime']);
    const resource = parseResource(body.resource);
    const changeType = parseChangeTypes(body.changeType, resource);
    const notificationUrl = parseEndpointUrl(body.notificationUrl, 'notificationUrl');
    const lifecycleNotificationUrl = body.lifecycleNotificationUrl == null ? null : parseEndpointUrl(body.lifecycleNotificationUrl, 'lifecycleNotificationUrl');
    const expiresAt = parseExpiration(body.expirationDateTime, Date.now());
    const clientState = parseClientState(body.clientState);
    const latestSupportedTlsVersion = parseTlsVersion(body.latestSupportedTlsVersion);

    // Graph validates the endpoints before the directory checks the app's roles: a 403 follows a good handshake.
    await this.validateEndpoint(notificationUrl, 'notificationUrl');
    if (lifecycleNotificationUrl !== null) await this.validateEndpoint(lifecycleNotificationUrl, 'lifecycleNotificationUrl');
    requirePermission(resource, this.granted, 'Create');

    const data: GraphSubscription = {
      id: randomUUID(),
      resource: String(body.resource),
      applicationId: this.config.clientId,
      changeType: changeType.text,
      clientState,
      notificationUrl,
      notificationQueryOptions: null,
      lifecycleNotificationUrl,
      expirationDateTime: new Date(expiresAt).toISOString(),
      creatorId: this.creatorId,
      includeResourceData: false,
      latestSupportedTlsVersion,
      encryptionCertificate: null,
      encryptionCertificateId: null,
      notificationUrlAppId: null,
    };
    const stored: StoredSubscription = { data, resource, changeTypes: changeType.types, expiresAt };
    this.subscriptions.set(data.id, stored);
    return { status: 201, body: this.entity(stored) };
  }

  private async update(id: string, bodyText: string): Promise<SubscriptionAnswer> {
    const subscription = this.requireLive(id);
    const body = parseJsonObject(bodyText);
    const expiresAt = body.expirationDateTime !== undefined ? parseExpiration(body.expirationDateTime, Date.now()) : undefined;
    const notificationUrl = body.notificationUrl !== undefined ? parseEndpointUrl(body.notificationUrl, 'notificationUrl') : undefined;
    if (notificationUrl !== undefined && notificationUrl !== subscription.data.notificationUrl) await this.validateEndpoint(notificationUrl, 'notificationUrl');
    requirePermission(subscription.resource, this.granted, 'Update');
    // It may have expired or been deleted while the handshake ran.
    if (this.live(id) !== subscription) throw notFound();
    if (expiresAt !== undefined) {
      subscription.expiresAt = expiresAt;
      subscription.data.expirationDateTime = new Date(expiresAt).toISOString();
    }
    if (notificationUrl !== undefined) subscription.data.notificationUrl = notificationUrl;
    return { status: 200, body: this.entity(subscription) };
  }

  private entity(subscription: StoredSubscription): Record<string, unknown> {
    return { '@odata.context': `${this.config.origin()}/v1.0/$metadata#subscriptions/$entity`, ...structuredClone(subscription.data) };
  }

  private async validateEndpoint(url: string, property: HandshakeRecord['property']): Promise<void> {
    const token = `Validation: Testing client application reachability for subscription Request-Id: ${randomUUID()}`;
    const result = await this.client.post(withValidationToken(url, token), {
      body: '',
      contentType: 'text/plain; charset=utf-8',
      timeoutMs: this.settings.validationTimeoutMs,
    });
    const problem = handshakeProblem(result, token);
    this.handshakes.push({ url: withoutQuery(url), property, status: result.status, ok: problem === undefined, ms: Math.round(result.ms), ...(problem !== undefined ? { problem } : {}) });
    if (problem !== undefined) throw new GraphRequestError(400, 'InvalidRequest', VALIDATION_FAILED);
  }

  // ---- control surface for tests -----------------------------------------------------------------

  /** Live subscriptions, as GET /subscriptions lists them. */
  list(): GraphSubscription[] {
    const result: GraphSubscription[] = [];
    for (const id of [...this.subscriptions.keys()]) {
      const subscription = this.live(id);
      if (subscription) result.push(structuredClone(subscription.data));
    }
    return result;
  }

  get(id: string): GraphSubscription | undefined {
    const subscription = this.live(id);
    return subscription ? structuredClone(subscription.data) : undefined;
  }

  /** Drops a subscription silently, as Graph sometimes does: no lifecycle notification, 404 from now on. */
  remove(id: string): boolean {
    return this.subscriptions.delete(id);
  }

  /** Lets a subscription reach its expirationDateTime now. */
  expire(id: string): boolean {
    const subscription = this.live(id);
    if (!subscription) return false;
    subscription.expiresAt = Date.now();
    subscription.data.expirationDateTime = new Date(subscription.expiresAt).toISOString();
    this.subscriptions.delete(id);
    return true;
  }

  get permissions(): string[] {
    return [...this.granted];
  }

  /** Replaces the app's application roles (checked on create, renew and reauthorize). */
  setPermissions(roles: readonly string[]): void {
    this.granted = new Set(roles);
  }

  /**
   * POSTs one lifecycle notification to the subscription's lifecycleNotificationUrl (one attempt).
   * `subscriptionRemoved` removes the subscription first, as Graph does before telling.
   */
  async sendLifecycle(subscriptionId: string, lifecycleEvent: LifecycleEvent): Promise<{ status: number | undefined }> {
    const subscription = this.live(subscriptionId);
    if (!subscription) throw new Error(`no live subscription ${subscriptionId}`);
    const url = subscription.data.lifecycleNotificationUrl;
    if (url === null) throw new Error(`subscription ${subscriptionId} has no lifecycleNotificationUrl`);
    if (lifecycleEvent === 'subscriptionRemoved') this.subscriptions.delete(subscriptionId);
    const notification = {
      subscriptionId,
      subscriptionExpirationDateTime: subscription.data.expirationDateTime,
      tenantId: this.config.tenantId,
      clientState: subscription.data.clientState,
      lifecycleEvent,
      resource: subscription.data.resource,
      organizationId: this.config.tenantId,
    };
    const record: LifecycleRecord = { subscriptionId, lifecycleEvent, url: withoutQuery(url), sentAt: Date.now(), status: undefined };
    this.lifecycleNotifications.push(record);
    const result = await this.client.post(url, {
      body: JSON.stringify({ value: [notification] }),
      contentType: 'application/json; charset=utf-8',
      timeoutMs: this.settings.responseTimeoutMs,
    });
    record.status = result.status;
    if (result.error !== undefined) record.error = result.error;
    return { status: result.status };
  }

  /** Sends everything queued now (even while paused) and waits for every delivery, retries included. */
  async flush(): Promise<void> {
    for (const url of [...this.batches.keys()]) this.sendBatch(url);
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Changes keep being queued but nothing is sent until resumeDelivery() (or flush()); retries under way go on. */
  pauseDelivery(): void {
    this.paused = true;
    for (const batch of this.batches.values()) {
      clearTimeout(batch.timer);
      batch.timer = undefined;
    }
  }

  /** Each queue waits a fresh batch window, as after an outage. */
  resumeDelivery(): void {
    this.paused = false;
    for (const [url, batch] of this.batches) {
      if (batch.timer === undefined) batch.timer = setTimeout(() => this.sendBatch(url), this.settings.batchWindowMs);
    }
  }

  /** Stops listening, timers and retries, aborts requests under way and waits for them to wind down. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopListening();
    for (const batch of this.batches.values()) clearTimeout(batch.timer);
    this.batches.clear();
    for (const wake of [...this.sleepers]) wake();
    this.client.close();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  // ---- delivery ----------------------------------------------------------------------------------

  /** The subscription unless it is unknown or past its expiration (then it is forgotten). */
  private live(id: string): StoredSubscription | undefined {
    const subscription = this.subscriptions.get(id);
    if (subscription && subscription.expiresAt <= Date.now()) {
      this.subscriptions.delete(id);
      return undefined;
    }
    return subscription;
  }

  private requireLive(id: string): StoredSubscription {
    const subscription = this.live(id);
    if (!subscription) throw notFound();
    return subscription;
  }

  private onTenantChange(entry: ChangeEntry): void {
    if (this.closed || this.subscriptions.size === 0) return;
    const change = directoryChangeOf(entry);
    const queuedAt = Date.now();
    const path = `${change.resource === 'users' ? 'Users' : 'Groups'}/${change.id}`;
    for (const id of [...this.subscriptions.keys()]) {
      const subscription = this.live(id);
      if (!subscription || subscription.resource !== change.resource || !subscription.changeTypes.has(change.changeType)) continue;
      const notification: ChangeNotification = {
        subscriptionId: id,
        subscriptionExpirationDateTime: subscription.data.expirationDateTime,
        changeType: change.changeType,
        resource: path,
        resourceData: {
          '@odata.type': change.resource === 'users' ? '#Microsoft.Graph.User' : '#Microsoft.Graph.Group',
          '@odata.id': path,
          id: change.id,
          organizationId: this.config.tenantId,
        },
        clientState: subscription.data.clientState,
        tenantId: this.config.tenantId,
      };
      this.enqueue(subscription.data.notificationUrl, { notification, item: { subscriptionId: id, changeType: change.changeType, resource: path, seq: entry.seq, queuedAt } });
    }
  }

  private enqueue(url: string, queued: QueuedNotification): void {
    let batch = this.batches.get(url);
    if (!batch) this.batches.set(url, (batch = { queued: [], timer: undefined }));
    batch.queued.push(queued);
    if (batch.timer === undefined && !this.paused) batch.timer = setTimeout(() => this.sendBatch(url), this.settings.batchWindowMs);
  }

  private sendBatch(url: string): void {
    const batch = this.batches.get(url);
    if (!batch) return;
    clearTimeout(batch.timer);
    this.batches.delete(url);
    // Nothing goes out for a subscription deleted or expired since the change.
    const queued = batch.queued.filter((entry) => this.live(entry.item.subscriptionId) !== undefined);
    for (let start = 0; start < queued.length; start += this.settings.maxBatch) {
      this.track(this.deliver(url, queued.slice(start, start + this.settings.maxBatch)));
    }
  }

  private track(delivery: Promise<void>): void {
    this.inFlight.add(delivery);
    const done = () => {
      this.inFlight.delete(delivery);
    };
    delivery.then(done, done);
  }

  private async deliver(url: string, queued: QueuedNotification[]): Promise<void> {
    const body = JSON.stringify({ value: queued.map((entry) => entry.notification) });
    const subscriptionIds = [...new Set(queued.map((entry) => entry.item.subscriptionId))];
    const items = queued.map((entry) => entry.item);
    for (let attempt = 1; attempt <= this.settings.attempts && !this.closed; attempt++) {
      const record: DeliveryRecord = { subscriptionIds, url: withoutQuery(url), attempt, items, sentAt: Date.now(), status: undefined, answeredAt: undefined, delivered: false };
      this.deliveries.push(record);
      const result = await this.client.post(url, { body, contentType: 'application/json; charset=utf-8', timeoutMs: this.settings.responseTimeoutMs });
      record.status = result.status;
      record.answeredAt = Date.now();
      if (result.error !== undefined) record.error = result.error;
      if (result.error === undefined && result.status !== undefined && result.status >= 200 && result.status < 300) {
        record.delivered = true;
        return;
      }
      if (attempt < this.settings.attempts) await this.sleep(this.settings.retryBackoffMs * 2 ** (attempt - 1));
    }
  }

  /** A wait that close() cuts short (or skips, once closed). */
  private sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}
