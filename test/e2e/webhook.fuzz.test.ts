/**
 * A seeded fuzz of the Graph webhook over real HTTP: 10,000 malformed or hostile requests
 * (test/support/webhookFuzz.ts) against a running `serve` that holds real subscriptions, about 16
 * in flight, each answer compared with what the webhook's rules call for. Afterwards serve still
 * answers, none of the requests queued a pull or a lifecycle event (counters, the queues and every
 * message serve sent), the counters add up to what the requests should have been counted as, and
 * serve logged no failure. A genuine change notification still goes through at the end.
 *
 * Reproduce with FUZZ_SEED=<seed> (printed on failure); FUZZ_COUNT changes the number of requests.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningServe } from '../../src/serve/serveApp';
import { TableSubscriptionStore } from '../../src/store/subscriptionStore';
import { eventually, startRealtimeHarness, type RealtimeHarness } from '../support/realtimeHarness';
import { generateCase, type CounterName, type FuzzCase, type FuzzWorld } from '../support/webhookFuzz';

const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : randomInt(2 ** 31);
const COUNT = process.env.FUZZ_COUNT !== undefined ? Number(process.env.FUZZ_COUNT) : 10_000;
/** Subscription ids with lone surrogates are in the mix (regression below); FUZZ_LONE_SURROGATES=0 leaves them out. */
const LONE_SURROGATES = process.env.FUZZ_LONE_SURROGATES !== '0';
const CONCURRENCY = 16;
/** Reported per failing run; the rest are counted. */
const MAX_REPORTED = 25;

interface Outcome {
  status: number | undefined;
  headers: IncomingHttpHeaders;
  body: string;
  error?: string;
  ms: number;
}

let harness: RealtimeHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function send(agent: Agent, port: number, c: FuzzCase): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (outcome: Omit<Outcome, 'ms'>): void => {
      if (settled) return;
      settled = true;
      resolve({ ...outcome, ms: performance.now() - started });
    };
    const headers: Record<string, string> = { ...c.headers };
    if (c.body !== undefined) {
      if (c.chunked) headers['Transfer-Encoding'] = 'chunked';
      else headers['Content-Length'] = String(c.body.length);
    }
    const req = request({ host: '127.0.0.1', port, method: c.method, path: c.target, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= 64 * 1024) chunks.push(chunk);
      });
      res.on('end', () => done({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (error) => done({ status: res.statusCode, headers: res.headers, body: '', error: `response: ${error.message}` }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => done({ status: undefined, headers: {}, body: '', error: `${error.code ?? 'error'}: ${error.message}` }));
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    if (c.body === undefined) req.end();
    else if (c.chunked && c.body.length > 1) {
      const cut = Math.floor(c.body.length / 2);
      req.write(c.body.subarray(0, cut));
      req.end(c.body.subarray(cut));
    } else req.end(c.body);
  });
}

/** What is wrong with the answer to `c`; empty when it is as the rules say. */
function problemsOf(c: FuzzCase, o: Outcome): string[] {
  if (o.status === undefined) return [`no answer (${o.error ?? '?'})`];
  const want = c.expected;
  if (o.status !== want.status) return [`answered ${o.status}, expected ${want.status}; body ${o.body.slice(0, 200)}`];
  if (want.status === 404) return [];
  const problems: string[] = [];
  if (o.headers['x-content-type-options'] !== 'nosniff') problems.push('no X-Content-Type-Options: nosniff');
  if (o.headers['cache-control'] !== 'no-store') problems.push('no Cache-Control: no-store');
  if (want.status === 405 && o.headers.allow !== 'POST') problems.push(`405 with Allow ${String(o.headers.allow)}`);
  if (want.status === 200) {
    if (!String(o.headers['content-type']).startsWith('text/plain')) problems.push(`200 as ${String(o.headers['content-type'])}`);
    if (o.body !== want.token) problems.push(`200 echoed ${JSON.stringify(o.body.slice(0, 80))} instead of ${JSON.stringify((want.token ?? '').slice(0, 80))}`);
  }
  if (want.errorIncludes !== undefined && c.method !== 'HEAD') {
    let error = '';
    try {
      error = String((JSON.parse(o.body) as { error?: unknown }).error);
    } catch {
      problems.push(`error answer is not JSON: ${o.body.slice(0, 100)}`);
    }
    if (!error.includes(want.errorIncludes)) problems.push(`error "${error.slice(0, 160)}" does not name "${want.errorIncludes}"`);
  }
  return problems;
}

async function queuedCount(serve: RunningServe, name: 'pullRequests' | 'uploads' | 'subscriptionEvents'): Promise<number> {
  return (await serve.runtime.queues[name].getProperties()).approximateMessagesCount ?? 0;
}

/** The first sync and its catch-up pulls are done: every queue empty, twice in a row a moment apart. */
async function waitUntilIdle(serve: RunningServe): Promise<void> {
  const empty = async () => (await Promise.all([queuedCount(serve, 'pullRequests'), queuedCount(serve, 'uploads'), queuedCount(serve, 'subscriptionEvents')])).every((n) => n === 0);
  await eventually(async () => {
    if (!(await empty())) return false;
    await new Promise((resolve) => setTimeout(resolve, 700));
    return empty();
  }, 30_000, 'serve idle (queues empty)');
}

function tally(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

describe('the webhook under fuzzing', () => {
  it(`answers ${COUNT} malformed and hostile requests by the rules, queues nothing and keeps working`, async () => {
    harness = await startRealtimeHarness();
    const h = harness;
    const webhookKey = randomBytes(24).toString('base64url');
    const serve = await h.startServe({
      publicUrl: 'self', webhookKey, timerIntervalMs: 3_600_000, runtime: { storage: h.storage, minMsBetweenNotifiedPulls: 200 },
    });
    const source = h.graph.tenantId;
    await serve.tick();
    await eventually(() => h.s365.tenant('TenantA').users(source).length === h.tenant.activeUsers().length, 30_000, 'first sync');
    await waitUntilIdle(serve);
    const stored = await new TableSubscriptionStore(h.storage).listSubscriptions();
    expect(stored.map((s) => s.id).sort()).toEqual(h.graph.subscriptions.list().map((s) => s.id).sort());
    expect(stored).toHaveLength(2);
    const world: FuzzWorld = {
      webhookKey, tenantId: source, subscriptions: stored.map((s) => ({ id: s.id, clientState: s.clientState })), loneSurrogateIds: LONE_SURROGATES,
    };

    const sentDuringFuzz: string[] = [];
    let fuzzing = true;
    serve.runtime.queues.onSent((queueName) => { if (fuzzing) sentDuringFuzz.push(queueName); });
    const before = { ...serve.runtime.webhookCounters };
    const logsBefore = h.logs.length;

    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const expectedCounters = new Map<string, number>();
    const statuses = new Map<string, number>();
    const failures: string[] = [];
    let failureCount = 0;
    const slowest: { ms: number; label: string }[] = [];
    /** Bodies of exactly 1 MiB and nesting ~500,000 deep: how long each took. */
    const special: { ms: number; label: string }[] = [];
    let next = 0;
    const started = performance.now();
    const worker = async (): Promise<void> => {
      while (next < COUNT) {
        const index = next;
        next += 1;
        const c = generateCase(SEED, index, world);
        const outcome = await send(agent, serve.port, c);
        tally(statuses, String(outcome.status ?? outcome.error ?? 'none'));
        for (const [name, n] of Object.entries(c.expected.counters)) tally(expectedCounters, name, n);
        const problems = problemsOf(c, outcome);
        if (problems.length > 0) {
          failureCount += 1;
          if (failures.length < MAX_REPORTED) failures.push(`#${index} [${c.label}] ${c.method} ${c.target.slice(0, 160)}: ${problems.join('; ')}`);
        }
        slowest.push({ ms: Math.round(outcome.ms), label: `#${index} ${c.label}` });
        if (c.label.includes('veryDeep') || c.label.includes('padded:1048576')) special.push({ ms: Math.round(outcome.ms), label: `#${index} ${c.label} → ${outcome.status ?? outcome.error ?? '?'}` });
        if (slowest.length > 20) {
          slowest.sort((a, b) => b.ms - a.ms);
          slowest.length = 5;
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, () => worker()));
    const seconds = (performance.now() - started) / 1000;
    agent.destroy();
    slowest.sort((a, b) => b.ms - a.ms);
    console.info(`webhook fuzz: seed ${SEED}, ${COUNT} requests in ${seconds.toFixed(1)} s (${Math.round(COUNT / seconds)}/s), answers ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; slowest ${JSON.stringify(slowest.slice(0, 5))}; 1 MiB and deepest ${JSON.stringify(special)}`);

    const reproduce = `seed ${SEED} (FUZZ_SEED=${SEED} FUZZ_COUNT=${COUNT}${LONE_SURROGATES ? '' : ' FUZZ_LONE_SURROGATES=0'} npx vitest run test/e2e/webhook.fuzz.test.ts)`;
    const serveErrors = h.logs.slice(logsBefore).filter((line) => /"level":"error"/.test(line)).slice(0, 5);
    expect(failures, `${failureCount} of ${COUNT} answers broke the rules; ${reproduce}; serve logged ${serveErrors.join('\n') || 'no error'}`).toEqual([]);

    // Still up.
    const health = await fetch(`${serve.url}/api/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });

    // Counted as the requests were built, and nothing was accepted, queued or failed.
    const after = serve.runtime.webhookCounters;
    const deltas = Object.fromEntries((Object.keys(before) as CounterName[]).map((name) => [name, after[name] - before[name]]));
    const want = Object.fromEntries((Object.keys(before) as CounterName[]).map((name) => [name, expectedCounters.get(name) ?? 0]));
    expect(deltas, reproduce).toEqual(want);
    expect({ accepted: deltas.accepted, pullsQueued: deltas.pullsQueued, pullsCoalesced: deltas.pullsCoalesced, lifecycleEvents: deltas.lifecycleEvents, lifecycleIgnored: deltas.lifecycleIgnored, failed: deltas.failed })
      .toEqual({ accepted: 0, pullsQueued: 0, pullsCoalesced: 0, lifecycleEvents: 0, lifecycleIgnored: 0, failed: 0 });
    fuzzing = false;
    expect(sentDuringFuzz, reproduce).toEqual([]);
    expect(await queuedCount(serve, 'pullRequests')).toBe(0);
    expect(await queuedCount(serve, 'subscriptionEvents')).toBe(0);

    // No unhandled error, no storage failure, nothing at error level.
    const fuzzLogs = h.logs.slice(logsBefore);
    expect(fuzzLogs.filter((line) => /serve\.requestFailed|webhook\.persistFailed|"level":"error"/.test(line)), reproduce).toEqual([]);

    // The real subscriptions still deliver: a change made now reaches Signature 365.
    const user = h.tenant.activeUsers()[5];
    if (user === undefined) throw new Error('no user');
    h.tenant.updateUser(user.id, { jobTitle: 'After The Fuzz' });
    await eventually(() => h.s365.tenant('TenantA').user(source, user.id)?.jobTitle === 'After The Fuzz', 15_000, 'a genuine notification after the fuzz');
    expect(serve.runtime.webhookCounters.pullsQueued).toBeGreaterThan(before.pullsQueued);

    // With serve's readers stopped, nothing is left waiting.
    await serve.stop();
    expect(await queuedCount(serve, 'pullRequests')).toBe(0);
    expect(await queuedCount(serve, 'subscriptionEvents')).toBe(0);
  }, 180_000);

  /**
   * Regression (found by this fuzz): a subscriptionId holding a lone UTF-16 surrogate (valid JSON
   * "\ud800") passed the key check, the Table SDK threw URIError building the URL, and the webhook
   * answered 503 and logged webhook.persistFailed. It is an unknown subscription: 202, nothing logged.
   */
  it('a subscriptionId with a lone surrogate is an unknown subscription (202), not a storage failure (503)', async () => {
    harness = await startRealtimeHarness({ users: 3, groups: 1 });
    const h = harness;
    const serve = await h.startServe({ timerIntervalMs: 3_600_000, runtime: { storage: h.storage } });
    await serve.tick();
    const logsBefore = h.logs.length;
    const failedBefore = serve.runtime.webhookCounters.failed;
    const answers: number[] = [];
    for (const id of ['\ud800', 'a\udc00', `${randomBytes(4).toString('hex')}\ud83d`]) {
      const response = await fetch(`${serve.url}/api/graph/notifications`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ value: [{ subscriptionId: id, clientState: 'forged' }] }),
      });
      answers.push(response.status);
    }
    expect({
      answers,
      failed: serve.runtime.webhookCounters.failed - failedBefore,
      errors: h.logs.slice(logsBefore).filter((line) => line.includes('webhook.persistFailed')).length,
    }).toEqual({ answers: [202, 202, 202], failed: 0, errors: 0 });
  });
});
