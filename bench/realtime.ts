/**
 * The real-time phases of the bench (issue 14), at one tenant size: `serve` runs in the bench
 * process on the embedded Azurite, the fake Graph (child process) subscribes it through the real
 * validation handshake and delivers batched change notifications (100 ms batching window) after
 * each mutation.
 *
 * - latency: 100 title changes in waves of 1–8, waves 11 s apart (notified pulls of a source start
 *   at least 10 s apart); per change, from the mutation in the fake tenant to the moment the fake
 *   Signature 365 holds the new title (checked every 5 ms in the fakes process, same clock);
 * - the spacing's price: 20 changes 2 s apart, most arriving while the source's gate is closed;
 * - acknowledgement: 1,000 valid notifications, one per POST, 8 in flight, answered by the webhook;
 * - storm: 10,000 valid notifications for one source spread over 60 s; pulls started, counted from
 *   the connector's `sync.start` log events, overall and in any 10 s window.
 */
import { freePort } from '../src/setup/freePort';
import { resolveConfig } from '../src/config/resolve';
import { startEmbeddedAzurite } from '../src/setup/embeddedAzurite';
import { createLogger } from '../src/setup/logging';
import { startServe } from '../src/serve/serveApp';
import { TableSubscriptionStore } from '../src/store/subscriptionStore';
import { control, startFakes } from './fakesClient';

const round = (value: number, digits = 3) => Number(value.toFixed(digits));

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function summary(values: readonly number[]): { count: number; p50: number; p90: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50: round(percentile(sorted, 50)), p90: round(percentile(sorted, 90)), p99: round(percentile(sorted, 99)), max: round(sorted.at(-1) ?? Number.NaN) };
}


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A seeded generator, so the waves are the same on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

export async function runRealtime(users: number): Promise<Record<string, unknown>> {
  process.stderr.write(`${users} users, real-time path (serve, Azurite in memory)\n`);
  const { info: fakes, child } = await startFakes(users, ['--notify-batch-ms', '100']);
  const azurite = await startEmbeddedAzurite({});
  const storage = { kind: 'connectionString' as const, connectionString: azurite.connectionString, prefix: 'rt' };
  const syncStarts: number[] = [];
  const logger = createLogger({
    level: 'info',
    sink: { write: (line) => { if (line.includes('"event":"sync.start"')) syncStarts.push(Date.now()); } },
  });
  const config = resolveConfig({
    EntraId: { Default: { TenantId: fakes.graph.tenantId, ClientId: fakes.graph.clientId, ClientSecret: fakes.graph.clientSecret, AuthorityHost: fakes.graph.authorityHost, GraphEndpoint: fakes.graph.graphEndpoint } },
    Signature365: { Bench: { Token: fakes.s365.token, Endpoint: fakes.s365.endpoint } },
    Mappings: [{ From: 'EntraId:Default', To: 'Signature365:Bench', LimitToGroups: [fakes.allStaffGroupId] }],
  }, process.env);
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const serve = await startServe({ config, logger, env: {}, port, host: '127.0.0.1', publicUrl, runtime: { storage } });
  try {
    // serve's first tick: subscriptions, then the full sync; wait until the destination is complete and quiet.
    const firstSyncStarted = Date.now();
    await waitFor(async () => (await control<{ users: number }>(fakes, '/held')).users >= fakes.inScope, 600_000, 'the first full sync');
    const firstSyncSeconds = round((Date.now() - firstSyncStarted) / 1000, 1);
    // Let the spacing of notified pulls run out, so the first wave meets an idle source.
    await sleep(12_000);
    process.stderr.write(`  first full sync ${firstSyncSeconds} s; 100 mutations in waves\n`);

    // Latency: 100 mutations in waves.
    const random = seeded(14);
    let sent = 0;
    let waves = 0;
    while (sent < 100) {
      const size = Math.min(100 - sent, 1 + Math.floor(random() * 8));
      await control(fakes, `/realtime/mutate?count=${size}`);
      sent += size;
      waves += 1;
      await sleep(11_000);
    }
    await waitFor(async () => (await control<{ pending: number }>(fakes, '/realtime/results')).pending === 0, 60_000, 'every mutation to arrive');
    const latency = await control<{ latenciesMs: number[]; pending: number }>(fakes, '/realtime/results');

    // The price of the 10 s spacing: 20 mutations 2 s apart, each arriving while the gate is closed.
    process.stderr.write('  20 mutations 2 s apart\n');
    await sleep(11_000);
    for (let i = 0; i < 20; i += 1) {
      await control(fakes, '/realtime/mutate?count=1');
      await sleep(2000);
    }
    await waitFor(async () => (await control<{ pending: number }>(fakes, '/realtime/results')).pending === 0, 60_000, 'every continuous mutation to arrive');
    const continuous = (await control<{ latenciesMs: number[] }>(fakes, '/realtime/results')).latenciesMs.slice(latency.latenciesMs.length);
    process.stderr.write('  1,000 notifications, then a storm of 10,000 in 60 s\n');

    // Acknowledgement and storm: notifications as Graph would send them for the users subscription.
    const subscriptions = await new TableSubscriptionStore(storage).listSubscriptions();
    const users_ = subscriptions.find((s) => s.kind === 'users');
    if (users_ === undefined) throw new Error('serve made no users subscription');
    const notificationUrl = `${publicUrl}/api/graph/notifications`;
    const body = (n: number) => JSON.stringify({
      value: [{
        subscriptionId: users_.id, clientState: users_.clientState, changeType: 'updated', tenantId: fakes.graph.tenantId,
        resource: `Users/00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, subscriptionExpirationDateTime: users_.expiresAt,
        resourceData: { '@odata.type': '#Microsoft.Graph.User', id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, organizationId: fakes.graph.tenantId },
      }],
    });
    const post = async (n: number): Promise<{ ms: number; status: number }> => {
      const started = performance.now();
      const response = await fetch(notificationUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: body(n) });
      await response.arrayBuffer();
      return { ms: performance.now() - started, status: response.status };
    };
    const ackTimes: number[] = [];
    const ackStatuses = new Map<number, number>();
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < 1000) {
        next += 1;
        const { ms, status } = await post(next);
        ackTimes.push(ms);
        ackStatuses.set(status, (ackStatuses.get(status) ?? 0) + 1);
      }
    }));
    await sleep(12_000);

    const stormStart = Date.now();
    const stormStatuses = new Map<number, number>();
    const stormTimes: number[] = [];
    const inFlight = new Set<Promise<void>>();
    for (let i = 0; i < 10_000; i += 1) {
      // 10,000 over 60 s: one every 6 ms on average, at most 32 in flight.
      const due = stormStart + (i * 60_000) / 10_000;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      while (inFlight.size >= 32) await Promise.race(inFlight);
      const request = post(1000 + i).then(({ ms, status }) => {
        stormTimes.push(ms);
        stormStatuses.set(status, (stormStatuses.get(status) ?? 0) + 1);
      }).finally(() => inFlight.delete(request));
      inFlight.add(request);
    }
    await Promise.all(inFlight);
    const stormEnd = Date.now();
    await sleep(12_000);
    const stormPulls = syncStarts.filter((at) => at >= stormStart && at <= stormEnd + 1000);
    let maxIn10s = 0;
    for (const start of stormPulls) maxIn10s = Math.max(maxIn10s, stormPulls.filter((at) => at >= start && at < start + 10_000).length);

    const result = {
      users, store: 'memory', mutations: sent, waves, waveSpacingSeconds: 11, graphBatchWindowMs: 100, firstFullSyncSeconds: firstSyncSeconds,
      mutationToAcknowledgedMs: { ...summary(latency.latenciesMs), missing: latency.pending },
      continuousMutationsEvery2sMs: summary(continuous),
      webhookAcknowledgementMs: { ...summary(ackTimes), statuses: Object.fromEntries(ackStatuses) },
      storm: {
        notifications: 10_000, seconds: round((stormEnd - stormStart) / 1000, 1), pullsStarted: stormPulls.length, maxPullsIn10s: maxIn10s,
        acknowledgementMs: summary(stormTimes), statuses: Object.fromEntries(stormStatuses),
      },
      webhookCounters: { ...serve.runtime.webhookCounters },
    };
    process.stderr.write(`  latency p50 ${result.mutationToAcknowledgedMs.p50} ms, p99 ${result.mutationToAcknowledgedMs.p99} ms; ack p99 ${result.webhookAcknowledgementMs.p99} ms; storm ${stormPulls.length} pulls\n`);
    return result;
  } finally {
    await serve.stop();
    await azurite.stop();
    await control(fakes, '/close').catch(() => undefined);
    child.kill();
  }
}
