import { hostname } from 'node:os';

/** Lock holder names this process writes: `<host>:<pid>:<run id>`. */
export function localHolderPrefix(): string {
  return `${hostname()}:${process.pid}`;
}

/**
 * True when a lock holder name (`<host>:<pid>:…`) is a process on this machine that no longer
 * runs: a CLI run that crashed or was killed. Its lease can be taken over at once instead of
 * after it expires. Holders on other machines, this very process, or names of another shape are
 * never judged gone (a container restarted under the same pid cannot be told from itself).
 */
export function isDeadLocalHolder(holder: string, isAlive: (pid: number) => boolean = processIsAlive): boolean {
  const match = /^(.+):(\d+)(?::.*)?$/.exec(holder);
  if (match === null || match[1] !== hostname()) return false;
  const pid = Number(match[2]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  return !isAlive(pid);
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
