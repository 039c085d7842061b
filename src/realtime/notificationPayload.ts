/**
 * The body Graph POSTs to the notification and lifecycle URLs: `{ "value": [ ... ] }`. Only what
 * routes a notification is read (subscription id, clientState, tenant, lifecycle event); the
 * resource data is never trusted, since anyone who can reach the URL can write it. Unknown fields
 * are allowed: Graph adds properties over time.
 */
import { z } from 'zod';
import { LIFECYCLE_EVENTS, type LifecycleEvent } from './ports';

const shortText = (max: number) => z.string().min(1).max(max);

const notificationItem = z.looseObject({
  subscriptionId: shortText(128),
  clientState: z.string().max(1024).nullable().optional(),
  tenantId: z.string().max(128).optional(),
  changeType: shortText(64).optional(),
  resource: z.string().max(2048).optional(),
  lifecycleEvent: shortText(64).optional(),
});

const notificationCollection = z.looseObject({
  value: z.array(notificationItem).min(1),
});

export interface ReceivedChange {
  subscriptionId: string;
  clientState: string | undefined;
  tenantId: string | undefined;
}

export interface ReceivedLifecycleEvent extends ReceivedChange {
  /** `unknown` for events this version does not know: acknowledged and ignored. */
  event: LifecycleEvent | 'unknown';
}

export interface NotificationBatch {
  changes: ReceivedChange[];
  lifecycle: ReceivedLifecycleEvent[];
}

export type ParsedNotifications = { ok: true; batch: NotificationBatch } | { ok: false; error: string };

function isLifecycleEvent(value: string): value is LifecycleEvent {
  return (LIFECYCLE_EVENTS as readonly string[]).includes(value);
}

/** Parses the JSON text; errors name the field, for the 400 answer. */
export function parseNotifications(text: string): ParsedNotifications {
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch {
    return { ok: false, error: 'body: not JSON; expected {"value": [ change notifications ]}' };
  }
  const parsed = notificationCollection.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    return { ok: false, error: `${path === '' ? 'body' : path}: ${issue?.message ?? 'invalid'}; expected {"value": [{"subscriptionId": ..., "clientState": ...}]}` };
  }
  const batch: NotificationBatch = { changes: [], lifecycle: [] };
  for (const item of parsed.data.value) {
    const common: ReceivedChange = {
      subscriptionId: item.subscriptionId,
      clientState: item.clientState ?? undefined,
      tenantId: item.tenantId,
    };
    if (item.lifecycleEvent !== undefined) {
      batch.lifecycle.push({ ...common, event: isLifecycleEvent(item.lifecycleEvent) ? item.lifecycleEvent : 'unknown' });
    } else {
      batch.changes.push(common);
    }
  }
  return { ok: true, batch };
}
