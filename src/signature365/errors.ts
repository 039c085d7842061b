/**
 * The errors a DestinationClient throws. Few on purpose, one per thing the caller does differently:
 *
 * - DestinationAuthError (401/403): the token is wrong or revoked. Retrying cannot help; the caller
 *   marks the destination unhealthy and tells a person to fix Signature365.<Name>.Token.
 * - DestinationRequestError (whole-request 400, another unexpected 4xx, an answer that breaks the
 *   contract): resending the same request cannot help; the caller records the failure.
 * - DestinationUnavailableError (429/5xx/network/timeout after the client's own retries): try the
 *   whole operation again later, no sooner than `retryAfterInMs` when it is set.
 *
 * Per-item failures (an item answered 400) are never thrown: they come back as ItemResults.
 * No error carries the token, the request, its headers or a record: only names, statuses and the
 * server's own error text with the token scrubbed out.
 */

export interface DestinationErrorOptions {
  /** The destination's name in config (Signature365.<Name>). */
  destination: string;
  /** HTTP status of the last answer; undefined when no answer came (network error, timeout). */
  status?: number | undefined;
  /** How long the destination asked us to wait (Retry-After), when it said. */
  retryAfterInMs?: number | undefined;
  /** HTTP attempts made, retries included. */
  attempts?: number | undefined;
  /** The destination's own error text from the answer's body (token scrubbed), when it gave one. */
  serverError?: string | undefined;
  cause?: unknown;
}

export abstract class DestinationError extends Error {
  readonly destination: string;
  readonly status: number | undefined;
  readonly retryAfterInMs: number | undefined;
  readonly attempts: number | undefined;
  readonly serverError: string | undefined;

  protected constructor(message: string, options: DestinationErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.destination = options.destination;
    this.status = options.status;
    this.retryAfterInMs = options.retryAfterInMs;
    this.attempts = options.attempts;
    this.serverError = options.serverError;
  }

  /** What a log line or status page may show; `cause` only by name and message. */
  toJSON(): Record<string, unknown> {
    const cause = this.cause instanceof Error ? { name: this.cause.name, message: this.cause.message } : undefined;
    return {
      name: this.name,
      message: this.message,
      destination: this.destination,
      status: this.status,
      retryAfterInMs: this.retryAfterInMs,
      attempts: this.attempts,
      serverError: this.serverError,
      ...(cause ? { cause } : {}),
    };
  }
}

export class DestinationAuthError extends DestinationError {
  constructor(message: string, options: DestinationErrorOptions) {
    super(message, options);
  }
}

export class DestinationRequestError extends DestinationError {
  constructor(message: string, options: DestinationErrorOptions) {
    super(message, options);
  }
}

export class DestinationUnavailableError extends DestinationError {
  constructor(message: string, options: DestinationErrorOptions) {
    super(message, options);
  }
}

/** The cause kept for a network failure: its code and message, never the request it failed on. */
export class DestinationNetworkError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    super(message);
    this.name = 'DestinationNetworkError';
    this.code = code;
  }
}

export function isDestinationError(error: unknown): error is DestinationError {
  return error instanceof DestinationError;
}
