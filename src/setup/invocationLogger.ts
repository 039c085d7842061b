import type { Logger } from '../sync/logger';
import { APP_SETTINGS, readAppSetting } from './appSettings';
import { createLogger, parseLogLevel } from './logging';

/** The minimal part of the Functions InvocationContext a logger needs (kept structural so src/ does not import the host). */
export interface InvocationLogTarget {
  readonly invocationId: string;
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

// pino writes the level first (formatters.level in logging.ts), so the line's own prefix says it.
const LINE_LEVEL = /^\{"level":"(\w+)"/;

/**
 * Writes one finished line at its own level: the host records context.log as Information,
 * context.warn as Warning and context.error as Error, and Application Insights keeps that
 * severity, so warnings and errors from the core stay warnings and errors there (and alerts
 * and "severityLevel >= 2" queries find them). Debug lines stay on context.log, at
 * Information, so LOG_LEVEL=debug is not silently filtered by host.json's log level.
 */
function writeAtLevel(target: InvocationLogTarget, line: string): void {
  const level = LINE_LEVEL.exec(line)?.[1];
  if (level === 'error') target.error(line);
  else if (level === 'warn') target.warn(line);
  else target.log(line);
}

let processLogger: Logger | undefined;

/** One JSON-lines logger per process, at LOG_LEVEL: what adapters created once per worker log through. */
export function getProcessLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  processLogger ??= createLogger({ level: parseLogLevel(readAppSetting(env, APP_SETTINGS.logLevel)) });
  return processLogger;
}

/** A logger whose lines go to the invocation's log (so they are correlated with it in Application Insights). */
export function loggerForInvocation(context: InvocationLogTarget, fields: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = process.env): Logger {
  return createLogger({
    level: parseLogLevel(readAppSetting(env, APP_SETTINGS.logLevel)),
    sink: { write: (line) => writeAtLevel(context, line.trimEnd()) },
    base: { invocationId: context.invocationId, ...fields },
  });
}
