/**
 * What the real-time path needs from storage and from Graph, as the core sees it. Adapters live in
 * src/store (Table storage) and src/graph (the subscriptions API).
 */

/** The directory resources the connector subscribes to. */
export type SubscribedKind = 'users' | 'groups';

export const SUBSCRIBED_KINDS: readonly SubscribedKind[] = ['users', 'groups'];

/** One Graph subscription the connector created. `clientState` is a secret: it never leaves storage and the webhook. */
export interface StoredSubscription {
  id: string;
  source: string;
  kind: SubscribedKind;
  clientState: string;
  /** ISO time Graph gave as expirationDateTime. */
  expiresAt: string;
  /** Hash of the notification and lifecycle URLs it was created with, so a moved endpoint shows (the URLs carry a key). */
  endpointFingerprint: string;
  createdAt: string;
}

/** What the manager last concluded for one source and kind; shown by `status`, never holds a secret. */
export interface SubscriptionSlot {
  source: string;
  kind: SubscribedKind;
  state: 'active' | 'skipped' | 'failed' | 'off';
  /** A sentence for the administrator: why skipped, off or failed, and what to do. */
  detail: string;
  subscriptionId: string | null;
  expiresAt: string | null;
  /** Consecutive failures (backoff), 0 when active. */
  failures: number;
  /** Not before this time is creation tried again (failed or skipped slots). */
  nextAttemptAt: string | null;
  updatedAt: string;
}

export interface SubscriptionStore {
  listSubscriptions(): Promise<StoredSubscription[]>;
  findSubscription(id: string): Promise<StoredSubscription | undefined>;
  putSubscription(subscription: StoredSubscription): Promise<void>;
  deleteSubscription(id: string): Promise<void>;
  listSlots(): Promise<SubscriptionSlot[]>;
  putSlot(slot: SubscriptionSlot): Promise<void>;
  deleteSlot(source: string, kind: SubscribedKind): Promise<void>;
}

/** One row per source: when a notified pull was queued, and when the last one started. */
export interface PullGateState {
  /** Set while a pull message is waiting; cleared when a pull starts. */
  queuedAt: string | null;
  /** The waiting message becomes visible at this time. */
  notBefore: string | null;
  /** When the last notified pull started. */
  startedAt: string | null;
}

export interface PullGateStore {
  /** The row and its version tag, or undefined when the source never had a notified pull. */
  read(source: string): Promise<{ state: PullGateState; etag: string } | undefined>;
  /**
   * Writes the row if it is still at `etag` (undefined: only if it does not exist yet). Returns the
   * new tag, or undefined when another writer got there first.
   */
  write(source: string, state: PullGateState, etag: string | undefined): Promise<string | undefined>;
}

/** A subscription as Graph describes it. */
export interface GraphSubscription {
  id: string;
  resource: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  expirationDateTime: string;
}

export interface CreateSubscriptionRequest {
  kind: SubscribedKind;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl: string;
  expirationDateTime: Date;
  clientState: string;
}

/** Graph's /subscriptions for one source (its tenant and app). Errors: see src/graph/subscriptionsApi.ts. */
export interface SubscriptionsApi {
  create(request: CreateSubscriptionRequest): Promise<GraphSubscription>;
  renew(id: string, expirationDateTime: Date): Promise<GraphSubscription>;
  reauthorize(id: string): Promise<void>;
  /** 404 counts as done. */
  delete(id: string): Promise<void>;
  list(): Promise<GraphSubscription[]>;
}

/** Why a notified pull is wanted (queue message reason). */
export type NotifiedPullReason = 'changeNotification' | 'subscriptionCatchUp';

/** Sends the connector's real-time queue messages. */
export interface RealtimeQueue {
  /** A pull of `source`, visible after `delayInSeconds`. */
  sendPull(message: { source: string; reason: NotifiedPullReason; runId: string }, delayInSeconds: number): Promise<void>;
  sendLifecycleEvent(message: { source: string; kind: SubscribedKind; subscriptionId: string; event: LifecycleEvent }): Promise<void>;
}

export type LifecycleEvent = 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed';
export const LIFECYCLE_EVENTS: readonly LifecycleEvent[] = ['reauthorizationRequired', 'subscriptionRemoved', 'missed'];
