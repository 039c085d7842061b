import { app, type InvocationContext } from '@azure/functions';
import { getProcessLogger, loggerForInvocation } from '../src/setup/invocationLogger';
import { runPullMessage } from '../src/setup/messageHandlers';
import { FUNCTION_RUN_BUDGET_IN_MS, getWorkerRuntime } from '../src/setup/workerRuntime';
import { parseConnectorMessage } from '../src/sync/messages';

/** Runs a pull asked for by "sync now", by change notifications or by a subscription catch-up. */
export async function pullWorker(message: unknown, context: InvocationContext): Promise<void> {
  const parsed = parseConnectorMessage(message);
  if (parsed.type !== 'pull') throw new Error(`pullWorker received a ${parsed.type} message; it only handles pull requests`);
  const logger = loggerForInvocation(context, { runId: parsed.runId, trigger: parsed.reason });
  const runtime = await getWorkerRuntime(getProcessLogger());
  await runPullMessage(runtime, parsed, { logger, holder: `${runtime.holder}:${context.invocationId}`, deadlineAt: Date.now() + FUNCTION_RUN_BUDGET_IN_MS });
}

app.storageQueue('pullWorker', { queueName: '%STORAGE_PREFIX%-pull-requests', connection: 'AzureWebJobsStorage', handler: pullWorker });
