import { describe, expect, it } from 'vitest';
import { classifyConnectionFailure, findNetworkCode } from '../../../src/cli/connectionFailure';
import { GraphAuthenticationError, GraphPermissionError, GraphRequestError } from '../../../src/graph/errors';
import { DestinationAuthError, DestinationNetworkError, DestinationUnavailableError } from '../../../src/signature365/errors';

function nodeError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('classifyConnectionFailure', () => {
  it.each([
    ['a DNS failure deep in the causes of a Graph read', new GraphRequestError('Could not reach Graph', {}, { cause: new TypeError('fetch failed', { cause: nodeError('ENOTFOUND', 'getaddrinfo ENOTFOUND graph.x.invalid') }) }), 'ENOTFOUND'],
    ['a refused Signature 365 endpoint', new DestinationUnavailableError('could not be reached', { destination: 'T', cause: new DestinationNetworkError('connect ECONNREFUSED 127.0.0.1:9', 'ECONNREFUSED') }), 'ECONNREFUSED'],
    ['a timeout', new GraphRequestError('Graph did not answer', {}, { cause: new DOMException('The operation was aborted due to timeout', 'TimeoutError') }), 'TimeoutError'],
    ['a TLS failure', new DestinationUnavailableError('x', { destination: 'T', cause: nodeError('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate') }), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    ['a code only named in a sign-in message', new GraphAuthenticationError('Could not get a token: request to https://login.x.invalid failed, reason: getaddrinfo EAI_AGAIN login.x.invalid', undefined), 'EAI_AGAIN'],
    ['one member of an AggregateError', new GraphRequestError('x', {}, { cause: new AggregateError([new Error('first'), nodeError('ECONNREFUSED', 'connect ECONNREFUSED ::1:9')]) }), 'ECONNREFUSED'],
  ])('reads %s as a network failure', (_what, error, code) => {
    expect(classifyConnectionFailure(error)).toEqual({ kind: 'network', code });
  });

  it('reads a refused sign-in (AADSTS code) and a refused token (401) as credential failures', () => {
    expect(classifyConnectionFailure(new GraphAuthenticationError('AADSTS7000215: Invalid client secret provided.', 'AADSTS7000215'))).toEqual({
      kind: 'credential', code: 'AADSTS7000215',
    });
    expect(classifyConnectionFailure(new DestinationAuthError('401', { destination: 'T', status: 401 }))).toEqual({ kind: 'credential', code: undefined });
  });

  it('reads a missing Graph permission as such, an answer-less failure as network, and an answered one as other', () => {
    expect(classifyConnectionFailure(new GraphPermissionError('Default', 'users', 'Authorization_RequestDenied')).kind).toBe('permission');
    expect(classifyConnectionFailure(new DestinationUnavailableError('down', { destination: 'T' }))).toEqual({ kind: 'network', code: undefined });
    expect(classifyConnectionFailure(new DestinationUnavailableError('503', { destination: 'T', status: 503 })).kind).toBe('other');
    expect(classifyConnectionFailure(new Error('something else')).kind).toBe('other');
  });

  it('finds no network code in a credential error that merely mentions words like CERT in prose', () => {
    expect(findNetworkCode(new GraphAuthenticationError('AADSTS700027: Client assertion failed; check the certificate', 'AADSTS700027'))).toBeUndefined();
  });
});
