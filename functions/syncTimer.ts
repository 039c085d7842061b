import { app, type InvocationContext, type Timer } from '@azure/functions';
import { randomUUID } from 'node:crypto';
import { getProcessLogger, loggerForInvocation } from '../src/setup/invocationLogger';
import { FUNCTION_RUN_BUDGET_IN_MS, getWorkerRuntime } from '../src/setup/workerRuntime';
import { describeFailures, runSync } from '../src/sync/runSync';

export async function syncTimer(timer: Timer, context: InvocationContext): Promise<void> {
  const runId = randomUUID();
  const logger = loggerForInvocation(context, { runId, trigger: 'timer' });
  if (timer.isPastDue) logger.warn('timer.pastDue');
  const runtime = await getWorkerRuntime(getProcessLogger());
  const summary = await runSync(
    { ...runtime.syncDependencies(runtime.queueExecutor()), logger },
    { runId, holder: `${runtime.holder}:${context.invocationId}`, deadlineAt: Date.now() + FUNCTION_RUN_BUDGET_IN_MS },
  );
  if (summary.failures.length > 0) {
    // Thrown so the run shows as failed in Application Insights; the next tick retries from the checkpoints.
    throw new Error(`Sync run ${runId} failed for: ${describeFailures(summary)}`);
  }
}

app.timer('syncTimer', { schedule: '%SYNC_SCHEDULE%', runOnStartup: false, useMonitor: true, handler: syncTimer });
