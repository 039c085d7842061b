/**
 * The HTTP front of `serve`, on node:http: the Graph webhook (notification and lifecycle URLs),
 * /api/status, /api/explain, /api/dashboard, /api/audit, /api/sync-now and /api/health. The webhook's
 * own checks (key, clientState) guard it; status, explain, the dashboard, audit and sync-now answer
 * loopback callers, or anyone with the API key when one is set.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { matchesSecret } from '../realtime/clientState';
import { LIFECYCLE_PATH, NOTIFICATION_PATH, isLoopbackHost } from '../realtime/notificationEndpoints';
import { handleWebhook, type WebhookDependencies, type WebhookRequest, type WebhookResponse } from '../realtime/webhookHandler';
import type { DashboardPage } from '../dashboard/dashboardPage';
import type { Logger } from '../sync/logger';
import { errorFields } from '../sync/logger';

export interface ServeRoutes {
  webhook: () => WebhookDependencies;
  /** The status document (already scrubbed of secrets). */
  status: () => Promise<string>;
  /** GET /api/audit: the audit trail for the query parameters (answerAuditRequest; the body already scrubbed of secrets). */
  audit: (parameter: (name: string) => string | null) => Promise<{ status: number; body: string }>;
  /** The status page (already scrubbed of secrets). */
  dashboard: () => Promise<DashboardPage>;
  /** The explain answer for ?user= (already scrubbed of secrets), and whether any source holds the user. */
  explain: (user: string) => Promise<{ found: boolean; body: string }>;
  /** Queues a pull like POST /api/sync-now of the Functions app; returns the answer. */
  syncNow: (body: string) => Promise<{ status: number; body: unknown }>;
  /** When set, status, explain and sync-now need it (header x-api-key or ?code=) from non-loopback callers. */
  apiKey?: string;
  logger: Logger;
}

const MAX_ADMIN_BODY_BYTES = 64 * 1024;

/** Reads at most `limit` bytes; undefined (and the rest discarded) when the body is longer. */
export function readLimited(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    request.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => { if (!over) resolve(Buffer.concat(chunks)); });
    request.on('error', reject);
  });
}

function asWebhookRequest(request: IncomingMessage, url: URL): WebhookRequest {
  return {
    method: request.method ?? 'GET',
    query: url.searchParams,
    header: (name) => {
      const value = request.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    readBody: (limit) => readLimited(request, limit),
  };
}

function send(response: ServerResponse, answer: WebhookResponse): void {
  response.writeHead(answer.status, { ...answer.headers, 'Content-Length': Buffer.byteLength(answer.body) });
  response.end(answer.body);
}

function sendJson(response: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  send(response, { status, headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...extra }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

function isLoopbackClient(request: IncomingMessage): boolean {
  const address = request.socket.remoteAddress ?? '';
  return isLoopbackHost(address) || address === '::ffff:127.0.0.1';
}

function adminAllowed(request: IncomingMessage, url: URL, apiKey: string | undefined): boolean {
  if (apiKey === undefined) return isLoopbackClient(request);
  const header = request.headers['x-api-key'];
  const given = typeof header === 'string' ? header : url.searchParams.get('code') ?? undefined;
  return matchesSecret(given, apiKey);
}

async function route(request: IncomingMessage, response: ServerResponse, routes: ServeRoutes): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://serve.invalid');
  const path = url.pathname.replace(/\/+$/, '');
  if (path === NOTIFICATION_PATH || path === LIFECYCLE_PATH) {
    const answer = await handleWebhook(asWebhookRequest(request, url), routes.webhook());
    // An oversized body was not read to its end: close rather than leave it in the connection.
    if (answer.status === 413) response.setHeader('Connection', 'close');
    send(response, answer);
    return;
  }
  if (path === '/api/health') {
    sendJson(response, 200, { ok: true });
    return;
  }
  if (path === '/api/status' || path === '/api/explain' || path === '/api/dashboard' || path === '/api/audit' || path === '/api/sync-now') {
    if (!adminAllowed(request, url, routes.apiKey)) {
      sendJson(response, 403, { error: routes.apiKey === undefined ? 'only loopback callers may use this endpoint; start serve with --api-key to allow others' : 'x-api-key is missing or wrong' });
      return;
    }
    if (path === '/api/status') {
      if (request.method !== 'GET') return sendJson(response, 405, { error: 'use GET' }, { Allow: 'GET' });
      sendJson(response, 200, await routes.status());
      return;
    }
    if (path === '/api/dashboard') {
      if (request.method !== 'GET') return sendJson(response, 405, { error: 'use GET' }, { Allow: 'GET' });
      const page = await routes.dashboard();
      send(response, { status: 200, headers: page.headers, body: page.body });
      return;
    }
    if (path === '/api/audit') {
      if (request.method !== 'GET') return sendJson(response, 405, { error: 'use GET' }, { Allow: 'GET' });
      const answer = await routes.audit((name) => url.searchParams.get(name));
      sendJson(response, answer.status, answer.body);
      return;
    }
    if (path === '/api/explain') {
      if (request.method !== 'GET') return sendJson(response, 405, { error: 'use GET' }, { Allow: 'GET' });
      const user = url.searchParams.get('user')?.trim() ?? '';
      if (user === '') return sendJson(response, 400, { error: 'give the user as ?user=<object id, userPrincipalName or mail>' });
      const answer = await routes.explain(user);
      sendJson(response, answer.found ? 200 : 404, answer.body);
      return;
    }
    if (request.method !== 'POST') return sendJson(response, 405, { error: 'use POST' }, { Allow: 'POST' });
    const body = await readLimited(request, MAX_ADMIN_BODY_BYTES);
    if (body === undefined) {
      response.setHeader('Connection', 'close');
      return sendJson(response, 413, { error: 'body too large' });
    }
    const answer = await routes.syncNow(body.toString('utf8'));
    sendJson(response, answer.status, answer.body);
    return;
  }
  sendJson(response, 404, { error: `no route ${path}; see ${NOTIFICATION_PATH}, ${LIFECYCLE_PATH}, /api/status, /api/explain, /api/dashboard, /api/audit, /api/sync-now, /api/health` });
}

export interface ServeHttp {
  server: Server;
  port: number;
  /** Stops accepting connections and waits for the requests in progress. */
  close(): Promise<void>;
}

export async function startServeHttp(routes: ServeRoutes, port: number, host: string): Promise<ServeHttp> {
  const server = createServer((request, response) => {
    route(request, response, routes).catch((error: unknown) => {
      routes.logger.error('serve.requestFailed', { path: (request.url ?? '').split('?')[0], ...errorFields(error) });
      if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
      else response.destroy();
    });
  });
  // Bounds on slow clients: a header or body trickled in forever must not hold a socket.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    }),
  };
}
