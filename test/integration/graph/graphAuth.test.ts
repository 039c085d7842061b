import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GraphAuthenticationError, createGraphDirectoryReader } from '../../../src/graph';
import type { DirectoryReader } from '../../../src/sync/ports';
import { FAKE_TLS_DIR, FakeTenant, startFakeGraph, type FakeGraph } from '../../fakes/graph';

const SECRET = 'fake-secret-Value~0123456789';
const CLIENT_CERT_PEM = readFileSync(join(FAKE_TLS_DIR, 'client-cert.pem'), 'utf8');

let fake: FakeGraph | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function startWithOneUser(): Promise<FakeGraph> {
  const tenant = new FakeTenant();
  tenant.addUser({ displayName: 'Ada Adler' });
  fake = await startFakeGraph({ tenant, clientSecret: SECRET, certificatePem: CLIENT_CERT_PEM });
  return fake;
}

async function countUsers(reader: DirectoryReader): Promise<number> {
  let count = 0;
  for await (const page of reader.readUsers(undefined)) count += page.changes.length;
  return count;
}

describe('Graph authentication against the fake Entra authority', () => {
  it('reads with a client secret, asking for <graphEndpoint>/.default', async () => {
    const graph = await startWithOneUser();
    const reader = createGraphDirectoryReader(graph.sourceConfig());

    expect(await countUsers(reader)).toBe(1);
    expect(graph.tokenRequests).toEqual([
      expect.objectContaining({ method: 'secret', issued: true, scope: `${graph.graphEndpoint}/.default` }),
    ]);
  });

  it.each([true, false])('reads with a certificate held in memory (sendCertificateChain %s)', async (sendCertificateChain) => {
    const graph = await startWithOneUser();
    const reader = createGraphDirectoryReader(
      graph.sourceConfig({ kind: 'certificate', clientId: graph.clientId, certificatePem: CLIENT_CERT_PEM, sendCertificateChain }),
    );

    expect(await countUsers(reader)).toBe(1);
    expect(graph.tokenRequests).toEqual([expect.objectContaining({ method: 'certificate', issued: true, sentCertificateChain: sendCertificateChain })]);
  });

  it('fails a wrong secret with a GraphAuthenticationError that names the AADSTS code but not the secret', async () => {
    const graph = await startWithOneUser();
    const wrongSecret = 'wrong-secret-Value~9876543210';
    const reader = createGraphDirectoryReader(graph.sourceConfig({ kind: 'clientSecret', clientId: graph.clientId, clientSecret: wrongSecret }));

    const error = await countUsers(reader).then(() => undefined, (e: unknown) => e);

    expect(error).toBeInstanceOf(GraphAuthenticationError);
    const authError = error as GraphAuthenticationError;
    expect(authError.aadCode).toBe('AADSTS7000215');
    expect(authError.message).toContain('source "Default"');
    expect(authError.message).toContain(graph.clientId);
    expect(authError.message).not.toContain(wrongSecret);
    expect(authError.message).not.toContain(SECRET);
    expect(graph.deltaRequests()).toHaveLength(0);
  });

  it('has Graph refuse requests without a valid bearer token', async () => {
    const graph = await startWithOneUser();

    const anonymous = await fetch(`${graph.graphEndpoint}/v1.0/users/delta`);
    const forged = await fetch(`${graph.graphEndpoint}/v1.0/users/delta`, { headers: { Authorization: 'Bearer not-issued' } });

    expect(anonymous.status).toBe(401);
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('InvalidAuthenticationToken');
  });
});
