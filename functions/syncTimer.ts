import { app, type InvocationContext, type Timer } from '@azure/functions';
import { getProcessLogger, loggerForInvocation } from '../src/setup/invocationLogger';
import { runScheduledSync } from '../src/setup/messageHandlers';
import { FUNCTION_RUN_BUDGET_IN_MS, getWorkerRuntime } from '../src/setup/workerRuntime';

/** The delta timer. A failed source makes the invocation fail (visible in Application Insights); the next tick resumes from the checkpoints. */
export async function syncTimer(timer: Timer, context: InvocationContext): Promise<void> {
  const logger = loggerForInvocation(context, { trigger: 'timer' });
  if (timer.isPastDue) logger.warn('timer.pastDue');
  const runtime = await getWorkerRuntime(getProcessLogger());
  await runScheduledSync(runtime, { logger, holder: `${runtime.holder}:${context.invocationId}`, deadlineAt: Date.now() + FUNCTION_RUN_BUDGET_IN_MS });
}

app.timer('syncTimer', { schedule: '%SYNC_SCHEDULE%', runOnStartup: false, useMonitor: true, handler: syncTimer });
