/**
 * `s365-connector validate` without storage, run in-process on config files: the warnings drawn
 * from the config alone, --strict, readable output for large configs, and the 5 MiB limit.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runValidateCommand } from '../../../src/cli/validateCommand';
import type { CliIo } from '../../../src/cli/syncCommand';
import { CLIENT_SECRET, GROUP_ID, TOKEN, config, destination, mapping, source } from '../config/builders';

const folder = mkdtempSync(join(tmpdir(), 'validate-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const SETTINGS = { ENTRA_SECRET: CLIENT_SECRET, TOKEN_1: TOKEN };
const QUIET = {
  EntraId: { Default: source({ ClientSecret: '@AppSetting(ENTRA_SECRET)' }) },
  Signature365: { Tenant1: destination({ Token: '@AppSetting(TOKEN_1)' }), 'Contoso Ltd': destination({ Token: '@AppSetting(TOKEN_1)' }) },
};

function file(name: string, content: unknown): string {
  const path = join(folder, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

async function validate(path: string, options: { strict?: boolean } = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  // No AzureWebJobsStorage: validate checks the config alone.
  const io: CliIo = { env: { ...SETTINGS }, out: (text) => (out += text), err: (text) => (err += text) };
  const code = await runValidateCommand({ config: path, ...options }, io);
  return { code, out, err };
}

const overlapping = config({ ...QUIET, Mappings: [mapping(), mapping({ To: 'Signature365:Contoso Ltd' })] });

describe('s365-connector validate, from the config alone', () => {
  it('prints the warnings after the summary and still exits 0', async () => {
    const run = await validate(file('overlap.json', overlapping));
    expect(run.code).toBe(0);
    expect(run.out).toContain('Configuration is valid.');
    expect(run.out).toContain('[1] EntraId:Default -> Signature365:Contoso Ltd: groups');
    expect(run.out).toContain(`1 warning(s):\n  - Mappings[1]: Group ${GROUP_ID} of EntraId:Default goes to Signature365:Tenant1 (Mappings[0])`);
    expect(run.err).toBe('');
  });

  it('with --strict, refuses a config with warnings: exit code 2 (as for errors) and the warnings on stderr', async () => {
    const run = await validate(file('overlap-strict.json', overlapping), { strict: true });
    expect(run.code).toBe(2);
    expect(run.out).toBe('');
    expect(run.err).toContain('is refused with --strict: 1 warning(s), errors with --strict:');
    expect(run.err).toContain('Mappings[1]: Group');
  });

  it('with --strict, accepts a config without warnings', async () => {
    const run = await validate(file('quiet.json', config(QUIET)), { strict: true });
    expect(run.code).toBe(0);
    expect(run.out).not.toContain('warning');
  });

  it('counts a long LimitToGroups instead of printing every id', async () => {
    const groups = Array.from({ length: 12_000 }, (_, i) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`);
    const run = await validate(file('large.json', config({ ...QUIET, Mappings: [mapping({ LimitToGroups: groups })] })));
    expect(run.code).toBe(0);
    expect(run.out).toContain(
      '[0] EntraId:Default -> Signature365:Tenant1: LimitToGroups: 12,000 groups (00000000-0000-4000-8000-000000000000, 00000000-0000-4000-8000-000000000001, 00000000-0000-4000-8000-000000000002, ...)',
    );
    expect(run.out).not.toContain('00000000-0000-4000-8000-000000000003');
    expect(run.out.length).toBeLessThan(3_000);
  });

  it('refuses a config file over 5 MiB before reading it, saying how large it is and what the limit is', async () => {
    const path = file('huge.json', `{"padding": "${'x'.repeat(5 * 1024 * 1024)}"}`);
    const run = await validate(path);
    expect(run.code).toBe(2);
    expect(run.err).toContain(`CONFIG_PATH: the configuration at ${path} is 5.0 MiB; the limit is 5 MiB`);
  });
});
