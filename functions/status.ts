import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { processScrubber } from '../src/setup/secretScrubber';
import { getProcessLogger } from '../src/setup/invocationLogger';
import { getWorkerRuntime } from '../src/setup/workerRuntime';
import { readConnectorStatus } from '../src/sync/status';

/** GET /api/status (function key): the same view as `s365-connector status --json`. */
export async function status(_request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const runtime = await getWorkerRuntime(getProcessLogger());
  const body = processScrubber.scrub(JSON.stringify(await readConnectorStatus(runtime)));
  return { status: 200, headers: { 'Content-Type': 'application/json' }, body };
}

app.http('status', { methods: ['GET'], authLevel: 'function', route: 'status', handler: status });
