import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killCliChildren, runCli } from '../support/cliProcess';
import { newSecrets, tempFolder, type TempFolder } from '../support/cliConfig';

const TIMEOUT_IN_MS = 20_000;
const { clientSecret, token } = newSecrets();

/** Secrets written literally, so an error message that quoted a value would leak them. */
function config(overrides: { tenantId?: string; secondTo?: string } = {}): Record<string, unknown> {
  return {
    EntraId: { Default: { TenantId: overrides.tenantId ?? '11111111-2222-4333-8444-555555555555', ClientId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', ClientSecret: clientSecret } },
    Signature365: { Alpha: { Token: token }, Beta: { Token: `${token}b` } },
    Mappings: [
      { From: 'EntraId:Default', To: 'Signature365:Alpha' },
      { From: 'EntraId:Default', To: overrides.secondTo ?? 'Signature365:Beta' },
    ],
  };
}

let folder: TempFolder;
beforeAll(async () => {
  folder = await tempFolder();
});
afterEach(() => {
  killCliChildren();
});
afterAll(async () => {
  await folder.remove();
});

function expectNoSecrets(output: string): void {
  expect(output).not.toContain(clientSecret);
  expect(output).not.toContain('idscl_');
}

describe('s365-connector sync with a broken config.json', () => {
  it('exits 2 naming Mappings[1].To and the destinations that are defined', async () => {
    const file = await folder.file('undefined-destination.json', config({ secondTo: 'Signature365:Gamma' }));

    const run = await runCli(['sync', '--config', file], {}, { timeoutInMs: TIMEOUT_IN_MS });

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Mappings[1].To');
    expect(run.stderr).toContain('Signature365:Gamma');
    expect(run.stderr).toContain('defined: "Alpha", "Beta"');
    expectNoSecrets(run.stdout + run.stderr);
  });

  it('exits 2 naming the file and the path of a value that is not a GUID', async () => {
    const file = await folder.file('bad-guid.json', config({ tenantId: 'contoso.onmicrosoft.com' }));

    const run = await runCli(['sync', '--config', file], {}, { timeoutInMs: TIMEOUT_IN_MS });

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(file);
    expect(run.stderr).toContain('EntraId.Default.TenantId');
    expect(run.stderr).toContain('is not a GUID');
    expectNoSecrets(run.stdout + run.stderr);
  });
});
