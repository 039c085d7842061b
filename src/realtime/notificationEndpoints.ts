/**
 * Where Graph sends notifications: `<base>/api/graph/notifications` and `<base>/api/graph/lifecycle`,
 * the base being where Graph reaches this app (the function app's host name, or `serve --public-url`).
 * In Azure the URLs carry the webhook key as `?code=`: they are secrets, shown only without it.
 */
import { createHash } from 'node:crypto';

export const NOTIFICATION_PATH = '/api/graph/notifications';
export const LIFECYCLE_PATH = '/api/graph/lifecycle';

export interface NotificationEndpoints {
  notificationUrl: string;
  lifecycleUrl: string;
  /** Changes when either URL changes (key included), so subscriptions made for old URLs are replaced. */
  fingerprint: string;
  /** The notification URL without its key, for logs and status. */
  display: string;
}

export class InvalidPublicUrlError extends Error {
  override readonly name = 'InvalidPublicUrlError';
}

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname.toLowerCase()) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * Checks a base URL given as `field` (a flag or an app setting): absolute, no query or fragment,
 * https unless the host is a loopback address (Graph itself only calls https; http is for local tests).
 */
export function parsePublicBaseUrl(value: string, field: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidPublicUrlError(`${field}: "${value}" is not an absolute URL; give where Graph reaches this app, e.g. https://connector.example.com`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new InvalidPublicUrlError(`${field}: give the base URL without query or fragment (the product appends ${NOTIFICATION_PATH} and adds its key itself)`);
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new InvalidPublicUrlError(`${field}: ${url.origin} must use https (Graph only delivers to https; http is accepted for loopback addresses only)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidPublicUrlError(`${field}: ${url.protocol} is not a web URL; use https://`);
  }
  return url;
}

function withPath(base: URL, path: string, key: string | undefined): string {
  const url = new URL(base.href);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
  if (key !== undefined) url.searchParams.set('code', key);
  return url.href;
}

export function notificationEndpoints(base: URL, key: string | undefined): NotificationEndpoints {
  const notificationUrl = withPath(base, NOTIFICATION_PATH, key);
  const lifecycleUrl = withPath(base, LIFECYCLE_PATH, key);
  return {
    notificationUrl,
    lifecycleUrl,
    fingerprint: createHash('sha256').update(`${notificationUrl}\n${lifecycleUrl}`).digest('hex').slice(0, 32),
    display: withPath(base, NOTIFICATION_PATH, undefined),
  };
}
