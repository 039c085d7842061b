/**
 * The few errors a Graph read can end in, each because the caller acts differently:
 * - DeltaTokenExpiredError: drop the saved link and start a full round.
 * - GraphPermissionError: stop this source and tell the admin which permission to grant.
 * - GraphAuthenticationError: stop this source; the credential (secret, certificate, identity) is wrong.
 * - GraphRequestError: anything else (after the client's own retries); retry the run later.
 * Messages never carry secrets, tokens or the full delta link (its token is a bearer of sync state).
 */
import type { DirectoryKind } from '../sync/directory';
import { GRAPH_PERMISSION } from './permissions';

export class DeltaTokenExpiredError extends Error {
  override readonly name = 'DeltaTokenExpiredError';
  readonly kind: DirectoryKind;
  readonly status: number;
  /** Graph's error code, e.g. syncStateNotFound, when it sent one. */
  readonly code: string | undefined;

  constructor(kind: DirectoryKind, status: number, code: string | undefined, options?: { cause?: unknown }) {
    super(
      `Graph no longer accepts the saved ${kind} delta link (HTTP ${status}${code ? `, ${code}` : ''}); ` +
        `a full ${kind} round is needed.`,
      options,
    );
    this.kind = kind;
    this.status = status;
    this.code = code;
  }
}

/** Least-privileged application permissions that let each delta query succeed. */
export const REQUIRED_PERMISSIONS: Readonly<Record<DirectoryKind, readonly string[]>> = {
  users: [GRAPH_PERMISSION.userReadAll],
  groups: [GRAPH_PERMISSION.groupReadAll, GRAPH_PERMISSION.groupMemberReadAll],
};

export class GraphPermissionError extends Error {
  override readonly name = 'GraphPermissionError';
  readonly kind: DirectoryKind;
  readonly status = 403;
  readonly code: string | undefined;
  /** Application permissions of which (at least) one is likely missing. */
  readonly requiredPermissions: readonly string[];

  constructor(source: string, kind: DirectoryKind, code: string | undefined, options?: { cause?: unknown }) {
    const permissions = REQUIRED_PERMISSIONS[kind];
    super(
      `Graph refused to read ${kind} for source "${source}" (HTTP 403${code ? `, ${code}` : ''}). ` +
        `Grant the app registration the application permission ${permissions.join(' or ')} ` +
        `(with admin consent) and run again.`,
      options,
    );
    this.kind = kind;
    this.code = code;
    this.requiredPermissions = permissions;
  }
}

export class GraphAuthenticationError extends Error {
  override readonly name = 'GraphAuthenticationError';
  /** The Entra error code when one was returned, e.g. AADSTS7000215 (wrong client secret). */
  readonly aadCode: string | undefined;

  constructor(message: string, aadCode: string | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.aadCode = aadCode;
  }
}

export class GraphRequestError extends Error {
  override readonly name = 'GraphRequestError';
  /** HTTP status, or undefined when no response arrived (network error, timeout) or the body was unusable. */
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly requestId: string | undefined;
  /** From Retry-After on the last response, when the client ran out of retries on a throttled request. */
  readonly retryAfterInMs: number | undefined;

  constructor(
    message: string,
    details: { status?: number; code?: string; requestId?: string; retryAfterInMs?: number } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.status = details.status;
    this.code = details.code;
    this.requestId = details.requestId;
    this.retryAfterInMs = details.retryAfterInMs;
  }
}
