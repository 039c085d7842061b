import { afterEach, describe, expect, it } from 'vitest';
import { killCliChildren, runCli } from '../support/cliProcess';

// `npm run demo` from a clone: demo/main.ts through tsx, the way README's first command runs it.

afterEach(() => killCliChildren());

describe('the demo', () => {
  it('runs from the clone: a full sync, directory changes, an incremental sync, and each tenant holds exactly who it should', async () => {
    const result = await runCli(['--users', '200'], {}, { timeoutInMs: 170_000, entry: 'demo/main.ts' });
    expect(result.timedOut).toBe(false);
    expect(result.code, result.stderr.slice(-2000)).toBe(0);
    expect(result.stdout).toContain('== Run 1: full sync ==');
    expect(result.stdout).toContain('== Run 2: incremental sync ==');
    expect(result.stdout).toMatch(/ContosoSales: expected (\d+), holds \1 -> OK/);
    expect(result.stdout).toMatch(/ContosoEngineering: expected (\d+), holds \1 -> OK/);
    // Directory extensions arrive (every member has a cost centre, a third a pronoun), and follow a change.
    expect(result.stdout).toMatch(/ContosoSales: (\d+) of \1 records carry costCenter, [1-9]\d* pronoun/);
    expect(result.stdout).toContain('Senior Account Executive, costCenter CC-SALES-900 for the promoted user');
    // The unverified domain is reported with the users whose mail is in it.
    expect(result.stdout).toMatch(/Mail domains of Default: [1-9]\d* in-scope user\(s\) have a mail domain the tenant has not verified/);
    expect(result.stdout).toMatch(/domains: contoso-sales\.example \(\d+\)/);
    expect(result.stdout).toContain('ContosoSales: Sales UK inbox has mailboxType shared -> OK');
    expect(result.stdout).toContain('ContosoSales: Meeting room London 4.01 has mailboxType room -> OK');
  }, 180_000);

  it('refuses a bad --users with a message naming the option', async () => {
    const result = await runCli(['--users', 'many'], {}, { timeoutInMs: 60_000, entry: 'demo/main.ts' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("option '--users <n>' argument 'many' is invalid");
  }, 90_000);

  it('is not a command of the built CLI, which ships without the simulated services', async () => {
    const result = await runCli(['demo'], {}, { timeoutInMs: 60_000 });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("unknown command 'demo'");
  }, 90_000);
});
