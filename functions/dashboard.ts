import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { dashboardPage } from '../src/dashboard/dashboardPage';
import { getProcessLogger } from '../src/setup/invocationLogger';
import { processScrubber } from '../src/setup/secretScrubber';
import { getWorkerRuntime } from '../src/setup/workerRuntime';

/** GET /api/dashboard (function key): the status page, one read-only HTML document without script. */
export async function dashboard(_request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const runtime = await getWorkerRuntime(getProcessLogger());
  const page = await dashboardPage(runtime);
  return { status: 200, headers: page.headers, body: processScrubber.scrub(page.body) };
}

app.http('dashboard', { methods: ['GET'], authLevel: 'function', route: 'dashboard', handler: dashboard });
