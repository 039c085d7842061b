/**
 * Structured logging as the core sees it: one event name plus fields. Fronts supply the
 * implementation (src/setup/logging.ts); the core never formats or prints on its own.
 */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** A logger whose every line also carries `fields` (run id, source, mapping). */
  child(fields: LogFields): Logger;
}

/** For callers that do not care about logs (pure helpers in tests). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};

/** Error fields fit for a log line: name, message, status; never the request or its headers. */
export function errorFields(error: unknown): LogFields {
  if (error instanceof Error) {
    const status = (error as { status?: unknown }).status;
    return { errorName: error.name, errorMessage: error.message, ...(typeof status === 'number' ? { status } : {}) };
  }
  return { errorMessage: String(error) };
}
