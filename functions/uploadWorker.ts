import { app, type InvocationContext } from '@azure/functions';
import { getProcessLogger, loggerForInvocation } from '../src/setup/invocationLogger';
import { runUploadMessage } from '../src/setup/messageHandlers';
import { getWorkerRuntime } from '../src/setup/workerRuntime';
import { parseConnectorMessage } from '../src/sync/messages';

/**
 * Sends one batch of objects to one destination. A destination that refuses, stays unavailable or
 * asks for a long wait does not make it throw (the destination is quarantined, or the objects wait
 * in the ledger); it throws on an unexpected failure (storage, a bug),
 * so the host retries the message (maxDequeueCount in host.json) and then moves it to the poison
 * queue; the next sync re-drives those objects from the upload ledger.
 */
export async function uploadWorker(message: unknown, context: InvocationContext): Promise<void> {
  const parsed = parseConnectorMessage(message);
  if (parsed.type !== 'upload') throw new Error(`uploadWorker received a ${parsed.type} message; it only handles uploads`);
  const logger = loggerForInvocation(context, { runId: parsed.runId, dequeueCount: context.triggerMetadata?.dequeueCount });
  const runtime = await getWorkerRuntime(getProcessLogger());
  await runUploadMessage(runtime, parsed, logger);
}

app.storageQueue('uploadWorker', { queueName: '%STORAGE_PREFIX%-uploads', connection: 'AzureWebJobsStorage', handler: uploadWorker });
