import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getProcessLogger, loggerForInvocation } from '../src/setup/invocationLogger';
import { queueSyncNow } from '../src/setup/messageHandlers';
import { getWorkerRuntime } from '../src/setup/workerRuntime';

/**
 * POST /api/sync-now (function key): queues a pull and answers 202 with the run id. The pull runs
 * in pullWorker, so a large tenant never hits the HTTP timeout, and the request is durable before
 * it is acknowledged.
 */
export async function syncNow(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const logger = loggerForInvocation(context, { trigger: 'syncNow' });
  const runtime = await getWorkerRuntime(getProcessLogger());
  const answer = await queueSyncNow(runtime, await request.text(), logger);
  return { status: answer.status, jsonBody: answer.body };
}

app.http('syncNow', { methods: ['POST'], authLevel: 'function', route: 'sync-now', handler: syncNow });
