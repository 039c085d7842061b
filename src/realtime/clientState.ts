/**
 * clientState: the secret the connector gives Graph with each subscription and Graph echoes in
 * every notification. Basic (no resource data) notifications for users and groups carry no
 * signature, so this value is the one proof that a notification comes from Graph.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Graph accepts at most 128 characters; 32 random bytes are 43 in base64url. */
export function newClientState(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Constant-time comparison. Both sides are hashed first so that the comparison takes the same time
 * whatever the lengths (timingSafeEqual needs equal lengths, and an early length check would leak one).
 */
export function matchesSecret(received: unknown, expected: string): boolean {
  if (typeof received !== 'string') return false;
  const a = createHash('sha256').update(received, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}
