/**
 * config.json files for CLI runs against the fake services, written as an administrator would:
 * secrets as "@AppSetting(NAME)" references, the values in the child's environment.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FakeGraph } from '../fakes/graph';

export const SECRET_SETTING = 'ENTRA_CLIENT_SECRET';
export const TOKEN_SETTING = 'S365_TOKEN';

/** A client secret and an idscl_ token unlike anything else in the output, to search for leaks. */
export function newSecrets(): { clientSecret: string; token: string } {
  return { clientSecret: `cs~${randomBytes(18).toString('base64url')}`, token: `idscl_${randomBytes(24).toString('base64url')}` };
}

/** One source (the fake Graph) mapped in full to one destination (the fake Signature 365). */
export function configForFakes(graph: FakeGraph, signature365Endpoint: string, destination = 'Tenant1'): Record<string, unknown> {
  return {
    EntraId: {
      Default: {
        TenantId: graph.tenantId, ClientId: graph.clientId, ClientSecret: `@AppSetting(${SECRET_SETTING})`,
        AuthorityHost: graph.authorityHost, GraphEndpoint: graph.graphEndpoint,
      },
    },
    Signature365: { [destination]: { Token: `@AppSetting(${TOKEN_SETTING})`, Endpoint: signature365Endpoint } },
    Mappings: [{ From: 'EntraId:Default', To: `Signature365:${destination}`, LimitToGroups: [] }],
  };
}

export interface TempFolder {
  path: string;
  file(name: string, content: unknown): Promise<string>;
  remove(): Promise<void>;
}

export async function tempFolder(): Promise<TempFolder> {
  const path = await mkdtemp(join(tmpdir(), 's365-cli-'));
  return {
    path,
    file: async (name, content) => {
      const file = join(path, name);
      await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
      return file;
    },
    remove: () => rm(path, { recursive: true, force: true }),
  };
}
