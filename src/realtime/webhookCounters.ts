/** What the webhook saw since the process started; `serve` shows it in /api/status, the Functions app logs it. */
export interface WebhookCounters {
  requests: number;
  validations: number;
  /** Notifications that passed every check. */
  accepted: number;
  unknownSubscription: number;
  clientStateMismatch: number;
  tenantMismatch: number;
  lifecycleEvents: number;
  /** Lifecycle events of a kind this version does not know: acknowledged, nothing done. */
  lifecycleIgnored: number;
  pullsQueued: number;
  pullsCoalesced: number;
  /** 4xx answers (bad method, type, size, JSON, key). */
  rejected: number;
  /** 5xx answers (storage unavailable while persisting; Graph retries). */
  failed: number;
}

export function newWebhookCounters(): WebhookCounters {
  return {
    requests: 0, validations: 0, accepted: 0, unknownSubscription: 0, clientStateMismatch: 0, tenantMismatch: 0,
    lifecycleEvents: 0, lifecycleIgnored: 0, pullsQueued: 0, pullsCoalesced: 0, rejected: 0, failed: 0,
  };
}
