/**
 * The CLI run in the test process (its commander program, not a child): what it printed and the
 * exit code it set. For tests that need the CLI's own output without the cost of a process.
 */
import { buildProgram } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/syncCommand';

export interface InProcessCliResult {
  code: number;
  out: string;
  err: string;
}

/**
 * Runs `s365-connector <args>` with `env` as its environment (default: the test process's).
 * `streams`: where the progress display and the JSON logs go instead of process.stderr.
 */
export async function runCliInProcess(
  args: readonly string[], env: NodeJS.ProcessEnv = process.env, streams: Pick<CliIo, 'progressStream' | 'logSink'> = {},
): Promise<InProcessCliResult> {
  let out = '';
  let err = '';
  let code = 0;
  const io: CliIo = { env, out: (text) => { out += text; }, err: (text) => { err += text; }, ...streams };
  await buildProgram(io, (exitCode) => { code = exitCode; }).parseAsync(['node', 's365-connector', ...args]);
  return { code, out, err };
}
