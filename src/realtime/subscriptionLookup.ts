/**
 * The webhook's view of stored subscriptions: a point read per unknown id, kept for a minute, so a
 * burst of notifications costs one storage read per subscription rather than one per notification.
 * Misses are not kept: a subscription stored a moment ago must be found on the next notification.
 */
import type { StoredSubscription, SubscriptionStore } from './ports';

const KEEP_MS = 60_000;
const MAX_ENTRIES = 1000;

export class SubscriptionLookup {
  private readonly found = new Map<string, { subscription: StoredSubscription; at: number }>();

  constructor(
    private readonly store: Pick<SubscriptionStore, 'findSubscription'>,
    private readonly now: () => number = Date.now,
  ) {}

  async find(id: string): Promise<StoredSubscription | undefined> {
    const cached = this.found.get(id);
    if (cached !== undefined && this.now() - cached.at < KEEP_MS) return cached.subscription;
    this.found.delete(id);
    const subscription = await this.store.findSubscription(id);
    if (subscription !== undefined) {
      if (this.found.size >= MAX_ENTRIES) this.found.delete(this.found.keys().next().value ?? '');
      this.found.set(id, { subscription, at: this.now() });
    }
    return subscription;
  }

  /** After the manager deletes or replaces a subscription in this process. */
  forget(id: string): void {
    this.found.delete(id);
  }
}
