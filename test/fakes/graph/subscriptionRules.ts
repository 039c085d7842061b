/**
 * What Graph accepts in a subscription request for directory resources (users, groups), and which change
 * notification a tenant change becomes. Each check throws a GraphRequestError that the server turns into
 * Graph's error body; messages follow the ones Graph is known to send where known.
 */
import type { ChangeEntry } from './fakeTenant';

export type SubscriptionResource = 'users' | 'groups';
export type NotificationChangeType = 'updated' | 'deleted';

/** The documented maximum lifetime of a subscription to users or groups (under 29 days). */
export const DIRECTORY_MAX_EXPIRATION_MINUTES = 41_760;

const TLS_VERSIONS = ['v1_0', 'v1_1', 'v1_2', 'v1_3'] as const;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** Application roles that let an app subscribe to a resource (least privileged first). */
const ROLES_FOR: Record<SubscriptionResource, readonly string[]> = {
  users: ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  // GroupMember.Read.All reads memberships but does not allow subscribing to groups.
  groups: ['Group.Read.All', 'Group.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
};

export class GraphRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A request value as echoed in an error message. */
function shown(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
}

function invalid(message: string): GraphRequestError {
  return new GraphRequestError(400, 'InvalidRequest', message);
}

export function parseJsonObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GraphRequestError(400, 'BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.');
  }
  return value as Record<string, unknown>;
}

export function requireProperties(body: Record<string, unknown>, names: readonly string[]): void {
  for (const name of names) {
    if (body[name] === undefined || body[name] === null) throw invalid(`${name} is a required property for subscription creation.`);
  }
}

/** `users`, `/Users`, … → users. Only the two collections are supported by this fake. */
export function parseResource(value: unknown): SubscriptionResource {
  const text = typeof value === 'string' ? value.trim() : '';
  const kind = text.replace(/^\//, '').toLowerCase();
  if (kind === 'users' || kind === 'groups') return kind;
  throw invalid(`Resource '${shown(value)}' is not supported for change notifications. Supported resources: users, groups.`);
}

/** A comma list of change types, as given (trimmed); directory resources report creations as `updated`. */
export function parseChangeTypes(value: unknown, resource: SubscriptionResource): { text: string; types: Set<NotificationChangeType> } {
  if (typeof value !== 'string') throw invalid(`Invalid 'changeType' attribute: '${shown(value)}'.`);
  const parts = value.split(',').map((part) => part.trim());
  const types = new Set<NotificationChangeType>();
  for (const part of parts) {
    if (part === 'updated' || part === 'deleted') types.add(part);
    else if (part === 'created') throw invalid(`Change type 'created' is not supported for resource '${resource}'. Supported change types: updated, deleted.`);
    else throw invalid(`Invalid 'changeType' attribute: '${part}'.`);
  }
  return { text: parts.join(','), types };
}

/**
 * An absolute https URL. Deviation of the fake: http is accepted for loopback hosts, so that local
 * processes without TLS can be tested.
 */
export function parseEndpointUrl(value: unknown, property: 'notificationUrl' | 'lifecycleNotificationUrl'): string {
  const text = typeof value === 'string' ? value : '';
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url) throw invalid(`Invalid ${property} '${shown(value)}': an absolute URL is required.`);
  const loopbackHttp = url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname.toLowerCase());
  if (url.protocol !== 'https:' && !loopbackHttp) {
    const name = property === 'notificationUrl' ? 'NotificationUrl' : 'LifecycleNotificationUrl';
    throw invalid(`Subscription validation request failed. ${name} must be https.`);
  }
  // Echoed as given, as Graph does (no normalisation such as an added trailing slash).
  return text;
}

/** An ISO date-time in the future, at most the directory maximum ahead; returned as epoch ms. */
export function parseExpiration(value: unknown, now: number): number {
  const at = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(at)) throw invalid(`Invalid expirationDateTime '${shown(value)}': an ISO 8601 date-time is required.`);
  if (at <= now) throw invalid('Subscription expiration must be in the future.');
  if (at > now + DIRECTORY_MAX_EXPIRATION_MINUTES * 60_000) {
    throw new GraphRequestError(400, 'ExtensionError', `Subscription expiration can only be ${DIRECTORY_MAX_EXPIRATION_MINUTES} minutes in the future.`);
  }
  return at;
}

export function parseClientState(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw invalid('clientState must be a string.');
  if (value.length > 128) throw invalid('clientState must not be longer than 128 characters.');
  return value;
}

export function parseTlsVersion(value: unknown): string {
  if (value === undefined || value === null) return 'v1_2';
  if (typeof value === 'string' && (TLS_VERSIONS as readonly string[]).includes(value)) return value;
  throw invalid(`Invalid latestSupportedTlsVersion '${shown(value)}'. Supported values: ${TLS_VERSIONS.join(', ')}.`);
}

/** Throws Graph's 403 when none of the roles that allow subscribing to `resource` is granted. */
export function requirePermission(resource: SubscriptionResource, granted: ReadonlySet<string>, operation: 'Create' | 'Update' | 'Reauthorize'): void {
  if (ROLES_FOR[resource].some((role) => granted.has(role))) return;
  throw new GraphRequestError(403, 'ExtensionError', `Operation: ${operation}; Exception: [Status Code: Forbidden; Reason: Insufficient privileges to complete the operation.]`);
}

export interface DirectoryChange {
  resource: SubscriptionResource;
  changeType: NotificationChangeType;
  id: string;
}

/**
 * The notification a tenant change becomes: creations, updates, soft deletes and restores are all
 * `updated` (Graph documents creations as updated); only a hard delete is `deleted`; a membership change
 * updates the group.
 */
export function directoryChangeOf(entry: ChangeEntry): DirectoryChange {
  if (entry.type === 'member') return { resource: 'groups', changeType: 'updated', id: entry.groupId };
  return { resource: entry.type === 'user' ? 'users' : 'groups', changeType: entry.op === 'hardDeleted' ? 'deleted' : 'updated', id: entry.id };
}
