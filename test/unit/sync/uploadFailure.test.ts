import { describe, expect, it } from 'vitest';
import { DestinationAuthError, DestinationRequestError, DestinationUnavailableError } from '../../../src/signature365/errors';
import { classifyUploadFailure } from '../../../src/sync/uploadWork';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const options = (status: number | undefined, retryAfterInMs?: number) => ({ destination: 'T', status, retryAfterInMs });

describe('classifyUploadFailure', () => {
  it('quarantines a refused token', () => {
    expect(classifyUploadFailure(new DestinationAuthError('401', options(401)), NOW)).toEqual({ kind: 'quarantine', reason: 'unauthorized' });
  });

  it('makes a persistent rejection (404, 422, a broken answer) a "rejected" quarantine, never a throw', () => {
    for (const status of [404, 405, 409, 422, 200]) {
      expect(classifyUploadFailure(new DestinationRequestError('no', options(status)), NOW)).toEqual({ kind: 'quarantine', reason: 'rejected' });
    }
  });

  it('defers until the destination\'s Retry-After when a 429 asked for longer than the client waits', () => {
    expect(classifyUploadFailure(new DestinationUnavailableError('429', options(429, 600_000)), NOW))
      .toEqual({ kind: 'throttled', until: '2026-03-01T12:10:00.000Z' });
    expect(classifyUploadFailure(new DestinationUnavailableError('429', options(429, 60_001)), NOW)).toMatchObject({ kind: 'throttled' });
  });

  it('quarantines as unavailable a 429 without or with a short Retry-After, a 503 (even with a long one) and a network failure', () => {
    for (const error of [
      new DestinationUnavailableError('429', options(429)),
      new DestinationUnavailableError('429', options(429, 5_000)),
      new DestinationUnavailableError('429', options(429, 60_000)),
      new DestinationUnavailableError('503', options(503, 600_000)),
      new DestinationUnavailableError('network', options(undefined)),
    ]) expect(classifyUploadFailure(error, NOW)).toEqual({ kind: 'quarantine', reason: 'unavailable' });
  });

  it('rethrows what is not the destination\'s answer (storage, bugs), so the host retries the message', () => {
    expect(classifyUploadFailure(new TypeError('x is undefined'), NOW)).toEqual({ kind: 'rethrow' });
    expect(classifyUploadFailure('a string', NOW)).toEqual({ kind: 'rethrow' });
  });
});
