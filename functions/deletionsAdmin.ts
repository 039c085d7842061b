import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { parseAdminBody } from '../src/setup/adminRequestBody';
import { getProcessLogger, loggerForInvocation } from '../src/setup/invocationLogger';
import { getWorkerRuntime } from '../src/setup/workerRuntime';
import { approveDeletionHold, listDeletionHolds } from '../src/sync/deletionAdmin';

const approveBody = z.strictObject({
  destination: z.string().min(1),
  source: z.string().min(1),
  kind: z.enum(['users', 'groups']),
  holdId: z.string().min(1),
  approvedBy: z.string().trim().min(1).max(200),
});

/**
 * /api/deletions (admin key): GET lists the held deletions (counts, reason, the staged ids and
 * UPNs; `?limit=` staged objects per hold, default 1000); POST approves one hold as listed:
 * `{ "destination", "source", "kind", "holdId", "approvedBy" }`. The approval is audited and the
 * deletions go out with the next sync. 409 when the hold changed since it was listed.
 */
export async function deletionsAdmin(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const logger = loggerForInvocation(context, { trigger: 'deletionsAdmin' });
  const runtime = await getWorkerRuntime(getProcessLogger());
  const deps = { deletions: runtime.deletions, audit: runtime.audit, ledger: runtime.ledger, mirror: runtime.mirror };
  if (request.method === 'GET') {
    const limitText = request.query.get('limit');
    const limit = limitText === null ? 1000 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 0 || limit > 100_000) return { status: 400, jsonBody: { error: 'limit: a whole number from 0 to 100000' } };
    return { status: 200, jsonBody: { holds: await listDeletionHolds(deps, { stagedLimit: limit }) } };
  }

  const parsed = parseAdminBody(await request.text(), approveBody, '{ "destination", "source", "kind", "holdId", "approvedBy" }');
  if (!parsed.ok) return { status: 400, jsonBody: { error: parsed.error } };
  const result = await approveDeletionHold(deps, { ...parsed.data, via: 'http' });
  if (result.status === 'notFound') return { status: 404, jsonBody: { error: result.message } };
  if (result.status === 'changed') return { status: 409, jsonBody: { error: result.message, hold: result.hold } };
  logger.warn('deletions.approved', { destination: result.hold.destination, source: result.hold.source, kind: result.hold.kind, holdId: result.hold.holdId, count: result.hold.held, approvedBy: result.approval.approvedBy });
  return { status: 200, jsonBody: { approved: result.approval, note: 'the held deletions go out with the next sync' } };
}

app.http('deletionsAdmin', { methods: ['GET', 'POST'], authLevel: 'admin', route: 'deletions', handler: deletionsAdmin });
