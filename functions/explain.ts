import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { explainDependencies } from '../src/setup/explainDependencies';
import { getProcessLogger } from '../src/setup/invocationLogger';
import { processScrubber } from '../src/setup/secretScrubber';
import { getWorkerRuntime } from '../src/setup/workerRuntime';
import { explainUser } from '../src/sync/explain';

/** GET /api/explain?user=<object id, UPN or mail> (function key): the answer of `s365-connector explain --json`; 404 when no source holds the user. */
export async function explain(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const user = request.query.get('user')?.trim() ?? '';
  if (user === '') return { status: 400, jsonBody: { error: 'give the user as ?user=<object id, userPrincipalName or mail>' } };
  const runtime = await getWorkerRuntime(getProcessLogger());
  const answer = await explainUser(explainDependencies(runtime), user);
  return { status: answer.found ? 200 : 404, headers: { 'Content-Type': 'application/json' }, body: processScrubber.scrub(JSON.stringify(answer)) };
}

/** Registered with a function key, like status: the answer names users and their records. */
export const explainRegistration = { methods: ['GET' as const], authLevel: 'function' as const, route: 'explain', handler: explain };

app.http('explain', explainRegistration);
