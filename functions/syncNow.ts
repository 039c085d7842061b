import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { randomUUID } from 'node:crypto';
import { getProcessLogger, loggerForInvocation } from '../src/setup/invocationLogger';
import { getWorkerRuntime } from '../src/setup/workerRuntime';
import { parseSyncNowRequest } from '../src/sync/syncNowRequest';

/**
 * POST /api/sync-now (function key): queues a pull and answers 202 with the run id. The pull runs
 * in pullWorker, so a large tenant never hits the HTTP timeout, and the request is durable before
 * it is acknowledged.
 */
export async function syncNow(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const text = await request.text();
  const parsed = parseSyncNowRequest(text);
  if (!parsed.ok) return { status: 400, jsonBody: { error: parsed.error } };
  const runId = randomUUID();
  const logger = loggerForInvocation(context, { runId, trigger: 'syncNow' });
  const runtime = await getWorkerRuntime(getProcessLogger());
  if (parsed.value.source !== undefined && !runtime.config.sources.some((s) => s.name === parsed.value.source)) {
    return { status: 400, jsonBody: { error: `source: "${parsed.value.source}" is not defined under EntraId; defined: ${runtime.config.sources.map((s) => s.name).join(', ')}` } };
  }
  await runtime.queues.send(runtime.queues.pullRequests, {
    v: 1, type: 'pull', runId, full: parsed.value.full, reason: 'syncNow', requestedAt: new Date().toISOString(),
    ...(parsed.value.source !== undefined ? { source: parsed.value.source } : {}),
  });
  logger.info('syncNow.queued', { full: parsed.value.full, source: parsed.value.source });
  return { status: 202, jsonBody: { runId, queued: true, full: parsed.value.full, source: parsed.value.source ?? null } };
}

app.http('syncNow', { methods: ['POST'], authLevel: 'function', route: 'sync-now', handler: syncNow });
