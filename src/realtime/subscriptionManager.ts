/**
 * Keeps, per source, a Graph subscription on users (and on groups when the app may hold one)
 * pointing at this app's notification URL: creates missing ones, renews them at half-life,
 * replaces those made for another URL, deletes those no longer wanted, and answers lifecycle
 * events. Each creation or recreation asks for a catch-up pull, since changes made while no
 * subscription existed were never notified. The delta poll stays the source of truth: nothing
 * here is needed for correctness, only for speed.
 */
import { SubscriptionForbiddenError, SubscriptionNotFoundError, SubscriptionRejectedError } from '../graph/subscriptionsApi';
import type { LockStore } from '../sync/ports';
import type { Logger } from '../sync/logger';
import { errorFields } from '../sync/logger';
import { newClientState } from './clientState';
import type { NotificationEndpoints } from './notificationEndpoints';
import type {
  GraphSubscription, LifecycleEvent, StoredSubscription, SubscribedKind, SubscriptionSlot, SubscriptionStore, SubscriptionsApi,
} from './ports';
import { SUBSCRIBED_KINDS } from './ports';
import { requestNotifiedPull, type PullCoalescerDeps } from './pullCoalescer';
import type { SubscriptionLookup } from './subscriptionLookup';
import {
  SUBSCRIBED_CHANGE_TYPES, SUBSCRIPTION_PERMISSION, expiryFrom, renewalDue, retryAfterFailure, retryAfterMissingPermission,
} from './subscriptionPolicy';

export const SUBSCRIPTIONS_LOCK = 'subscriptions';
const LOCK_TTL_MS = 5 * 60_000;

/** The coalescing gate (PullCoalescerDeps) is where catch-up pulls are asked for. */
export interface SubscriptionManagerDependencies extends PullCoalescerDeps {
  store: SubscriptionStore;
  apiFor(source: string): SubscriptionsApi;
  /** Configured source names. */
  sources: readonly string[];
  /** Where Graph must send notifications, or why there is nowhere (the sentence status shows). */
  endpoints: NotificationEndpoints | { unavailable: string };
  locks: LockStore;
  holder: string;
  /** Minutes between delta timer runs, for the sentences that say when changes arrive without notifications. */
  deltaIntervalMinutes: number;
  logger: Logger;
  lookup?: SubscriptionLookup;
  /** New clientState values go here first (the process's secret scrubber). */
  registerSecret?: (value: string) => void;
  now?: () => Date;
}

export interface MaintenanceSummary {
  /** Another instance held the lock; nothing was done. */
  locked: boolean;
  created: number;
  renewed: number;
  deleted: number;
  failed: number;
  slots: SubscriptionSlot[];
}

export interface LifecycleNotice {
  source: string;
  kind: SubscribedKind;
  subscriptionId: string;
  event: LifecycleEvent;
}

/** Thrown when another instance holds the subscriptions lock: the queue delivers the event again. */
export class SubscriptionsBusyError extends Error {
  override readonly name = 'SubscriptionsBusyError';
}

function sameEndpoint(a: string, b: string): boolean {
  try {
    const x = new URL(a);
    const y = new URL(b);
    return x.origin === y.origin && x.pathname.replace(/\/+$/, '') === y.pathname.replace(/\/+$/, '');
  } catch {
    return false;
  }
}

function resourceKind(resource: string): SubscribedKind | undefined {
  const name = resource.replace(/^\/+/, '').toLowerCase();
  return name === 'users' || name === 'groups' ? name : undefined;
}

function sameSlot(a: SubscriptionSlot | undefined, b: SubscriptionSlot): boolean {
  return a !== undefined && a.state === b.state && a.detail === b.detail && a.subscriptionId === b.subscriptionId
    && a.expiresAt === b.expiresAt && a.failures === b.failures && a.nextAttemptAt === b.nextAttemptAt;
}

export class SubscriptionManager {
  private readonly now: () => Date;
  private summary: MaintenanceSummary = SubscriptionManager.emptySummary();
  private slots = new Map<string, SubscriptionSlot>();
  /** Every id the store knew at the start of the pass or this pass created or deleted (all sources), so orphans at Graph can be told apart. */
  private knownIds = new Set<string>();
  private readonly catchUps = new Set<string>();

  constructor(private readonly deps: SubscriptionManagerDependencies) {
    this.now = deps.now ?? (() => new Date());
  }

  private static emptySummary(): MaintenanceSummary {
    return { locked: false, created: 0, renewed: 0, deleted: 0, failed: 0, slots: [] };
  }

  /**
   * One pass over every source and kind; called by the timer and by `serve`. `catchUp: false` when
   * a sync of every source follows at once (serve's tick): it reads Graph after any subscription
   * made here, so a catch-up pull would only wait for its lock and run for nothing.
   */
  async maintain(options: { catchUp?: boolean } = {}): Promise<MaintenanceSummary> {
    const lock = await this.deps.locks.tryAcquire(SUBSCRIPTIONS_LOCK, this.deps.holder, LOCK_TTL_MS);
    if (lock === undefined) return { ...SubscriptionManager.emptySummary(), locked: true };
    try {
      const stored = await this.load();
      const configured = new Set(this.deps.sources);
      for (const subscription of stored.filter((s) => !configured.has(s.source))) {
        // The source is gone from the config, and with it the credential to delete at Graph: the
        // subscription expires there on its own, and its notifications no longer match anything.
        await this.deps.store.deleteSubscription(subscription.id);
        this.deps.lookup?.forget(subscription.id);
        this.summary.deleted += 1;
      }
      for (const slot of [...this.slots.values()].filter((s) => !configured.has(s.source))) {
        await this.deps.store.deleteSlot(slot.source, slot.kind);
        this.slots.delete(`${slot.source}|${slot.kind}`);
      }
      for (const source of this.deps.sources) {
        let listed: GraphSubscription[] | undefined;
        for (const kind of SUBSCRIBED_KINDS) {
          const mine = stored.filter((s) => s.source === source && s.kind === kind);
          try {
            await this.maintainSlot(source, kind, mine, async () => (listed ??= await this.deps.apiFor(source).list()));
          } catch (error) {
            // One source's trouble (its tenant unreachable, its credential refused) must not stop the others.
            await this.fail(source, kind, `could not manage the ${kind} subscription: ${error instanceof Error ? error.message : String(error)}`, undefined);
            this.deps.logger.warn('subscription.maintainFailed', { source, kind, ...errorFields(error) });
          }
        }
      }
      if (options.catchUp === false) this.catchUps.clear();
      await this.requestCatchUps();
      return { ...this.summary, slots: [...this.slots.values()] };
    } finally {
      await lock.release().catch((error: unknown) => this.deps.logger.warn('lock.releaseFailed', { lock: SUBSCRIPTIONS_LOCK, ...errorFields(error) }));
    }
  }

  /** reauthorizationRequired, subscriptionRemoved or missed, as queued by the webhook. */
  async onLifecycleEvent(notice: LifecycleNotice): Promise<void> {
    const lock = await this.deps.locks.tryAcquire(SUBSCRIPTIONS_LOCK, this.deps.holder, LOCK_TTL_MS);
    if (lock === undefined) throw new SubscriptionsBusyError('Another instance is managing subscriptions; the lifecycle event is retried');
    try {
      await this.load();
      const subscription = await this.deps.store.findSubscription(notice.subscriptionId);
      if (subscription === undefined || subscription.source !== notice.source || !this.deps.sources.includes(notice.source)) {
        this.deps.logger.info('subscription.lifecycleIgnored', { source: notice.source, kind: notice.kind, event: notice.event, reason: 'no longer ours' });
        return;
      }
      this.deps.logger.info('subscription.lifecycle', { source: notice.source, kind: notice.kind, event: notice.event, subscriptionId: notice.subscriptionId });
      if (notice.event === 'reauthorizationRequired') await this.reauthorize(subscription);
      else if (notice.event === 'subscriptionRemoved') await this.recreate(subscription);
      // Every event may mean notifications were lost: pull once to catch up.
      this.catchUps.add(notice.source);
      await this.requestCatchUps();
    } finally {
      await lock.release().catch((error: unknown) => this.deps.logger.warn('lock.releaseFailed', { lock: SUBSCRIPTIONS_LOCK, ...errorFields(error) }));
    }
  }

  /** Fresh state for one pass; returns the stored subscriptions. */
  private async load(): Promise<StoredSubscription[]> {
    this.summary = SubscriptionManager.emptySummary();
    this.catchUps.clear();
    this.slots = new Map((await this.deps.store.listSlots()).map((slot) => [`${slot.source}|${slot.kind}`, slot]));
    const stored = await this.deps.store.listSubscriptions();
    this.knownIds = new Set(stored.map((s) => s.id));
    return stored;
  }

  private async maintainSlot(source: string, kind: SubscribedKind, mine: StoredSubscription[], listAtGraph: () => Promise<GraphSubscription[]>): Promise<void> {
    const endpoints = this.deps.endpoints;
    if ('unavailable' in endpoints) {
      for (const subscription of mine) await this.remove(subscription);
      await this.setSlot({ source, kind, state: 'off', detail: endpoints.unavailable, subscriptionId: null, expiresAt: null, failures: 0, nextAttemptAt: null });
      return;
    }
    const newestFirst = [...mine].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    const current = newestFirst.find((s) => s.endpointFingerprint === endpoints.fingerprint);
    for (const subscription of newestFirst.filter((s) => s !== current)) await this.remove(subscription);

    if (current !== undefined) {
      if (!renewalDue(current.expiresAt, this.now())) {
        await this.setActive(current);
        return;
      }
      try {
        await this.renew(current);
        return;
      } catch (error) {
        if (!(error instanceof SubscriptionNotFoundError)) {
          await this.fail(source, kind, `renewing the ${kind} subscription failed (tried again next run): ${error instanceof Error ? error.message : String(error)}`, current);
          return;
        }
        this.deps.logger.warn('subscription.vanished', { source, kind, subscriptionId: current.id });
        await this.forgetStored(current);
      }
    } else {
      const slot = this.slots.get(`${source}|${kind}`);
      const waitUntil = slot?.nextAttemptAt === null || slot?.nextAttemptAt === undefined ? Number.NaN : Date.parse(slot.nextAttemptAt);
      if ((slot?.state === 'failed' || slot?.state === 'skipped') && this.now().getTime() < waitUntil) return;
    }
    await this.removeOrphans(source, kind, await listAtGraph());
    await this.create(source, kind);
  }

  private async create(source: string, kind: SubscribedKind): Promise<void> {
    const endpoints = this.deps.endpoints;
    if ('unavailable' in endpoints) return;
    const clientState = newClientState();
    this.deps.registerSecret?.(clientState);
    const now = this.now();
    let created: GraphSubscription;
    try {
      created = await this.deps.apiFor(source).create({
        kind, changeType: SUBSCRIBED_CHANGE_TYPES, notificationUrl: endpoints.notificationUrl, lifecycleNotificationUrl: endpoints.lifecycleUrl,
        expirationDateTime: expiryFrom(now), clientState,
      });
    } catch (error) {
      await this.creationFailed(source, kind, error);
      return;
    }
    const stored: StoredSubscription = {
      id: created.id, source, kind, clientState, expiresAt: created.expirationDateTime, endpointFingerprint: endpoints.fingerprint, createdAt: now.toISOString(),
    };
    await this.deps.store.putSubscription(stored);
    this.knownIds.add(stored.id);
    this.summary.created += 1;
    this.catchUps.add(source);
    this.deps.logger.info('subscription.created', { source, kind, subscriptionId: stored.id, expiresAt: stored.expiresAt, endpoint: endpoints.display });
    await this.setActive(stored);
  }

  private async creationFailed(source: string, kind: SubscribedKind, error: unknown): Promise<void> {
    const now = this.now();
    const interval = `every ${this.deps.deltaIntervalMinutes} minutes`;
    if (error instanceof SubscriptionForbiddenError && kind === 'groups') {
      await this.setSlot({
        source, kind, state: 'skipped', subscriptionId: null, expiresAt: null, failures: 0,
        nextAttemptAt: retryAfterMissingPermission(now).toISOString(),
        detail: `no groups subscription: the app lacks ${SUBSCRIPTION_PERMISSION.groups} (groups/delta works with GroupMember.Read.All, ` +
          `the subscription does not). Group changes arrive with the timer, ${interval}; grant ${SUBSCRIPTION_PERMISSION.groups} to get them at once.`,
      });
      this.deps.logger.info('subscription.skipped', { source, kind, reason: `missing ${SUBSCRIPTION_PERMISSION.groups}` });
      return;
    }
    const endpoints = this.deps.endpoints;
    const where = 'unavailable' in endpoints ? '' : endpoints.display;
    const reason = error instanceof SubscriptionRejectedError && /validation/i.test(error.graphMessage)
      ? `Graph could not validate ${where} (it must answer Graph's validation request within 10 s: is the URL public and the app running?): ${error.message}`
      : error instanceof Error ? error.message : String(error);
    await this.fail(source, kind, `creating the ${kind} subscription failed; changes arrive with the timer, ${interval}, until it works: ${reason}`, undefined);
  }

  private async renew(subscription: StoredSubscription): Promise<void> {
    const renewed = await this.deps.apiFor(subscription.source).renew(subscription.id, expiryFrom(this.now()));
    const updated = { ...subscription, expiresAt: renewed.expirationDateTime };
    await this.deps.store.putSubscription(updated);
    this.summary.renewed += 1;
    this.deps.logger.info('subscription.renewed', { source: subscription.source, kind: subscription.kind, subscriptionId: subscription.id, expiresAt: updated.expiresAt });
    await this.setActive(updated);
  }

  private async reauthorize(subscription: StoredSubscription): Promise<void> {
    const api = this.deps.apiFor(subscription.source);
    try {
      await api.reauthorize(subscription.id);
      this.deps.logger.info('subscription.reauthorized', { source: subscription.source, kind: subscription.kind, subscriptionId: subscription.id });
    } catch (error) {
      if (error instanceof SubscriptionNotFoundError) {
        await this.recreate(subscription);
        return;
      }
      // Renewing also reauthorizes; when it fails too, the error goes back to the queue for another try.
      this.deps.logger.warn('subscription.reauthorizeFailed', { source: subscription.source, kind: subscription.kind, ...errorFields(error) });
      try {
        await this.renew(subscription);
      } catch (renewError) {
        if (!(renewError instanceof SubscriptionNotFoundError)) throw renewError;
        await this.recreate(subscription);
      }
    }
  }

  private async recreate(subscription: StoredSubscription): Promise<void> {
    await this.forgetStored(subscription);
    await this.deps.apiFor(subscription.source).delete(subscription.id).catch(() => undefined);
    await this.create(subscription.source, subscription.kind);
  }

  private async remove(subscription: StoredSubscription): Promise<void> {
    await this.deps.apiFor(subscription.source).delete(subscription.id);
    await this.forgetStored(subscription);
    this.summary.deleted += 1;
    this.deps.logger.info('subscription.deleted', { source: subscription.source, kind: subscription.kind, subscriptionId: subscription.id });
  }

  private async forgetStored(subscription: StoredSubscription): Promise<void> {
    await this.deps.store.deleteSubscription(subscription.id);
    // Still "known" for the rest of the pass: the Graph list read before may hold it, and it must
    // not be deleted again as an orphan.
    this.deps.lookup?.forget(subscription.id);
  }

  /** Subscriptions at Graph for our URL and resource that storage does not know: left by a crash between create and store. */
  private async removeOrphans(source: string, kind: SubscribedKind, atGraph: GraphSubscription[]): Promise<void> {
    const endpoints = this.deps.endpoints;
    if ('unavailable' in endpoints) return;
    for (const subscription of atGraph) {
      if (this.knownIds.has(subscription.id) || resourceKind(subscription.resource) !== kind) continue;
      if (!sameEndpoint(subscription.notificationUrl, endpoints.notificationUrl)) continue;
      // The list is shared by both kinds of a source: the one deleted here must not be deleted twice.
      this.knownIds.add(subscription.id);
      this.deps.logger.warn('subscription.orphanDeleted', { source, kind, subscriptionId: subscription.id });
      await this.deps.apiFor(source).delete(subscription.id)
        .catch((error: unknown) => this.deps.logger.warn('subscription.deleteFailed', { source, kind, ...errorFields(error) }));
    }
  }

  private async setActive(subscription: StoredSubscription): Promise<void> {
    await this.setSlot({
      source: subscription.source, kind: subscription.kind, state: 'active', detail: '', subscriptionId: subscription.id,
      expiresAt: subscription.expiresAt, failures: 0, nextAttemptAt: null,
    });
  }

  private async fail(source: string, kind: SubscribedKind, detail: string, kept: StoredSubscription | undefined): Promise<void> {
    const previous = this.slots.get(`${source}|${kind}`);
    const failures = (previous?.state === 'failed' ? previous.failures : 0) + 1;
    this.summary.failed += 1;
    this.deps.logger.warn('subscription.failed', { source, kind, failures, detail });
    await this.setSlot({
      source, kind, state: 'failed', detail, subscriptionId: kept?.id ?? null, expiresAt: kept?.expiresAt ?? null, failures,
      nextAttemptAt: retryAfterFailure(failures, this.now()).toISOString(),
    });
  }

  private async setSlot(slot: Omit<SubscriptionSlot, 'updatedAt'>): Promise<void> {
    const key = `${slot.source}|${slot.kind}`;
    const next: SubscriptionSlot = { ...slot, updatedAt: this.now().toISOString() };
    if (sameSlot(this.slots.get(key), next)) return;
    await this.deps.store.putSlot(next);
    this.slots.set(key, next);
  }

  private async requestCatchUps(): Promise<void> {
    for (const source of this.catchUps) {
      try {
        await requestNotifiedPull(source, 'subscriptionCatchUp', this.deps);
      } catch (error) {
        this.deps.logger.warn('subscription.catchUpNotQueued', { source, ...errorFields(error) });
      }
    }
    this.catchUps.clear();
  }
}
