import { app, type InvocationContext } from '@azure/functions';
import { getProcessLogger, loggerForInvocation } from '../src/setup/invocationLogger';
import { runSubscriptionEvent } from '../src/setup/messageHandlers';
import { notificationEndpointsFromSettings } from '../src/setup/notificationSettings';
import { getWorkerRuntime } from '../src/setup/workerRuntime';
import { parseConnectorMessage } from '../src/sync/messages';

/**
 * Acts on a Graph lifecycle event the webhook verified: reauthorizes (or recreates) the subscription
 * and queues a catch-up pull. Throws when another instance manages subscriptions right now, so the
 * host delivers the event again after the visibility timeout.
 */
export async function subscriptionWorker(message: unknown, context: InvocationContext): Promise<void> {
  const parsed = parseConnectorMessage(message);
  if (parsed.type !== 'subscriptionEvent') throw new Error(`subscriptionWorker received a ${parsed.type} message; it only handles subscription events`);
  const logger = loggerForInvocation(context, { trigger: 'subscriptionWorker', source: parsed.source, event: parsed.event });
  const runtime = await getWorkerRuntime(getProcessLogger());
  await runSubscriptionEvent(runtime, parsed, notificationEndpointsFromSettings(process.env, runtime.config.options.deltaIntervalMinutes));
  logger.info('subscription.eventHandled', { kind: parsed.kind, subscriptionId: parsed.subscriptionId });
}

app.storageQueue('subscriptionWorker', { queueName: '%STORAGE_PREFIX%-subscription-events', connection: 'AzureWebJobsStorage', handler: subscriptionWorker });
