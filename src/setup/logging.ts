import pino from 'pino';
import type { Logger, LogFields } from '../sync/logger';
import { processScrubber, type SecretScrubber } from './secretScrubber';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Where finished (already scrubbed) JSON lines go: stderr, an InvocationContext, a test array. */
export interface LogSink {
  write(line: string): void;
}

class PinoLogger implements Logger {
  constructor(private readonly inner: pino.Logger) {}
  debug(event: string, fields?: LogFields): void { this.inner.debug(fields ?? {}, event); }
  info(event: string, fields?: LogFields): void { this.inner.info(fields ?? {}, event); }
  warn(event: string, fields?: LogFields): void { this.inner.warn(fields ?? {}, event); }
  error(event: string, fields?: LogFields): void { this.inner.error(fields ?? {}, event); }
  child(fields: LogFields): Logger { return new PinoLogger(this.inner.child(fields)); }
}

/**
 * A JSON-lines logger (pino). Every line is scrubbed of secrets as it is written, so a secret
 * that slips into a field or an error message still never reaches the sink.
 */
export function createLogger(options: { level?: LogLevel; sink?: LogSink; scrubber?: SecretScrubber; base?: LogFields } = {}): Logger {
  const scrubber = options.scrubber ?? processScrubber;
  const sink = options.sink ?? { write: (line: string) => process.stderr.write(line) };
  const stream = { write: (line: string) => sink.write(scrubber.scrub(line)) };
  const inner = pino(
    {
      level: options.level ?? 'info',
      base: options.base ?? null,
      messageKey: 'event',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
  return new PinoLogger(inner);
}

export function parseLogLevel(value: string | undefined): LogLevel {
  const level = (value ?? 'info').toLowerCase();
  if (level === 'debug' || level === 'info' || level === 'warn' || level === 'error' || level === 'silent') return level;
  throw new Error(`LOG_LEVEL: "${value ?? ''}" is not a level; use debug, info, warn, error or silent`);
}
