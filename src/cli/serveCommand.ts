/**
 * `s365-connector serve`: runs the event-driven app (webhook, subscriptions, delta timer, queue
 * workers) in this process until SIGTERM or SIGINT, then finishes or checkpoints the run in
 * progress and exits 0.
 */
import { InvalidPublicUrlError, isLoopbackHost } from '../realtime/notificationEndpoints';
import { APP_SETTINGS, readAppSetting } from '../setup/appSettings';
import { createLogger, parseLogLevel } from '../setup/logging';
import { startServe } from '../serve/serveApp';
import { processScrubber } from '../setup/secretScrubber';
import { EXIT, loadConfigForCli, type CliIo } from './syncCommand';

export interface ServeCommandOptions {
  config?: string;
  port: number;
  host?: string;
  publicUrl?: string;
  state?: string;
  apiKey?: string;
  logLevel?: string;
}

/** Loopback unless Graph must reach this process from elsewhere: a container or a reverse proxy then forwards to every interface. */
function defaultHost(publicUrl: string | undefined): string {
  if (publicUrl === undefined) return '127.0.0.1';
  try {
    return isLoopbackHost(new URL(publicUrl).hostname) ? '127.0.0.1' : '0.0.0.0';
  } catch {
    return '127.0.0.1';
  }
}

export async function runServeCommand(options: ServeCommandOptions, io: CliIo, signals: NodeJS.EventEmitter = process): Promise<number> {
  const config = await loadConfigForCli(options, io);
  if (config === undefined) return EXIT.badConfig;
  const logger = createLogger({ level: parseLogLevel(options.logLevel ?? readAppSetting(io.env, APP_SETTINGS.logLevel) ?? 'info'), ...(io.logSink ? { sink: io.logSink } : {}) });
  const apiKey = options.apiKey ?? readAppSetting(io.env, APP_SETTINGS.serveApiKey);
  let running;
  try {
    running = await startServe({
      config, logger, env: io.env, port: options.port, host: options.host ?? defaultHost(options.publicUrl),
      ...(options.publicUrl !== undefined ? { publicUrl: options.publicUrl } : {}),
      ...(apiKey !== undefined ? { apiKey } : {}),
      runtime: { embeddedStorageWhenUnset: options.state !== undefined ? { folder: options.state } : true },
    });
  } catch (error) {
    if (error instanceof InvalidPublicUrlError) {
      io.err(`${processScrubber.scrub(error.message)}\n`);
      return EXIT.badConfig;
    }
    throw error;
  }
  io.out(`Listening on ${running.url}\n`);
  io.out('display' in running.endpoints
    ? `Graph notifications: ${running.endpoints.display}\n`
    : `No change notifications: ${running.endpoints.unavailable}\n`);
  if (running.runtime.embeddedStorage && options.state === undefined) {
    io.err('No storage configured: using an in-memory Azurite (state is lost when serve stops). Set AzureWebJobsStorage or pass --state <folder>.\n');
  }
  await new Promise<void>((resolve) => {
    const onSignal = (signal: string) => {
      io.err(`${signal}: finishing the run in progress, then stopping.\n`);
      signals.off('SIGTERM', onSignal);
      signals.off('SIGINT', onSignal);
      resolve();
    };
    signals.on('SIGTERM', onSignal);
    signals.on('SIGINT', onSignal);
  });
  await running.stop();
  io.out('Stopped.\n');
  // A request still hanging on an unreachable service must not keep the process alive past the grace period.
  setTimeout(() => process.exit(EXIT.ok), 1000).unref();
  return EXIT.ok;
}
