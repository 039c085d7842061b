import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobSASPermissions, BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors';
import { loadConfig, type BlobAccess } from '../../src/config/load';
import { isolatedStorage } from '../support/storage';
import { TOKEN, config, destination } from '../unit/config/builders';

const storage = isolatedStorage();
if (storage.kind !== 'connectionString') throw new Error('the test storage is reached by connection string');
const access: BlobAccess = { kind: 'connectionString', connectionString: storage.connectionString };
const service = BlobServiceClient.fromConnectionString(storage.connectionString);
const container = service.getContainerClient(`${storage.prefix}-config`);
const folder = mkdtempSync(join(tmpdir(), 'config-blob-'));

async function upload(name: string, content: unknown): Promise<string> {
  const blob = container.getBlockBlobClient(name);
  const text = JSON.stringify(content);
  await blob.upload(text, Buffer.byteLength(text));
  return blob.url;
}

beforeAll(async () => {
  await container.create();
});

afterAll(async () => {
  await container.deleteIfExists();
  rmSync(folder, { recursive: true, force: true });
});

describe('loadConfig from Blob storage (Azurite)', () => {
  it('reads the blob named by CONFIG_BLOB_URI', async () => {
    const uri = await upload('config.json', config());
    const loaded = await loadConfig({ CONFIG_BLOB_URI: uri }, { blobAccess: access });
    expect(loaded.origin).toBe('blob');
    expect(loaded.location).toBe(uri);
    expect(loaded.config.destinations[0]?.token).toBe(TOKEN);
  });

  it('reads a blob in a virtual folder', async () => {
    const uri = await upload('tenants/contoso/config.json', config({ Signature365: { Tenant1: destination({ Endpoint: 'https://s365.example.test' }) } }));
    const loaded = await loadConfig({ CONFIG_BLOB_URI: uri }, { blobAccess: access });
    expect(loaded.config.destinations[0]?.endpoint).toBe('https://s365.example.test');
  });

  it('prefers the blob over CONFIG_PATH and CONNECTOR_CONFIG', async () => {
    const uri = await upload('first.json', config());
    const file = join(folder, 'config.json');
    writeFileSync(file, '{}');
    const loaded = await loadConfig({ CONFIG_BLOB_URI: uri, CONFIG_PATH: file, CONNECTOR_CONFIG: '{}' }, { blobAccess: access });
    expect(loaded.origin).toBe('blob');
  });

  it('says which blob is missing', async () => {
    const uri = container.getBlockBlobClient('absent.json').url;
    const error: unknown = await loadConfig({ CONFIG_BLOB_URI: uri }, { blobAccess: access }).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      { path: 'CONFIG_BLOB_URI', message: `no blob at ${uri}; upload config.json there or correct the setting` },
    ]);
  });

  it('reports problems in the blob with its location', async () => {
    const uri = await upload('invalid.json', config({ Mappings: [] }));
    const error: unknown = await loadConfig({ CONFIG_BLOB_URI: uri }, { blobAccess: access }).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).location).toBe(uri);
    expect((error as ConfigError).issues.map((issue) => issue.path)).toEqual(['Mappings']);
  });

  it('refuses a URI outside the account of the connection string', async () => {
    const error: unknown = await loadConfig(
      { CONFIG_BLOB_URI: 'https://other.blob.core.windows.net/config/config.json' },
      { blobAccess: access },
    ).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]?.message).toMatch(/^https:\/\/other\.blob\.core\.windows\.net\/config\/config\.json is not in the storage account of the connection string/);
  });

  it('reads a URI carrying a SAS with the SAS alone, and keeps the SAS out of the location', async () => {
    const uri = await upload('sas.json', config());
    const sasUri = await container.getBlockBlobClient('sas.json').generateSasUrl({
      permissions: BlobSASPermissions.parse('r'),
      expiresOn: new Date(Date.now() + 10 * 60_000),
    });
    const loaded = await loadConfig({ CONFIG_BLOB_URI: sasUri });
    expect(loaded.location).toBe(`${uri} (with SAS)`);
    expect(loaded.location).not.toContain('sig=');
  });

  it('says which role to grant when access is denied', async () => {
    const uri = await upload('denied.json', config());
    const wrongKey = storage.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${Buffer.from('not the key').toString('base64')}`);
    const error: unknown = await loadConfig({ CONFIG_BLOB_URI: uri }, { blobAccess: { kind: 'connectionString', connectionString: wrongKey } }).catch(
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      {
        path: 'CONFIG_BLOB_URI',
        message: `access to ${uri} was denied (403); grant the app's identity 'Storage Blob Data Reader' on the storage account or container`,
      },
    ]);
  });
});

describe('the size limit of a configuration blob', () => {
  it('refuses a blob over 5 MiB (the limit shared with files and CONNECTOR_CONFIG)', async () => {
    const uri = await upload('huge.json', { padding: 'x'.repeat(5 * 1024 * 1024) });
    const error: unknown = await loadConfig({ CONFIG_BLOB_URI: uri }, { blobAccess: access }).then(() => undefined, (reason: unknown) => reason);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      { path: 'CONFIG_BLOB_URI', message: expect.stringContaining(`the configuration at ${uri} is more than 5 MiB; the limit is 5 MiB`) },
    ]);
  });

  it('reads a blob of 4.4 MiB, which the earlier 4 MiB limit refused', async () => {
    const groups = Array.from({ length: 120_000 }, (_, i) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`);
    const uri = await upload('large.json', config({ Mappings: [{ From: 'EntraId:Default', To: 'Signature365:Tenant1', LimitToGroups: groups }] }));
    const loaded = await loadConfig({ CONFIG_BLOB_URI: uri }, { blobAccess: access });
    expect(loaded.config.mappings[0]?.limitToGroups).toHaveLength(120_000);
  });
});
