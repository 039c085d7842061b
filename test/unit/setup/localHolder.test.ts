import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { isDeadLocalHolder, localHolderPrefix } from '../../../src/setup/localHolder';

describe('lock holders that are gone', () => {
  const deadPid = (() => {
    const child = spawnSync(process.execPath, ['-e', '0']);
    return child.pid ?? 0;
  })();

  it('are processes of this machine that no longer run', () => {
    expect(deadPid).toBeGreaterThan(0);
    expect(isDeadLocalHolder(`${hostname()}:${deadPid}:run-1`)).toBe(true);
  });

  it('are never processes that still run, this process, other machines or other name shapes', () => {
    expect(isDeadLocalHolder(`${hostname()}:${process.ppid}:run-1`)).toBe(false);
    expect(isDeadLocalHolder(`${localHolderPrefix()}:run-1`)).toBe(false);
    expect(isDeadLocalHolder(`another-host-${hostname()}:${deadPid}:run-1`)).toBe(false);
    expect(isDeadLocalHolder('test')).toBe(false);
    expect(isDeadLocalHolder(`${hostname()}:${deadPid}:x`, () => true)).toBe(false);
  });
});
