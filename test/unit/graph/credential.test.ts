import type { TokenCredential } from '@azure/core-auth';
import { describe, expect, it } from 'vitest';
import type { EntraSourceConfig } from '../../../src/config/types';
import { SourceGraphClient } from '../../../src/graph/graphClient';
import { isWellKnownAuthorityHost } from '../../../src/graph/credential';
import { GraphPermissionError } from '../../../src/graph/errors';

describe('isWellKnownAuthorityHost', () => {
  it.each([
    ['https://login.microsoftonline.com', true],
    ['https://login.microsoftonline.us/', true],
    ['https://login.chinacloudapi.cn', true],
    ['https://127.0.0.1:8443', false],
    ['https://login.example.internal', false],
  ])('%s → %s', (host, expected) => {
    expect(isWellKnownAuthorityHost(host)).toBe(expected);
  });
});

describe('GraphPermissionError', () => {
  it('names the source and the permissions to grant', () => {
    const error = new GraphPermissionError('Default', 'groups', 'Authorization_RequestDenied');
    expect(error.message).toContain('"Default"');
    expect(error.message).toContain('Group.Read.All or GroupMember.Read.All');
    expect(error.requiredPermissions).toEqual(['Group.Read.All', 'GroupMember.Read.All']);
  });
});

describe('a source written as TenantId + ClientId alone (the managed identity the vendor\'s container uses)', () => {
  it('explains, when no token comes, that the ClientId was taken as a user-assigned managed identity and what to do', async () => {
    const source: EntraSourceConfig = {
      name: 'Default',
      tenantId: '3f0e9a71-5d2c-4b8e-9a61-0c7d2e4b5f18',
      auth: { kind: 'managedIdentity', clientId: 'c41d7e02-8b3a-4f65-a9d0-2e6b1c8f7a93', inferred: true },
      authorityHost: 'https://login.microsoftonline.com',
      // Never reached: the token is asked for first.
      graphEndpoint: 'https://127.0.0.1:9',
    };
    // What ManagedIdentityCredential reports on a host without that identity.
    const noIdentity: TokenCredential = { getToken: () => Promise.reject(new Error('ManagedIdentityCredential: no managed identity endpoint found')) };
    const client = new SourceGraphClient(source, { credential: noIdentity, maxRetries: 0 });

    const error: unknown = await client.get('https://127.0.0.1:9/v1.0/users/delta', {}).then(() => undefined, (reason: unknown) => reason);

    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain('managed identity c41d7e02-8b3a-4f65-a9d0-2e6b1c8f7a93');
    expect(message).toContain(
      'ClientId without ClientSecret or Certificate is taken as a user-assigned managed identity: attach the identity with that client id ' +
        'to this app (container or Function), or add ClientSecret or Certificate if it is an app registration.',
    );
  });
});
