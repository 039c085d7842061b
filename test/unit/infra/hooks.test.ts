import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

// The azd hooks. The sh scripts run for real here, under /bin/sh, with `az` and `azd` replaced
// by stubs on PATH that answer from a script and record how they were called. The PowerShell
// twins cannot run on this machine; their text is held to the same commands and bounds.

const root = resolve(__dirname, '../../..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const SYSTEM_PATH = '/usr/local/bin:/usr/bin:/bin';

interface Stubs {
  dir: string;
  /** Each call of `az` takes the next answer: exit code and what it prints on stderr (or stdout for code 0). */
  answerAz(answers: { code: number; text: string }[]): void;
  azCalls(): string[];
  azdCalls(): string[];
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function stubs(): Stubs {
  const dir = mkdtempSync(join(tmpdir(), 's365-hooks-'));
  dirs.push(dir);
  const az = `#!/bin/sh
echo "$*" >> "${dir}/az-calls"
n=$(cat "${dir}/az-count" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "${dir}/az-count"
line=$(sed -n "\${n}p" "${dir}/az-answers")
[ -n "$line" ] || line=$(tail -n 1 "${dir}/az-answers")
code=\${line%%|*}; text=\${line#*|}
if [ "$code" = 0 ]; then printf '%s\\n' "$text"; else printf '%s\\n' "$text" >&2; fi
exit "$code"
`;
  const azd = `#!/bin/sh
echo "$*" >> "${dir}/azd-calls"
exit 0
`;
  writeFileSync(join(dir, 'az'), az);
  writeFileSync(join(dir, 'azd'), azd);
  chmodSync(join(dir, 'az'), 0o755);
  chmodSync(join(dir, 'azd'), 0o755);
  const lines = (file: string) => (existsSync(join(dir, file)) ? readFileSync(join(dir, file), 'utf8').split('\n').filter((l) => l !== '') : []);
  return {
    dir,
    answerAz: (answers) => writeFileSync(join(dir, 'az-answers'), answers.map((a) => `${a.code}|${a.text}`).join('\n') + '\n'),
    azCalls: () => lines('az-calls'),
    azdCalls: () => lines('azd-calls'),
  };
}

function runHook(script: string, env: Record<string, string>, path: string): { code: number | null; out: string; err: string } {
  const result = spawnSync('/bin/sh', [join(root, 'scripts', script)], { env: { PATH: path, ...env }, encoding: 'utf8', timeout: 30_000 });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

const DENIED = 'ERROR: This request is not authorized to perform this operation using this permission. ErrorCode:AuthorizationPermissionMismatch';
const deployed = { AZURE_PRINCIPAL_ID: '11111111-2222-3333-4444-555555555555', AZURE_STORAGE_ACCOUNT_NAME: 'stabc123', CONFIG_BLOB_URI: 'https://stabc123.blob.core.windows.net/settings/config.json', ROLE_WAIT_SECONDS: '0' };

describe('azure.yaml hooks', () => {
  const azureYaml = read('azure.yaml');
  it.each([
    ['preprovision', 'detect-principal-type'],
    ['postprovision', 'wait-for-storage-roles'],
  ])('runs %s with %s, sh on posix and pwsh on Windows', (hook, script) => {
    expect(azureYaml).toMatch(new RegExp(`^ {2}${hook}:\\n {4}posix:\\n {6}shell: sh\\n {6}run: \\./scripts/${script}\\.sh\\n(?: {6}.*\\n)* {4}windows:\\n {6}shell: pwsh\\n {6}run: \\./scripts/${script}\\.ps1$`, 'm'));
    expect(existsSync(join(root, 'scripts', `${script}.sh`))).toBe(true);
    expect(existsSync(join(root, 'scripts', `${script}.ps1`))).toBe(true);
  });
});

describe('wait-for-storage-roles.sh', () => {
  it('waits while storage answers AuthorizationPermissionMismatch, then succeeds, probing the config container as the deployer', () => {
    const s = stubs();
    s.answerAz([{ code: 1, text: DENIED }, { code: 1, text: DENIED }, { code: 0, text: '' }]);
    const result = runHook('wait-for-storage-roles.sh', deployed, `${s.dir}:${SYSTEM_PATH}`);
    expect(result.code).toBe(0);
    expect(s.azCalls()).toHaveLength(3);
    expect(s.azCalls()[0]).toBe('storage blob list --auth-mode login --account-name stabc123 --container-name settings --num-results 1 --only-show-errors -o none');
    expect(result.out).toContain('not in effect yet (attempt 1 of 30)');
    expect(result.out).toContain('works (attempt 3)');
  });

  it('gives up after ROLE_WAIT_ATTEMPTS tries with a message that says what to do', () => {
    const s = stubs();
    s.answerAz([{ code: 1, text: DENIED }]);
    const result = runHook('wait-for-storage-roles.sh', { ...deployed, ROLE_WAIT_ATTEMPTS: '4' }, `${s.dir}:${SYSTEM_PATH}`);
    expect(result.code).toBe(1);
    expect(s.azCalls()).toHaveLength(4);
    expect(result.err).toContain("still refused after 4 attempts");
    expect(result.err).toContain("run 'azd deploy' again");
  });

  it('does not block provisioning when az cannot check (not signed in): one try, a warning, exit 0', () => {
    const s = stubs();
    s.answerAz([{ code: 1, text: "ERROR: Please run 'az login' to setup account." }]);
    const result = runHook('wait-for-storage-roles.sh', deployed, `${s.dir}:${SYSTEM_PATH}`);
    expect(result.code).toBe(0);
    expect(s.azCalls()).toHaveLength(1);
    expect(result.err).toContain('could not check storage access');
  });

  it('has nothing to wait for when the deployer was granted nothing, and says so', () => {
    const s = stubs();
    s.answerAz([{ code: 0, text: '' }]);
    const result = runHook('wait-for-storage-roles.sh', { ...deployed, AZURE_PRINCIPAL_ID: '' }, `${s.dir}:${SYSTEM_PATH}`);
    expect(result.code).toBe(0);
    expect(s.azCalls()).toEqual([]);
    expect(result.out).toContain('nothing to wait for');
  });

  it('falls back to the config container when CONFIG_BLOB_URI is not set, and tells when az is missing', () => {
    const s = stubs();
    s.answerAz([{ code: 0, text: '' }]);
    runHook('wait-for-storage-roles.sh', { ...deployed, CONFIG_BLOB_URI: '' }, `${s.dir}:${SYSTEM_PATH}`);
    expect(s.azCalls()[0]).toContain('--container-name config ');
    const withoutAz = runHook('wait-for-storage-roles.sh', deployed, SYSTEM_PATH);
    expect(withoutAz.code).toBe(0);
    expect(withoutAz.err).toContain('Azure CLI (az) not found');
  });
});

describe('detect-principal-type.sh', () => {
  it.each([
    ['servicePrincipal', 'ServicePrincipal'],
    ['user', 'User'],
  ])('records a %s sign-in as AZURE_PRINCIPAL_TYPE=%s', (kind, type) => {
    const s = stubs();
    s.answerAz([{ code: 0, text: kind }]);
    const result = runHook('detect-principal-type.sh', {}, `${s.dir}:${SYSTEM_PATH}`);
    expect(result.code).toBe(0);
    expect(s.azCalls()).toEqual(['account show --query user.type -o tsv']);
    expect(s.azdCalls()).toEqual([`env set AZURE_PRINCIPAL_TYPE ${type}`]);
  });

  it('keeps a type already set in the azd environment', () => {
    const s = stubs();
    s.answerAz([{ code: 0, text: 'user' }]);
    const result = runHook('detect-principal-type.sh', { AZURE_PRINCIPAL_TYPE: 'ServicePrincipal' }, `${s.dir}:${SYSTEM_PATH}`);
    expect(result.code).toBe(0);
    expect(s.azCalls()).toEqual([]);
    expect(s.azdCalls()).toEqual([]);
  });

  it('changes nothing and tells the pipeline what to set when it cannot tell', () => {
    const s = stubs();
    s.answerAz([{ code: 1, text: "ERROR: Please run 'az login' to setup account." }]);
    const result = runHook('detect-principal-type.sh', {}, `${s.dir}:${SYSTEM_PATH}`);
    expect(result.code).toBe(0);
    expect(s.azdCalls()).toEqual([]);
    expect(result.err).toContain('azd env set AZURE_PRINCIPAL_TYPE ServicePrincipal');
  });
});

describe('the PowerShell twins', () => {
  it('probe storage with the same command, bounded by the same settings', () => {
    const ps = read('scripts/wait-for-storage-roles.ps1');
    expect(ps).toContain('az storage blob list --auth-mode login --account-name $account --container-name $container --num-results 1 --only-show-errors -o none');
    for (const word of ['ROLE_WAIT_ATTEMPTS', 'ROLE_WAIT_SECONDS', 'AuthorizationPermissionMismatch', 'AZURE_PRINCIPAL_ID', 'exit 1']) expect(ps).toContain(word);
    expect(ps).toMatch(/for \(\$try = 1; \$try -le \$attempts; \$try\+\+\)/);
  });

  it('detect the principal type the same way', () => {
    const ps = read('scripts/detect-principal-type.ps1');
    expect(ps).toContain('az account show --query user.type -o tsv');
    expect(ps).toContain("'servicePrincipal' { $type = 'ServicePrincipal' }");
    expect(ps).toContain('azd env set AZURE_PRINCIPAL_TYPE $type');
  });
});
