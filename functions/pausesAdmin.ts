import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { parseAdminBody } from '../src/setup/adminRequestBody';
import { getProcessLogger, loggerForInvocation } from '../src/setup/invocationLogger';
import { getWorkerRuntime } from '../src/setup/workerRuntime';
import { pauseMappings, resumeMappings } from '../src/sync/pauseAdmin';
import { resolvePauseSelection } from '../src/sync/pauses';

const changeBody = z.strictObject({
  action: z.enum(['pause', 'resume']),
  mapping: z.number().int().min(0).optional(),
  destination: z.string().min(1).optional(),
  all: z.literal(true).optional(),
  reason: z.string().trim().max(500).optional(),
  actor: z.string().trim().min(1).max(200),
});

/**
 * /api/pauses (admin key): GET lists the pauses in force; POST pauses or resumes, as the CLI's
 * `pause` and `resume` do: `{ "action": "pause" | "resume", "mapping": <Mappings index> |
 * "destination": "<name>" | "all": true, "reason"?, "actor" }`. Audited (via `http`, `actor` as
 * the caller states it: the admin key carries no identity). 400 for a body or selection that is
 * not valid, 409 when a single mapping is resumed under the global pause.
 */
export async function pausesAdmin(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const logger = loggerForInvocation(context, { trigger: 'pausesAdmin' });
  const runtime = await getWorkerRuntime(getProcessLogger());
  if (request.method === 'GET') return { status: 200, jsonBody: { pauses: await runtime.pauses.list() } };

  const parsed = parseAdminBody(await request.text(), changeBody, '{ "action": "pause" | "resume", "mapping" | "destination" | "all", "reason"?, "actor" }');
  if (!parsed.ok) return { status: 400, jsonBody: { error: parsed.error } };
  const { action, mapping, destination, all, reason, actor } = parsed.data;
  const selection = resolvePauseSelection(runtime.config, {
    ...(mapping !== undefined ? { mapping: String(mapping) } : {}), ...(destination !== undefined ? { destination } : {}), ...(all !== undefined ? { all } : {}),
  }, 'http');
  if (!selection.ok) return { status: 400, jsonBody: { error: selection.error } };
  const change = { targets: selection.targets, actor, via: 'http', reason: reason ?? '' };
  const deps = { pauses: runtime.pauses, audit: runtime.audit };
  if (action === 'pause') {
    const result = await pauseMappings(deps, change);
    logger.warn('mappings.paused', { pairs: result.paused.map((pause) => pause.pair), actor });
    return { status: 200, jsonBody: result };
  }
  const result = await resumeMappings(deps, change);
  if (result.blockedBy !== undefined) {
    return { status: 409, jsonBody: { error: 'every mapping is paused; a single mapping cannot be resumed under it: resume with { "action": "resume", "all": true }', pause: result.blockedBy } };
  }
  logger.warn('mappings.resumed', { pairs: result.resumed.map((pause) => pause.pair), actor });
  return { status: 200, jsonBody: result };
}

app.http('pausesAdmin', { methods: ['GET', 'POST'], authLevel: 'admin', route: 'pauses', handler: pausesAdmin });
