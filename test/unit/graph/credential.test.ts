import { describe, expect, it } from 'vitest';
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
