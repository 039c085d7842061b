/**
 * Microsoft Graph /subscriptions for one source: create, renew, reauthorize, delete and list the
 * change-notification subscriptions of the source's app. Errors are typed by what the caller does
 * next: a vanished subscription is recreated, a refused permission is reported and retried later,
 * a refused request (the validation handshake failed, a bad URL) is reported with Graph's reason.
 */
import type { EntraSourceConfig } from '../config/types';
import type { CreateSubscriptionRequest, GraphSubscription, SubscribedKind, SubscriptionsApi } from '../realtime/ports';
import { GraphRequestError } from './errors';
import { GRAPH_API_VERSION, SourceGraphClient, graphRoot, type GraphClientOptions, type GraphMethod } from './graphClient';
import { graphErrorOf, readBody, requestIdOf } from './responses';
import { GRAPH_PERMISSION } from './permissions';

/** The subscription is gone at Graph (expired, removed, or never there): recreate it. */
export class SubscriptionNotFoundError extends Error {
  override readonly name = 'SubscriptionNotFoundError';
}

/** Graph refused for lack of an application permission. */
export class SubscriptionForbiddenError extends Error {
  override readonly name = 'SubscriptionForbiddenError';
}

/** Graph refused the request itself (400), e.g. its validation request to the notification URL failed. */
export class SubscriptionRejectedError extends Error {
  override readonly name = 'SubscriptionRejectedError';
  readonly graphMessage: string;

  constructor(message: string, graphMessage: string) {
    super(message);
    this.graphMessage = graphMessage;
  }
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function toSubscription(json: unknown): GraphSubscription {
  const body = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
  const id = text(body.id);
  const expirationDateTime = text(body.expirationDateTime);
  if (id === null || expirationDateTime === null) throw new GraphRequestError('Graph answered a subscription request without id or expirationDateTime');
  return {
    id,
    resource: text(body.resource) ?? '',
    changeType: text(body.changeType) ?? '',
    notificationUrl: text(body.notificationUrl) ?? '',
    lifecycleNotificationUrl: text(body.lifecycleNotificationUrl),
    expirationDateTime,
  };
}

/** At most this many list pages: a tenant's app has a handful of subscriptions. */
const MAX_LIST_PAGES = 50;

export function createSubscriptionsApi(source: EntraSourceConfig, options: GraphClientOptions = {}): SubscriptionsApi {
  const graph = new SourceGraphClient(source, options);
  const base = `${graphRoot(source)}/${GRAPH_API_VERSION}/subscriptions`;

  async function call(method: GraphMethod, url: string, what: string, body?: unknown, kind?: SubscribedKind): Promise<unknown> {
    const response = await graph.request(method, url, body === undefined ? {} : { body, headers: { 'Content-Type': 'application/json' } });
    const textBody = await readBody(response, url, method);
    if (response.ok) {
      if (textBody === '') return undefined;
      try {
        return JSON.parse(textBody) as unknown;
      } catch (error) {
        throw new GraphRequestError(`Graph answered ${what} with a body that is not JSON`, { status: response.status, ...requestIdOf(response) }, { cause: error });
      }
    }
    const { code, message } = graphErrorOf(textBody);
    const reason = `${response.status}${code ? ` ${code}` : ''}${message ? `: ${message.slice(0, 300)}` : ''}`;
    if (response.status === 404) throw new SubscriptionNotFoundError(`Graph no longer has the subscription (${what}: ${reason})`);
    if (response.status === 403) {
      const permission = kind === 'groups' ? GRAPH_PERMISSION.groupReadAll : GRAPH_PERMISSION.userReadAll;
      throw new SubscriptionForbiddenError(
        `Graph refused to ${what} for source "${source.name}" (${reason}); the app needs the application permission ${permission} with admin consent`,
      );
    }
    if (response.status === 400) throw new SubscriptionRejectedError(`Graph refused to ${what} for source "${source.name}" (${reason})`, message ?? '');
    throw new GraphRequestError(`Graph answered HTTP ${reason} to ${what} for source "${source.name}"`, {
      status: response.status, ...(code ? { code } : {}), ...requestIdOf(response),
    });
  }

  return {
    async create(request: CreateSubscriptionRequest) {
      return toSubscription(await call('POST', base, `create the ${request.kind} subscription`, {
        changeType: request.changeType,
        notificationUrl: request.notificationUrl,
        lifecycleNotificationUrl: request.lifecycleNotificationUrl,
        resource: request.kind,
        expirationDateTime: request.expirationDateTime.toISOString(),
        clientState: request.clientState,
        latestSupportedTlsVersion: 'v1_2',
      }, request.kind));
    },
    async renew(id, expirationDateTime) {
      return toSubscription(await call('PATCH', `${base}/${encodeURIComponent(id)}`, 'renew a subscription', { expirationDateTime: expirationDateTime.toISOString() }));
    },
    async reauthorize(id) {
      await call('POST', `${base}/${encodeURIComponent(id)}/reauthorize`, 'reauthorize a subscription', {});
    },
    async delete(id) {
      try {
        await call('DELETE', `${base}/${encodeURIComponent(id)}`, 'delete a subscription');
      } catch (error) {
        if (!(error instanceof SubscriptionNotFoundError)) throw error;
      }
    },
    async list() {
      const found: GraphSubscription[] = [];
      let url: string | undefined = base;
      for (let page = 0; url !== undefined && page < MAX_LIST_PAGES; page += 1) {
        const body = (await call('GET', url, 'list subscriptions')) as { value?: unknown; '@odata.nextLink'?: unknown } | undefined;
        for (const item of Array.isArray(body?.value) ? body.value : []) found.push(toSubscription(item));
        url = typeof body?.['@odata.nextLink'] === 'string' ? body['@odata.nextLink'] : undefined;
      }
      return found;
    },
  };
}
