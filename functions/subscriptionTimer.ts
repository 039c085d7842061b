import { app, type InvocationContext, type Timer } from '@azure/functions';
import { getProcessLogger, loggerForInvocation } from '../src/setup/invocationLogger';
import { runSubscriptionMaintenance } from '../src/setup/messageHandlers';
import { notificationEndpointsFromSettings } from '../src/setup/notificationSettings';
import { getWorkerRuntime } from '../src/setup/workerRuntime';

/**
 * Keeps the Graph subscriptions in shape on the sync schedule: creates missing ones, renews them at
 * half-life, replaces those made for an old URL or key. Usually one table query and no Graph call.
 */
export async function subscriptionTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  const logger = loggerForInvocation(context, { trigger: 'subscriptionTimer' });
  const runtime = await getWorkerRuntime(getProcessLogger());
  await runSubscriptionMaintenance(runtime, notificationEndpointsFromSettings(process.env, runtime.config.options.deltaIntervalMinutes), logger);
}

app.timer('subscriptionTimer', { schedule: '%SYNC_SCHEDULE%', runOnStartup: false, useMonitor: true, handler: subscriptionTimer });
