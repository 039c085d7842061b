import { app, type InvocationContext } from '@azure/functions';
import { getProcessLogger, loggerForInvocation } from '../src/setup/invocationLogger';
import { FUNCTION_RUN_BUDGET_IN_MS, getWorkerRuntime } from '../src/setup/workerRuntime';
import { parseConnectorMessage } from '../src/sync/messages';
import { describeFailures, runSync } from '../src/sync/runSync';

/** Runs a pull asked for by "sync now" (and, later, by change notifications). */
export async function pullWorker(message: unknown, context: InvocationContext): Promise<void> {
  const parsed = parseConnectorMessage(message);
  if (parsed.type !== 'pull') throw new Error(`pullWorker received a ${parsed.type} message; it only handles pull requests`);
  const logger = loggerForInvocation(context, { runId: parsed.runId, trigger: parsed.reason });
  const runtime = await getWorkerRuntime(getProcessLogger());
  const summary = await runSync(
    { ...runtime.syncDependencies(runtime.queueExecutor()), logger },
    {
      runId: parsed.runId, holder: `${runtime.holder}:${context.invocationId}`, forceFull: parsed.full,
      ...(parsed.source !== undefined ? { sources: [parsed.source] } : {}),
      deadlineAt: Date.now() + FUNCTION_RUN_BUDGET_IN_MS,
    },
  );
  if (summary.failures.length > 0) {
    throw new Error(`Pull ${parsed.runId} failed for: ${describeFailures(summary)}`);
  }
}

app.storageQueue('pullWorker', { queueName: '%STORAGE_PREFIX%-pull-requests', connection: 'AzureWebJobsStorage', handler: pullWorker });
