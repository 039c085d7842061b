import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REQUIRED_PERMISSIONS } from '../../../src/graph/errors';
import { GRAPH_APPLICATION_PERMISSIONS } from '../../../src/graph/permissions';
import { SUBSCRIPTION_PERMISSION } from '../../../src/realtime/subscriptionPolicy';

// One permission list for the whole project: src/graph/permissions.ts. The code's messages, the
// docs and the infra may name only these (and, in the grant instructions, the delegated scopes
// an administrator signs in with), and the places that list them list all of them.

const root = resolve(__dirname, '../../..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const listed = GRAPH_APPLICATION_PERMISSIONS.map((p) => p.value);

/** What the administrator who grants the roles signs in with (docs/deploy.md, PowerShell route). */
const ADMIN_DELEGATED_SCOPES = ['AppRoleAssignment.ReadWrite.All', 'Application.Read.All'];

function filesUnder(dir: string, extensions: readonly string[]): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path, extensions);
    return extensions.some((ext) => entry.name.endsWith(ext)) ? [path] : [];
  });
}

const PERMISSION_TOKEN = /\b(?:[A-Z][A-Za-z]+\.)(?:Read|ReadWrite|ReadBasic)(?:\.[A-Z][A-Za-z]+)*\b/g;

function permissionsNamedIn(path: string): string[] {
  return [...new Set(read(path).match(PERMISSION_TOKEN) ?? [])];
}

describe('Microsoft Graph permissions', () => {
  it('lists the two required ones first; Group.Read.All, Application.Read.All, Domain.Read.All and MailboxSettings.Read are optional', () => {
    expect(GRAPH_APPLICATION_PERMISSIONS.map((p) => [p.value, p.required])).toEqual([
      ['User.Read.All', true],
      ['GroupMember.Read.All', true],
      ['Group.Read.All', false],
      ['Application.Read.All', false],
      ['Domain.Read.All', false],
      ['MailboxSettings.Read', false],
    ]);
  });

  it('are the only ones the code names in its errors and subscriptions', () => {
    const used = [...Object.values(REQUIRED_PERMISSIONS).flat(), ...Object.values(SUBSCRIPTION_PERMISSION)];
    expect(used.filter((p) => !listed.includes(p as (typeof listed)[number]))).toEqual([]);
  });

  it('are the only ones named anywhere in src/, infra/, scripts/, the README and docs/', () => {
    const files = [...filesUnder('src', ['.ts']), ...filesUnder('infra', ['.bicep', '.json']), ...filesUnder('scripts', ['.sh', '.ps1', '.ts']), 'README.md', ...filesUnder('docs', ['.md'])];
    const strays: string[] = [];
    for (const file of files) {
      for (const name of permissionsNamedIn(file)) {
        const allowed = (listed as readonly string[]).includes(name) || (file === join('docs', 'deploy.md') && ADMIN_DELEGATED_SCOPES.includes(name));
        if (!allowed) strays.push(`${relative(root, join(root, file))}: ${name}`);
      }
    }
    expect(strays).toEqual([]);
  });

  it('are granted in full by both manual routes in docs/deploy.md and by the Bicep module\'s default', () => {
    const deploy = read('docs/deploy.md');
    const bash = /for permission in ([^;]+); do/.exec(deploy)?.[1]?.trim().split(/\s+/);
    const powershell = [.../foreach \(\$permission in ([^)]+)\)/.exec(deploy)?.[1]?.matchAll(/'([^']+)'/g) ?? []].map((m) => m[1]);
    const bicepDefault = [.../^param graphAppRoles array = \[(.*)\]$/m.exec(read('infra/main.bicep'))?.[1]?.matchAll(/'([^']+)'/g) ?? []].map((m) => m[1]);
    for (const list of [bash, powershell, bicepDefault]) expect([...(list ?? [])].sort()).toEqual([...listed].sort());
  });

  it.each(['README.md', 'docs/configuration.md', 'docs/deploy.md'])('are all named in %s', (file) => {
    const named = permissionsNamedIn(file);
    expect(listed.filter((p) => !named.includes(p))).toEqual([]);
  });
});
