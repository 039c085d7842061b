/**
 * The CLI as a child process, the way an administrator runs it. Started as `node --import tsx
 * src/cli/main.ts` rather than `npx tsx ...`: the tsx launcher runs the program in a grandchild,
 * which a SIGKILL of the launcher would leave running. Every child is bounded by a timeout and
 * is killed by killCliChildren() (call it in afterEach).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const TEST_CA = resolve(REPO_ROOT, 'test', 'fakes', 'tls', 'ca.pem');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface CliChild {
  readonly process: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Settles when the child has exited (also after a kill or the timeout). */
  readonly exited: Promise<CliResult>;
}

const running = new Set<ChildProcess>();

/**
 * Starts the CLI with only the given environment (plus PATH/HOME and the test CA), so nothing
 * from the test process, such as a storage connection string, leaks into the run.
 */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv, options: { timeoutInMs: number; entry?: string }): CliChild {
  const child = spawn(process.execPath, ['--import', 'tsx', options.entry ?? 'src/cli/main.ts', ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, NODE_EXTRA_CA_CERTS: TEST_CA, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutInMs);
  const exited = new Promise<CliResult>((resolveExit, rejectExit) => {
    child.once('error', (error) => {
      clearTimeout(timer);
      running.delete(child);
      rejectExit(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      resolveExit({ code, signal, stdout, stderr, timedOut });
    });
  });
  return { process: child, stdout: () => stdout, stderr: () => stderr, exited };
}

export async function runCli(args: readonly string[], env: NodeJS.ProcessEnv, options: { timeoutInMs: number; entry?: string }): Promise<CliResult> {
  return startCli(args, env, options).exited;
}

/** SIGKILLs every CLI child still running. */
export function killCliChildren(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/** Polls `condition` every 10 ms until it holds; throws after timeoutInMs or when `stop` says to give up. */
export async function waitFor(condition: () => boolean, options: { timeoutInMs: number; what: string; stop?: () => string | undefined }): Promise<void> {
  const deadline = Date.now() + options.timeoutInMs;
  while (!condition()) {
    const reason = options.stop?.();
    if (reason !== undefined) throw new Error(`gave up waiting for ${options.what}: ${reason}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${options.timeoutInMs} ms waiting for ${options.what}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 10));
  }
}
