/**
 * When subscriptions are created, renewed and tried again. Pure: the manager asks, this answers.
 */
import { GRAPH_PERMISSION } from '../graph/permissions';
import type { SubscribedKind } from './ports';

/** Graph's maximum for users and groups subscriptions. */
export const MAX_LIFETIME_MINUTES = 41_760;
/** What the connector asks for: an hour under the maximum, so a clock ahead of Graph's is not refused. */
export const REQUESTED_LIFETIME_MINUTES = MAX_LIFETIME_MINUTES - 60;
const MINUTE = 60_000;

/** updated: created, changed, soft-deleted and restored objects; deleted: permanently deleted ones. */
export const SUBSCRIBED_CHANGE_TYPES = 'updated,deleted';

export function expiryFrom(now: Date): Date {
  return new Date(now.getTime() + REQUESTED_LIFETIME_MINUTES * MINUTE);
}

/** Renew when less than half of the lifetime remains (about 14.5 days). */
export function renewalDue(expiresAt: string, now: Date): boolean {
  const remaining = Date.parse(expiresAt) - now.getTime();
  return Number.isNaN(remaining) || remaining < (REQUESTED_LIFETIME_MINUTES * MINUTE) / 2;
}

/** A slot that failed waits 5 minutes, doubling, at most 6 hours, before creation is tried again. */
export function retryAfterFailure(failures: number, now: Date): Date {
  const minutes = Math.min(6 * 60, 5 * 2 ** Math.max(0, failures - 1));
  return new Date(now.getTime() + minutes * MINUTE);
}

/** Without the permission nothing will change soon: ask Graph again every 6 hours (a grant is picked up then). */
export function retryAfterMissingPermission(now: Date): Date {
  return new Date(now.getTime() + 6 * 60 * MINUTE);
}

/** The application permission a subscription on `kind` needs (the delta queries can do with less for groups). */
export const SUBSCRIPTION_PERMISSION: Readonly<Record<SubscribedKind, string>> = {
  users: GRAPH_PERMISSION.userReadAll,
  groups: GRAPH_PERMISSION.groupReadAll,
};
