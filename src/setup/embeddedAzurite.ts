import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './freePort';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The well-known development account every Azurite instance accepts (public, documented by Microsoft). */
export const DEV_ACCOUNT = 'devstoreaccount1';
export const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface EmbeddedAzurite {
  readonly connectionString: string;
  /** The Azurite process (the bench reads its CPU time). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}


async function waitForPort(port: number, deadline: number): Promise<void> {
  const { connect } = await import('node:net');
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Azurite did not open port ${port} in time`);
}

/**
 * Starts Azurite (blob, queue, table) in memory on free loopback ports as a child process.
 * Used by the test setup and by the CLI when no storage connection is configured, so
 * a fresh clone runs end to end without an Azure account.
 */
export async function startEmbeddedAzurite(options: { startTimeoutInMs?: number; /** Persist to this folder instead of memory. */ location?: string } = {}): Promise<EmbeddedAzurite> {
  let entry: string;
  try {
    entry = require.resolve('azurite/dist/src/azurite.js');
  } catch {
    throw new Error(
      'No storage is configured and the embedded Azurite is not installed. ' +
        'Set AzureWebJobsStorage (a connection string) or AzureWebJobsStorage__accountName, or run `npm install` to get azurite.',
    );
  }
  const [blobPort, queuePort, tablePort] = [await freePort(), await freePort(), await freePort()];
  // Its working directory is a throwaway folder so nothing it writes lands in the user's checkout.
  const workDir = mkdtempSync(join(tmpdir(), 'azurite-'));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      entry,
      ...(options.location !== undefined ? ['--location', options.location] : ['--inMemoryPersistence']),
      '--silent',
      '--disableTelemetry',
      '--skipApiVersionCheck',
      '--disableProductStyleUrl',
      '--blobHost', '127.0.0.1', '--blobPort', String(blobPort),
      '--queueHost', '127.0.0.1', '--queuePort', String(queuePort),
      '--tableHost', '127.0.0.1', '--tablePort', String(tablePort),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], cwd: workDir },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const deadline = Date.now() + (options.startTimeoutInMs ?? 30_000);
  try {
    await Promise.all([waitForPort(blobPort, deadline), waitForPort(queuePort, deadline), waitForPort(tablePort, deadline)]);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`Embedded Azurite failed to start: ${stderr.trim() || String(error)}`);
  }
  const base = 'http://127.0.0.1';
  const connectionString =
    `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};` +
    `BlobEndpoint=${base}:${blobPort}/${DEV_ACCOUNT};QueueEndpoint=${base}:${queuePort}/${DEV_ACCOUNT};` +
    `TableEndpoint=${base}:${tablePort}/${DEV_ACCOUNT};`;
  return {
    connectionString,
    pid: child.pid,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 3000).unref();
        });
      }
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
