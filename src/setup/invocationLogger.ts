import type { Logger } from '../sync/logger';
import { APP_SETTINGS, readAppSetting } from './appSettings';
import { createLogger, parseLogLevel } from './logging';

/** The minimal part of the Functions InvocationContext a logger needs (kept structural so src/ does not import the host). */
export interface InvocationLogTarget {
  readonly invocationId: string;
  log(...args: unknown[]): void;
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
    sink: { write: (line) => context.log(line.trimEnd()) },
    base: { invocationId: context.invocationId, ...fields },
  });
}
