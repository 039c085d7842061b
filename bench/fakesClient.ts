/** The bench's side of bench/fakesProcess.ts: start it, and call its control API. */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export interface FakesInfo {
  control: string;
  graph: { tenantId: string; clientId: string; clientSecret: string; authorityHost: string; graphEndpoint: string };
  s365: { endpoint: string; token: string };
  allStaffGroupId: string;
  users: number;
  groups: number;
  inScope: number;
  pageFloor: number;
}

export async function startFakes(users: number, extraArgs: string[] = []): Promise<{ info: FakesInfo; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(__dirname, 'fakesProcess.ts'), '--users', String(users), ...extraArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
  const info = await new Promise<FakesInfo>((resolvePromise, reject) => {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split('\n')[0];
      if (buffer.includes('\n') && line !== undefined) resolvePromise(JSON.parse(line) as FakesInfo);
    });
    child.once('exit', (code) => reject(new Error(`the fakes process exited (${String(code)}) before it was ready`)));
  });
  return { info, child };
}

export async function control<T>(fakes: FakesInfo, path: string): Promise<T> {
  const response = await fetch(`${fakes.control}${path}`, { method: path.startsWith('/since') || path === '/held' || path.startsWith('/realtime/results') ? 'GET' : 'POST' });
  return (await response.json()) as T;
}

