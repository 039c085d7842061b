/**
 * The Graph webhook, for the notification and the lifecycle URL alike, independent of the HTTP
 * host (the Functions adapter and `serve` both translate to and from these shapes).
 *
 * Graph's rules: the validation handshake is answered with the decoded token as text/plain within
 * 10 s; a notification is acknowledged with 2xx within 3 s, else it is retried (and a slow endpoint
 * gets notifications dropped). So the handler only persists (a coalesced pull request, or a
 * lifecycle event on its queue) and answers; the work happens in the queue workers. It never works
 * after replying. Storage failing while persisting answers 503, so Graph delivers again.
 */
import { matchesSecret } from './clientState';
import { parseNotifications, type ReceivedChange } from './notificationPayload';
import type { LifecycleEvent, PullGateStore, RealtimeQueue, StoredSubscription, SubscribedKind } from './ports';
import { requestNotifiedPull } from './pullCoalescer';
import type { SubscriptionLookup } from './subscriptionLookup';
import type { WebhookCounters } from './webhookCounters';
import type { Logger } from '../sync/logger';
import { errorFields } from '../sync/logger';

/** Graph's notification bodies are small; anything larger is not from Graph. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Graph's tokens are about 100 characters. */
const MAX_VALIDATION_TOKEN_CHARS = 2048;

export interface WebhookRequest {
  method: string;
  query: URLSearchParams;
  /** A request header, case-insensitive; undefined when absent. */
  header(name: string): string | undefined;
  /** The body, or undefined when it exceeds `limit` bytes (reading stops there). */
  readBody(limit: number): Promise<Buffer | undefined>;
}

export interface WebhookResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface WebhookDependencies {
  lookup: SubscriptionLookup;
  gates: PullGateStore;
  queue: RealtimeQueue;
  /** The tenant id of a configured source; undefined when the source is no longer configured. */
  tenantOf(source: string): string | undefined;
  /** When set, the `code` query parameter must equal it (the URL Graph was given carries it). */
  webhookKey?: string;
  counters: WebhookCounters;
  logger: Logger;
  now?: () => Date;
  minIntervalMs?: number;
}

const SECURITY_HEADERS = { 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' };

function answer(status: number, body = '', contentType = 'text/plain; charset=utf-8', extra: Record<string, string> = {}): WebhookResponse {
  return { status, headers: { ...SECURITY_HEADERS, 'Content-Type': contentType, ...extra }, body };
}

function rejected(deps: WebhookDependencies, status: number, reason: string, extra: Record<string, string> = {}): WebhookResponse {
  deps.counters.rejected += 1;
  return answer(status, JSON.stringify({ error: reason }), 'application/json; charset=utf-8', extra);
}

function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase();
  return mediaType === 'application/json';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Which subscription a notification proves to be from, or why it proves nothing. */
async function verify(item: ReceivedChange, deps: WebhookDependencies, seen: Map<string, Promise<StoredSubscription | undefined>>): Promise<StoredSubscription | 'unknownSubscription' | 'clientStateMismatch' | 'tenantMismatch'> {
  let lookup = seen.get(item.subscriptionId);
  if (lookup === undefined) {
    lookup = deps.lookup.find(item.subscriptionId);
    seen.set(item.subscriptionId, lookup);
  }
  const subscription = await lookup;
  if (subscription === undefined) return 'unknownSubscription';
  const tenant = deps.tenantOf(subscription.source);
  if (tenant === undefined) return 'unknownSubscription';
  if (!matchesSecret(item.clientState, subscription.clientState)) return 'clientStateMismatch';
  if (item.tenantId !== undefined && item.tenantId.toLowerCase() !== tenant.toLowerCase()) return 'tenantMismatch';
  return subscription;
}

export async function handleWebhook(request: WebhookRequest, deps: WebhookDependencies): Promise<WebhookResponse> {
  deps.counters.requests += 1;
  if (request.method.toUpperCase() !== 'POST') return rejected(deps, 405, 'only POST is accepted', { Allow: 'POST' });
  if (deps.webhookKey !== undefined && !matchesSecret(request.query.get('code') ?? undefined, deps.webhookKey)) {
    return rejected(deps, 401, 'the code query parameter is missing or wrong');
  }

  const token = request.query.get('validationToken');
  if (token !== null) {
    if (token === '' || token.length > MAX_VALIDATION_TOKEN_CHARS) return rejected(deps, 400, 'validationToken: empty or too long');
    deps.counters.validations += 1;
    return answer(200, token);
  }

  if (!isJson(request.header('content-type'))) return rejected(deps, 415, 'Content-Type must be application/json');
  const declaredLength = Number(request.header('content-length') ?? '0');
  if (Number.isFinite(declaredLength) && declaredLength > MAX_BODY_BYTES) return rejected(deps, 413, `body over ${MAX_BODY_BYTES} bytes`);
  const body = await request.readBody(MAX_BODY_BYTES);
  if (body === undefined) return rejected(deps, 413, `body over ${MAX_BODY_BYTES} bytes`);
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return rejected(deps, 400, 'body: not UTF-8');
  }
  const parsed = parseNotifications(text);
  if (!parsed.ok) return rejected(deps, 400, parsed.error);

  const seen = new Map<string, Promise<StoredSubscription | undefined>>();
  const sources = new Set<string>();
  const events = new Map<string, { source: string; kind: SubscribedKind; subscriptionId: string; event: LifecycleEvent }>();
  try {
    for (const item of parsed.batch.changes) {
      const verdict = await verify(item, deps, seen);
      if (typeof verdict === 'string') {
        deps.counters[verdict] += 1;
        continue;
      }
      deps.counters.accepted += 1;
      sources.add(verdict.source);
    }
    for (const item of parsed.batch.lifecycle) {
      const verdict = await verify(item, deps, seen);
      if (typeof verdict === 'string') {
        deps.counters[verdict] += 1;
        continue;
      }
      if (item.event === 'unknown') {
        deps.counters.lifecycleIgnored += 1;
        continue;
      }
      deps.counters.lifecycleEvents += 1;
      events.set(`${verdict.id}|${item.event}`, { source: verdict.source, kind: verdict.kind, subscriptionId: verdict.id, event: item.event });
    }
    for (const event of events.values()) await deps.queue.sendLifecycleEvent(event);
    for (const source of sources) {
      const outcome = await requestNotifiedPull(source, 'changeNotification', deps);
      deps.counters[outcome === 'queued' ? 'pullsQueued' : 'pullsCoalesced'] += 1;
    }
  } catch (error) {
    deps.counters.failed += 1;
    deps.logger.error('webhook.persistFailed', { ...errorFields(error) });
    return answer(503, JSON.stringify({ error: 'could not record the notification; deliver it again' }), 'application/json; charset=utf-8', { 'Retry-After': '10' });
  }
  return answer(202);
}
