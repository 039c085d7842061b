/**
 * A fake Microsoft Graph + Entra token service on https://127.0.0.1:<port>, one tenant and one app
 * registration. The product reaches it only through EntraSourceConfig.authorityHost / graphEndpoint,
 * as a national-cloud user would configure them. Faults can be queued for the next matching requests,
 * and every request is logged (method, path, query, status, time) for assertions on retries and waits.
 * Change-notification subscriptions (/v1.0/subscriptions, webhooks to the subscriber) live in subscriptions.ts.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { EntraSourceConfig, SourceAuth } from '../../../src/config/types';
import { DeltaRounds, type DeltaKind, type DeltaOutcome } from './deltaRounds';
import { FakeTenant, type FakeUser } from './fakeTenant';
import { FakeSubscriptionService, type NotificationOptions, type SubscriptionAnswer, type SubscriptionControl } from './subscriptions';
import { TokenService, type TokenRequestRecord } from './tokenService';

export const FAKE_TLS_DIR = join(__dirname, '..', 'tls');

/** GET /v1.0/users/{id}/mailboxSettings/userPurpose */
const MAILBOX_PURPOSE_PATH = /^\/v1\.0\/users\/([^/]+)\/mailboxSettings\/userPurpose$/;
/** GET /v1.0/users/{id or userPrincipalName} and /v1.0/users('{key}'): one user by key. */
const USER_KEY_PATH = /^\/v1\.0\/users\/([^/]+)$/;
const USER_PAREN_KEY_PATH = /^\/v1\.0\/users\('((?:[^']|'')+)'\)$/;
/** The one $filter on /users the fake serves: `mail eq '<address>'`. */
const MAIL_FILTER = /^mail eq '((?:[^']|'')*)'$/;

export type RequestTarget = 'users' | 'groups' | 'subscriptions' | 'applications' | 'domains' | 'mailboxSettings' | 'userLookup' | 'token' | 'metadata' | 'other';

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  target: RequestTarget;
  status: number;
  /** When the request arrived (ms since epoch). */
  at: number;
}

export interface FaultSpec {
  /** Which requests it applies to: a target, or a path (exact or RegExp). Default: users and groups delta. */
  target?: RequestTarget | 'delta';
  path?: string | RegExp;
  /** How many matching requests it applies to. Default 1. */
  times?: number;
  /** Answer with this status and a Graph error body (code defaults by status). */
  status?: number;
  code?: string;
  /** Adds Retry-After (seconds) to the status answer. */
  retryAfterSeconds?: number;
  /** Answer 200 with a cut-off JSON body. */
  malformedJson?: boolean;
  /** Serve the page normally but without @odata.nextLink / @odata.deltaLink. */
  omitLinks?: boolean;
  /** Wait this long before answering (as set above, or normally). */
  delayMs?: number;
}

export class FaultQueue {
  private readonly queue: { spec: FaultSpec; remaining: number }[] = [];

  add(spec: FaultSpec): this {
    this.queue.push({ spec, remaining: spec.times ?? 1 });
    return this;
  }

  clear(): void {
    this.queue.length = 0;
  }

  /** Faults not yet used up. */
  get pending(): number {
    return this.queue.reduce((sum, entry) => sum + entry.remaining, 0);
  }

  /** Takes the first fault matching this request, if any. */
  take(target: RequestTarget, path: string): FaultSpec | undefined {
    const entry = this.queue.find(({ spec, remaining }) => remaining > 0 && matches(spec, target, path));
    if (!entry) return undefined;
    entry.remaining -= 1;
    if (entry.remaining === 0) this.queue.splice(this.queue.indexOf(entry), 1);
    return entry.spec;
  }
}

function matches(spec: FaultSpec, target: RequestTarget, path: string): boolean {
  if (spec.path !== undefined) return typeof spec.path === 'string' ? spec.path === path : spec.path.test(path);
  const wanted = spec.target ?? 'delta';
  return wanted === 'delta' ? target === 'users' || target === 'groups' : wanted === target;
}

const DEFAULT_ERROR_CODES: Record<number, [string, string]> = {
  400: ['Request_BadRequest', 'Bad request.'],
  401: ['InvalidAuthenticationToken', 'Access token validation failure.'],
  403: ['Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'],
  404: ['Request_ResourceNotFound', 'Resource not found.'],
  429: ['TooManyRequests', 'Too many requests.'],
  500: ['InternalServerError', 'An internal server error occurred.'],
  503: ['ServiceUnavailable', 'The service is temporarily unavailable.'],
  504: ['GatewayTimeout', 'The gateway did not receive a timely response.'],
};

export interface FakeGraphOptions {
  tenant?: FakeTenant;
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /** PEM of the app's registered certificate (for certificate credentials). */
  certificatePem?: string;
  /** members@delta entries per group entry; a group with more is repeated over several entries/pages. Default 100. */
  memberSliceSize?: number;
  /** Largest page Graph serves per kind, whatever Prefer asks. Default users 200, groups 100. */
  maxPageSize?: Partial<Record<DeltaKind, number>>;
  /** Page size when the request has no Prefer: odata.maxpagesize. Default 100. */
  defaultPageSize?: number;
  /** Delta/skip tokens older than this expire. Default: only expireTokens() expires them. */
  maxTokenAgeInMs?: number;
  /** Send `"manager@delta": []` where the manager did not change or there is none (see DeltaRoundsOptions). */
  emptyManagerDelta?: boolean;
  /** Default 0 (a free port). */
  port?: number;
  /** Application roles granted to the app. Default User.Read.All, GroupMember.Read.All, Group.Read.All. */
  permissions?: string[];
  /** Timing of change notifications (batch window, retries, timeouts). */
  notifications?: NotificationOptions;
}

export interface FakeGraph {
  /** https://127.0.0.1:<port>: EntraSourceConfig.authorityHost */
  authorityHost: string;
  /** Same server: EntraSourceConfig.graphEndpoint */
  graphEndpoint: string;
  tenantId: string;
  clientId: string;
  tenant: FakeTenant;
  faults: FaultQueue;
  /** Every request so far, oldest first (a live array). */
  requests: RequestRecord[];
  tokenRequests: TokenRequestRecord[];
  /** An EntraSourceConfig pointing at this fake; client-secret auth with the registered secret unless `auth` is given. */
  sourceConfig(auth?: SourceAuth, name?: string): EntraSourceConfig;
  /** Delta requests (users/groups) only. */
  deltaRequests(kind?: DeltaKind): RequestRecord[];
  /** All delta and skip tokens issued so far expire: Graph then answers 410 syncStateNotFound (or `status`). */
  expireTokens(options?: { status?: 400 | 410 }): void;
  /** Invalidates issued access tokens. */
  revokeAccessTokens(): void;
  /** Change-notification subscriptions: state, delivery control and logs. */
  subscriptions: SubscriptionControl;
  /** Also stops notification timers and aborts deliveries under way. */
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; odata.metadata=minimal', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function graphError(status: number, code?: string, message?: string): Record<string, unknown> {
  const [defaultCode, defaultMessage] = DEFAULT_ERROR_CODES[status] ?? ['UnknownError', 'Error.'];
  return {
    error: {
      code: code ?? defaultCode,
      message: message ?? defaultMessage,
      innerError: { date: new Date().toISOString().replace(/\.\d+Z$/, ''), 'request-id': crypto.randomUUID(), 'client-request-id': crypto.randomUUID() },
    },
  };
}

function sendSubscriptionAnswer(res: ServerResponse, answer: SubscriptionAnswer): void {
  const headers = { 'request-id': crypto.randomUUID() };
  if ('error' in answer) return send(res, answer.status, graphError(answer.status, answer.error.code, answer.error.message), headers);
  if (answer.body === undefined) {
    res.writeHead(answer.status, headers);
    res.end();
    return;
  }
  return send(res, answer.status, answer.body, headers);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > 1_000_000) throw new Error('request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parsePrefer(header: string | string[] | undefined): { maxPageSize?: number; minimal: boolean } {
  const text = Array.isArray(header) ? header.join(',') : header ?? '';
  const result: { maxPageSize?: number; minimal: boolean } = { minimal: false };
  for (const part of text.split(/[,;]/)) {
    const [name, value] = part.trim().split('=').map((s) => s.trim());
    if (name?.toLowerCase() === 'odata.maxpagesize' && value && /^\d+$/.test(value)) result.maxPageSize = Number(value);
    if (name?.toLowerCase() === 'return' && value?.toLowerCase() === 'minimal') result.minimal = true;
  }
  return result;
}

export async function startFakeGraph(options: FakeGraphOptions = {}): Promise<FakeGraph> {
  const tenant = options.tenant ?? new FakeTenant();
  const tenantId = options.tenantId ?? '11111111-2222-4333-8444-555555555555';
  const clientId = options.clientId ?? 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
  const maxPageSize: Record<DeltaKind, number> = { users: 200, groups: 100, ...options.maxPageSize };
  const defaultPageSize = options.defaultPageSize ?? 100;
  let origin = '';
  let expiredStatus: 400 | 410 = 410;

  const rounds = new DeltaRounds(tenant, {
    memberSliceSize: options.memberSliceSize ?? 100,
    ...(options.maxTokenAgeInMs !== undefined ? { maxTokenAgeInMs: options.maxTokenAgeInMs } : {}),
    ...(options.emptyManagerDelta !== undefined ? { emptyManagerDelta: options.emptyManagerDelta } : {}),
  });
  const tokens = new TokenService(
    {
      tenantId,
      clientId,
      ...(options.clientSecret !== undefined ? { clientSecret: options.clientSecret } : {}),
      ...(options.certificatePem !== undefined ? { certificatePem: options.certificatePem } : {}),
    },
    () => `${origin}/.default`,
  );
  const faults = new FaultQueue();
  const requests: RequestRecord[] = [];
  const permissions = options.permissions ?? ['User.Read.All', 'GroupMember.Read.All', 'Group.Read.All'];
  const subscriptions = new FakeSubscriptionService({
    tenant,
    tenantId,
    clientId,
    origin: () => origin,
    permissions,
    ...(options.notifications !== undefined ? { notifications: options.notifications } : {}),
  });

  function targetOf(method: string, path: string): RequestTarget {
    if (method === 'GET' && path === '/v1.0/users/delta') return 'users';
    if (method === 'GET' && path === '/v1.0/groups/delta') return 'groups';
    if (path === '/v1.0/subscriptions' || path.startsWith('/v1.0/subscriptions/')) return 'subscriptions';
    if (method === 'GET' && (path === '/v1.0/applications' || path.startsWith('/v1.0/applications/') || path.startsWith('/v1.0/applications('))) return 'applications';
    if (method === 'GET' && path === '/v1.0/domains') return 'domains';
    if (method === 'GET' && MAILBOX_PURPOSE_PATH.test(path)) return 'mailboxSettings';
    if (method === 'GET' && (path === '/v1.0/users' || USER_KEY_PATH.test(path) || USER_PAREN_KEY_PATH.test(path))) return 'userLookup';
    if (/^\/[^/]+\/oauth2\/v2\.0\/token$/.test(path)) return 'token';
    if (/\/\.well-known\/openid-configuration$|\/discovery\//.test(path)) return 'metadata';
    return 'other';
  }

  /**
   * GET /applications (one page, id/appId/displayName), /applications/{id}/extensionProperties and
   * /applications(appId='{appId}')/extensionProperties, behind Application.Read.All as in Graph.
   */
  function answerApplications(res: ServerResponse, path: string): void {
    if (!permissions.includes('Application.Read.All')) return send(res, 403, graphError(403));
    const applications = tenant.listApplications();
    if (path === '/v1.0/applications') {
      return send(res, 200, {
        '@odata.context': `${origin}/v1.0/$metadata#applications(id,appId,displayName)`,
        value: applications.map(({ id, appId, displayName }) => ({ id, appId, displayName })),
      });
    }
    // GET /applications(appId='…') (?$select=passwordCredentials): the registration itself.
    const registration = /^\/v1\.0\/applications\(appId='([^']+)'\)$/.exec(decodeURIComponent(path));
    if (registration?.[1] !== undefined) {
      const found = applications.find((app) => app.appId === registration[1]);
      if (found === undefined) return send(res, 404, graphError(404, 'Request_ResourceNotFound', `Resource '${registration[1]}' does not exist or one of its queried reference-property objects are not present.`));
      return send(res, 200, {
        '@odata.context': `${origin}/v1.0/$metadata#applications(passwordCredentials)/$entity`,
        id: found.id, appId: found.appId, displayName: found.displayName,
        passwordCredentials: found.passwordCredentials.map((credential) => ({ customKeyIdentifier: null, secretText: null, ...credential })),
      });
    }
    const byId = /^\/v1\.0\/applications\/([^/()]+)\/extensionProperties$/.exec(path);
    const byAppId = /^\/v1\.0\/applications\(appId='([^']+)'\)\/extensionProperties$/.exec(decodeURIComponent(path));
    const application = byId?.[1] !== undefined
      ? applications.find((app) => app.id === byId[1])
      : byAppId?.[1] !== undefined ? applications.find((app) => app.appId === byAppId[1]) : undefined;
    if (byId === null && byAppId === null) return send(res, 404, graphError(404, 'Request_ResourceNotFound', `Resource '${path}' does not exist.`));
    if (application === undefined) {
      return send(res, 404, graphError(404, 'Request_ResourceNotFound', `Resource '${byId?.[1] ?? byAppId?.[1] ?? ''}' does not exist or one of its queried reference-property objects are not present.`));
    }
    return send(res, 200, {
      '@odata.context': `${origin}/v1.0/$metadata#applications('${application.id}')/extensionProperties`,
      value: application.extensionProperties.map((property) => ({ deletedDateTime: null, ...property })),
    });
  }

  /**
   * As Graph answers a lookup of one live user: by id or UPN (case-insensitive) at /users/{key} or
   * /users('{key}'), 404 when none; and /users?$filter=mail eq '…', a list (400 for any other filter).
   */
  function answerUserLookup(res: ServerResponse, url: URL): void {
    const live = tenant.activeUsers();
    const entry = (user: FakeUser) => ({ id: user.id });
    if (url.pathname === '/v1.0/users') {
      const mail = MAIL_FILTER.exec(url.searchParams.get('$filter') ?? '');
      if (mail?.[1] === undefined) return send(res, 400, graphError(400, 'Request_UnsupportedQuery', 'The fake serves only $filter=mail eq \'…\'.'));
      const wanted = mail[1].replace(/''/g, "'").toLowerCase();
      return send(res, 200, { '@odata.context': `${origin}/v1.0/$metadata#users(id)`, value: live.filter((user) => user.mail?.toLowerCase() === wanted).map(entry) });
    }
    const raw = USER_KEY_PATH.exec(url.pathname)?.[1] ?? USER_PAREN_KEY_PATH.exec(url.pathname)?.[1]?.replace(/''/g, "'") ?? '';
    const key = decodeURIComponent(raw).toLowerCase();
    const user = live.find((candidate) => candidate.id === key || candidate.userPrincipalName.toLowerCase() === key);
    if (user === undefined) return send(res, 404, graphError(404, 'Request_ResourceNotFound', `Resource '${key}' does not exist or one of its queried reference-property objects are not present.`));
    return send(res, 200, { '@odata.context': `${origin}/v1.0/$metadata#users(id)/$entity`, ...entry(user) });
  }

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL, target: RequestTarget): Promise<void> {
    const method = req.method ?? 'GET';
    const path = url.pathname;

    // ---- Entra ----
    const metadata = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(path);
    if (method === 'GET' && metadata?.[1]) {
      const answer = tokens.openIdConfiguration(origin, metadata[1]);
      return send(res, answer.status, answer.body);
    }
    if (method === 'GET' && /^\/[^/]+\/discovery\/v2\.0\/keys$/.test(path)) return send(res, 200, { keys: [] });
    if (method === 'GET' && path === '/common/discovery/instance') {
      const host = new URL(origin).host;
      return send(res, 200, {
        tenant_discovery_endpoint: `${origin}/${tenantId}/v2.0/.well-known/openid-configuration`,
        'api-version': '1.1',
        metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
      });
    }
    const tokenPath = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path);
    if (tokenPath?.[1]) {
      if (method !== 'POST') return send(res, 405, { error: 'invalid_request' });
      const form = new URLSearchParams(await readBody(req));
      const answer = tokens.token(`${origin}${path}`, tokenPath[1], form);
      return send(res, answer.status, answer.body, { 'Cache-Control': 'no-store' });
    }

    // ---- Graph ----
    if (target !== 'users' && target !== 'groups' && target !== 'subscriptions' && target !== 'applications' && target !== 'domains' && target !== 'mailboxSettings' && target !== 'userLookup') return send(res, 404, graphError(404, 'Request_ResourceNotFound', `Resource '${path}' does not exist.`));
    const authorization = req.headers.authorization;
    if (!tokens.isValidBearer(authorization)) {
      return send(res, 401, graphError(401, 'InvalidAuthenticationToken', authorization ? 'Access token validation failure. Invalid audience.' : 'Access token is empty.'), { 'WWW-Authenticate': 'Bearer realm=""' });
    }
    const fault = faults.take(target, path);
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (res.destroyed) return;
    if (fault?.status !== undefined) {
      const headers: Record<string, string> = fault.retryAfterSeconds !== undefined ? { 'Retry-After': String(fault.retryAfterSeconds) } : {};
      return send(res, fault.status, graphError(fault.status, fault.code), headers);
    }
    if (fault?.malformedJson) return send(res, 200, '{"@odata.context":"$metadata#users","value":[{"id":"0f1e');
    if (target === 'subscriptions') return sendSubscriptionAnswer(res, await subscriptions.handle(method, path, () => readBody(req)));
    if (target === 'applications') return answerApplications(res, path);
    if (target === 'domains') {
      if (!permissions.includes('Domain.Read.All')) return send(res, 403, graphError(403));
      return send(res, 200, { '@odata.context': `${origin}/v1.0/$metadata#domains`, value: tenant.listDomains() });
    }
    if (target === 'userLookup') return answerUserLookup(res, url);
    if (target === 'mailboxSettings') {
      // As Graph answers: 403 without MailboxSettings.Read, 404 for a user without a mailbox (or unknown), else { value }.
      if (!subscriptions.permissions.includes('MailboxSettings.Read')) {
        return send(res, 403, graphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.'));
      }
      const userId = decodeURIComponent(MAILBOX_PURPOSE_PATH.exec(path)?.[1] ?? '');
      const user = tenant.userState(userId) === 'active' ? tenant.getUser(userId) : undefined;
      if (user === undefined || user.mailboxPurpose === null) {
        return send(res, 404, graphError(404, 'MailboxNotEnabledForRESTAPI', 'The mailbox is either inactive, soft-deleted, or is hosted on-premise.'));
      }
      return send(res, 200, { '@odata.context': `${origin}/v1.0/$metadata#users('${userId}')/mailboxSettings/userPurpose`, value: user.mailboxPurpose });
    }

    const kind: DeltaKind = target;
    const prefer = parsePrefer(req.headers.prefer);
    const pageSize = Math.max(1, Math.min(prefer.maxPageSize ?? defaultPageSize, maxPageSize[kind]));
    const skipToken = url.searchParams.get('$skiptoken') ?? url.searchParams.get('$skipToken');
    const deltaToken = url.searchParams.get('$deltatoken') ?? url.searchParams.get('$deltaToken');
    const selectParam = url.searchParams.get('$select');
    const select = selectParam ? selectParam.split(',').map((s) => s.trim()).filter((s) => s.length > 0) : undefined;

    let outcome: DeltaOutcome;
    if (skipToken !== null) {
      outcome = rounds.resumeSkip(kind, skipToken);
    } else if (deltaToken === 'latest') {
      outcome = rounds.latest(kind, select);
    } else if (deltaToken !== null) {
      outcome = rounds.resumeDelta(kind, deltaToken, pageSize, prefer.minimal);
    } else {
      const unknown = select ? rounds.unknownProperties(kind, select) : [];
      if (unknown.length > 0) {
        return send(res, 400, graphError(400, 'Request_BadRequest', `Could not find a property named '${unknown[0] ?? ''}' on type 'microsoft.graph.${kind === 'users' ? 'user' : 'group'}'.`));
      }
      outcome = rounds.start(kind, select, pageSize);
    }

    if (outcome.type === 'expired') {
      return send(
        res,
        expiredStatus,
        graphError(expiredStatus, 'syncStateNotFound', 'The sync state generation is not found. The delta token is expired and data must be synchronized again.'),
        expiredStatus === 410 ? { Location: `${origin}/v1.0/${kind}/delta` } : {},
      );
    }
    if (outcome.type === 'badRequest') return send(res, 400, graphError(400, outcome.code, outcome.message));

    const body: Record<string, unknown> = { '@odata.context': `${origin}/v1.0/$metadata#${kind}` };
    if (!fault?.omitLinks) {
      if (outcome.nextSkipToken) body['@odata.nextLink'] = `${origin}/v1.0/${kind}/delta?$skiptoken=${outcome.nextSkipToken}`;
      if (outcome.deltaToken) body['@odata.deltaLink'] = `${origin}/v1.0/${kind}/delta?$deltatoken=${outcome.deltaToken}`;
    }
    body.value = outcome.value;
    const headers: Record<string, string> = { 'request-id': crypto.randomUUID() };
    if (prefer.maxPageSize !== undefined) headers['Preference-Applied'] = `odata.maxpagesize=${pageSize}`;
    return send(res, 200, body, headers);
  }

  const server: Server = createServer(
    { cert: readFileSync(join(FAKE_TLS_DIR, 'server.pem')), key: readFileSync(join(FAKE_TLS_DIR, 'server.key')) },
    (req, res) => {
      const url = new URL(req.url ?? '/', origin || 'https://127.0.0.1');
      const method = req.method ?? 'GET';
      const target = targetOf(method, url.pathname);
      const record: RequestRecord = { method, path: url.pathname, query: Object.fromEntries(url.searchParams), target, status: 0, at: Date.now() };
      requests.push(record);
      res.on('finish', () => { record.status = res.statusCode; });
      handle(req, res, url, target).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, graphError(500, 'InternalServerError', `fake Graph failed: ${error instanceof Error ? error.message : String(error)}`));
        else res.destroy();
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  }).catch(async (error: unknown) => {
    await subscriptions.close(); // it already listens to the tenant
    throw error;
  });
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    authorityHost: origin,
    graphEndpoint: origin,
    tenantId,
    clientId,
    tenant,
    faults,
    requests,
    tokenRequests: tokens.tokenRequests,
    sourceConfig: (auth, name = 'Default') => ({
      name,
      tenantId,
      authorityHost: origin,
      graphEndpoint: origin,
      auth: auth ?? { kind: 'clientSecret', clientId, clientSecret: options.clientSecret ?? '' },
    }),
    deltaRequests: (kind) => requests.filter((r) => (kind ? r.target === kind : r.target === 'users' || r.target === 'groups')),
    expireTokens: (expireOptions) => {
      expiredStatus = expireOptions?.status ?? 410;
      rounds.expireAll();
    },
    revokeAccessTokens: () => tokens.revokeAccessTokens(),
    subscriptions,
    close: async () => {
      await subscriptions.close();
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
