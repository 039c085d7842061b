import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getProcessLogger, loggerForInvocation } from '../src/setup/invocationLogger';
import { getWorkerRuntime } from '../src/setup/workerRuntime';
import { APP_SETTINGS, readAppSetting } from '../src/setup/appSettings';
import { handleWebhook, type WebhookRequest } from '../src/realtime/webhookHandler';
import type { WebhookCounters } from '../src/realtime/webhookCounters';

function asWebhookRequest(request: HttpRequest): WebhookRequest {
  return {
    method: request.method,
    query: request.query,
    header: (name) => request.headers.get(name) ?? undefined,
    // The host has buffered the body already; the size check still keeps a huge one away from JSON.parse.
    readBody: async (limit) => {
      const body = Buffer.from(await request.arrayBuffer());
      return body.length > limit ? undefined : body;
    },
  };
}

/**
 * POST /api/graph/notifications and /api/graph/lifecycle: Microsoft Graph change and lifecycle
 * notifications. Anonymous at the host because the handler itself checks the key in `?code=`
 * (GRAPH_WEBHOOK_KEY), the same way under `serve` and in tests; each subscription's clientState is
 * then the origin check. Persists and answers within Graph's 3 s; the work happens in the queues.
 */
export async function graphWebhook(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const logger = loggerForInvocation(context, { trigger: 'graphWebhook' });
  const runtime = await getWorkerRuntime(getProcessLogger());
  const deps = runtime.webhookDependencies({ webhookKey: readAppSetting(process.env, APP_SETTINGS.webhookKey) });
  const before = { ...deps.counters };
  const response = await handleWebhook(asWebhookRequest(request), { ...deps, logger });
  const counted: Record<string, number> = {};
  for (const key of Object.keys(before) as (keyof WebhookCounters)[]) {
    const delta = deps.counters[key] - before[key];
    if (delta !== 0) counted[key] = delta;
  }
  logger.info('webhook.handled', { status: response.status, ...counted });
  return { status: response.status, headers: response.headers, body: response.body };
}

app.http('graphNotifications', { methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'], authLevel: 'anonymous', route: 'graph/notifications', handler: graphWebhook });
app.http('graphLifecycle', { methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'], authLevel: 'anonymous', route: 'graph/lifecycle', handler: graphWebhook });
