/**
 * The errors the store adapters throw. The core catches these by class and reads plain fields;
 * it never sees an @azure RestError, its codes or its request (the original is kept as `cause`
 * for diagnostics only).
 */

/** Our lease was taken over (or deleted) by another holder: stop the work the lock guarded. */
export class LockLostError extends Error {
  override readonly name = 'LockLostError';
  readonly lockName: string;
  readonly holder: string;

  constructor(lockName: string, holder: string, options?: { cause?: unknown }) {
    super(
      `Lock "${lockName}" held by "${holder}" was taken over by another holder or released; ` +
        'stop the guarded work, another instance is running it.',
      options,
    );
    this.lockName = lockName;
    this.holder = holder;
  }
}

/**
 * A Table storage operation failed. `retryable` tells the caller whether trying the same call
 * again may succeed (throttling, timeouts, server errors, network); anything else needs a fix first.
 */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  /** What we were doing, e.g. `applyUserChanges` or `submit transaction on Users`. */
  readonly operation: string;
  /** HTTP status of the failed request, when one was answered. */
  readonly status: number | undefined;
  /** The service's error code (e.g. `EntityTooLarge`, `OperationTimedOut`), when known. */
  readonly code: string | undefined;
  readonly retryable: boolean;

  constructor(
    message: string,
    fields: { operation: string; status?: number; code?: string; retryable?: boolean },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.operation = fields.operation;
    this.status = fields.status;
    this.code = fields.code;
    this.retryable = fields.retryable ?? isRetryableStatus(fields.status);
  }
}

function isRetryableStatus(status: number | undefined): boolean {
  // No status means the request never got an answer (DNS, reset, timeout): worth another try.
  return status === undefined || status === 408 || status === 429 || status >= 500;
}

/** The HTTP status of an error thrown by the Azure SDK, without importing its types into callers. */
export function statusOf(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'statusCode' in error) {
    const status = error.statusCode;
    return typeof status === 'number' ? status : undefined;
  }
  return undefined;
}

function codeOf(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = error.code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** Wraps anything thrown by the SDK into a StorageError; our own errors pass through unchanged. */
export function toStorageError(error: unknown, operation: string): Error {
  if (error instanceof StorageError || error instanceof LockLostError) return error;
  const status = statusOf(error);
  const code = codeOf(error);
  const detail = [status !== undefined ? `status ${status}` : 'no response', code].filter(Boolean).join(', ');
  return new StorageError(`Table storage ${operation} failed (${detail}).`, { operation, status, code }, { cause: error });
}

/** Runs `work`, translating SDK failures into StorageError. */
export async function withStorageErrors<T>(operation: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toStorageError(error, operation);
  }
}
