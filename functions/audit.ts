import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { processScrubber } from '../src/setup/secretScrubber';
import { getProcessLogger } from '../src/setup/invocationLogger';
import { getWorkerRuntime } from '../src/setup/workerRuntime';
import { answerAuditRequest } from '../src/sync/auditListing';

/** GET /api/audit?user=&since=&destination=&limit= (function key): the same view as `s365-connector audit --json`. */
export async function audit(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const runtime = await getWorkerRuntime(getProcessLogger());
  const answer = await answerAuditRequest({ trail: runtime.auditTrail, admin: runtime.audit }, runtime.config, (name) => request.query.get(name), new Date());
  return { status: answer.status, headers: { 'Content-Type': 'application/json' }, body: processScrubber.scrub(JSON.stringify(answer.body)) };
}

app.http('audit', { methods: ['GET'], authLevel: 'function', route: 'audit', handler: audit });
