/**
 * When a destination is in quarantine, and for how long. Pure rules, plus the two writes that
 * apply them through the health port:
 * - a rejected token (401/403) waits for a person: 1 minute, doubling per consecutive failure, up
 *   to 24 hours between tries;
 * - a persistent rejection (404, 422, an answer that breaks the contract: resending the same
 *   request cannot help) is the same: it waits for a person (a wrong Endpoint, an API change),
 *   1 minute doubling to 24 hours, instead of throwing and looping through the poison queue;
 * - an outage (retries and their budget exhausted on 429/5xx/network) is retried at least hourly,
 *   so service resumes soon after it ends;
 * - the first success ends it.
 * While a destination is in quarantine nothing is sent to it; what it is owed waits in the ledger
 * (due at the end of the quarantine) and other destinations carry on.
 */
import type { DestinationHealth, DestinationHealthStore, QuarantineReason } from './ports';

export const QUARANTINE_CAP_IN_MS: Readonly<Record<QuarantineReason, number>> = { unauthorized: 24 * 3_600_000, unavailable: 3_600_000, rejected: 24 * 3_600_000 };

export function quarantineDelayInMs(consecutiveFailures: number, capInMs: number = QUARANTINE_CAP_IN_MS.unauthorized): number {
  return Math.min(60_000 * 2 ** Math.max(0, consecutiveFailures - 1), capInMs);
}

/** True while a destination is unhealthy and its retryAfter has not come: nothing is sent to it. */
export function isQuarantined(health: DestinationHealth | undefined, now: Date): boolean {
  return health !== undefined && !health.healthy && health.retryAfter !== null && Date.parse(health.retryAfter) > now.getTime();
}

/** Puts a destination into (a longer) quarantine; returns when it ends. */
export async function markUnhealthy(
  store: DestinationHealthStore,
  destination: string,
  reason: QuarantineReason,
  message: string,
  now: Date,
): Promise<DestinationHealth> {
  const before = await store.get(destination);
  const consecutiveFailures = (before?.healthy === false ? before.consecutiveFailures : 0) + 1;
  const health: DestinationHealth = {
    destination, healthy: false, consecutiveFailures, lastError: message.slice(0, 500), reason,
    retryAfter: new Date(now.getTime() + quarantineDelayInMs(consecutiveFailures, QUARANTINE_CAP_IN_MS[reason])).toISOString(),
    changedAt: now.toISOString(),
  };
  await store.put(health);
  return health;
}

export async function markHealthy(store: DestinationHealthStore, destination: string, now: Date): Promise<void> {
  await store.put({ destination, healthy: true, consecutiveFailures: 0, lastError: null, retryAfter: null, reason: null, changedAt: now.toISOString() });
}
