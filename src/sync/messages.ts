/**
 * Every queue message the connector sends, as one versioned, discriminated union validated on
 * receipt. Messages carry names and object ids only: never payloads (built from the mirror when
 * the message is processed, so a late message never sends stale data) and never secrets.
 */
import { z } from 'zod';
import { STORAGE_KEY_PATTERN } from '../config/storageKey';

/** Queues (base names; storage adds the deployment prefix). */
export const QUEUES = {
  pullRequests: 'pull-requests',
  uploads: 'uploads',
  subscriptionEvents: 'subscription-events',
} as const;

/** Object ids per upload message: one destination batch (the contract allows 100 items). */
export const MAX_IDS_PER_UPLOAD_MESSAGE = 100;

/** Sources and destinations travel as their storage keys (src/config/storageKey.ts), never as the names as written. */
const name = z.string().regex(STORAGE_KEY_PATTERN);
const objectId = z.string().regex(/^[0-9a-fA-F-]{36}$/);

export const pullRequestedMessage = z.object({
  v: z.literal(1),
  type: z.literal('pull'),
  runId: z.string().min(1).max(64),
  /** Absent = every source. */
  source: name.optional(),
  full: z.boolean(),
  reason: z.enum(['syncNow', 'changeNotification', 'subscriptionCatchUp', 'timer', 'cli']),
  requestedAt: z.string(),
  /** How many times this request was put back because another run held its source (absent: never). */
  requeues: z.number().int().min(1).max(1_000).optional(),
}).strict();

export const uploadRequestedMessage = z.object({
  v: z.literal(1),
  type: z.literal('upload'),
  runId: z.string().min(1).max(64),
  source: name,
  destination: name,
  kind: z.enum(['users', 'groups']),
  ids: z.array(objectId).min(1).max(MAX_IDS_PER_UPLOAD_MESSAGE),
}).strict();

/** A Graph lifecycle event the webhook verified (clientState matched); the subscription worker acts on it. */
export const subscriptionEventMessage = z.object({
  v: z.literal(1),
  type: z.literal('subscriptionEvent'),
  source: name,
  kind: z.enum(['users', 'groups']),
  subscriptionId: z.string().min(1).max(128),
  event: z.enum(['reauthorizationRequired', 'subscriptionRemoved', 'missed']),
  receivedAt: z.string(),
}).strict();

export const connectorMessage = z.discriminatedUnion('type', [pullRequestedMessage, uploadRequestedMessage, subscriptionEventMessage]);

export type PullRequestedMessage = z.infer<typeof pullRequestedMessage>;
export type UploadRequestedMessage = z.infer<typeof uploadRequestedMessage>;
export type SubscriptionEventMessage = z.infer<typeof subscriptionEventMessage>;
export type ConnectorMessage = z.infer<typeof connectorMessage>;

export class InvalidMessageError extends Error {
  override readonly name = 'InvalidMessageError';
}

/** Parses a message body as the Functions host hands it over (already-decoded object or JSON text). */
export function parseConnectorMessage(body: unknown): ConnectorMessage {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body) as unknown;
    } catch {
      throw new InvalidMessageError('Queue message is not JSON');
    }
  }
  const parsed = connectorMessage.safeParse(value);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new InvalidMessageError(`Queue message rejected: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid'}`);
  }
  return parsed.data;
}
