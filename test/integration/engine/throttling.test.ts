import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PullSummary } from '../../../src/sync/pullSource';
import { SOURCE, faultOnRequest, startEngineHarness, type EngineHarness } from '../../support/engineHarness';
import { expectedDirectory, readMirrorDirectory } from '../../support/mirrorSnapshot';

const RETRY_AFTER_SECONDS = 1;

let h: EngineHarness;
let result: PullSummary;

beforeAll(async () => {
  h = await startEngineHarness({ users: 80, groups: 10, seed: 17 });
  faultOnRequest(h.graph, 'users', 2, { status: 429, retryAfterSeconds: RETRY_AFTER_SECONDS });
  result = await h.pull();
});
afterAll(async () => {
  await h.close();
});

describe('users/delta answering 429 with Retry-After mid-round', () => {
  it('retries the same page no sooner than Retry-After, and the pull completes', () => {
    const users = h.graph.deltaRequests('users');
    const throttled = users.findIndex((request) => request.status === 429);
    const [refused, retry] = [users[throttled], users[throttled + 1]];
    expect(throttled).toBe(1);
    expect(retry?.status).toBe(200);
    expect(retry?.query).toEqual(refused?.query);
    const waitedInMs = (retry?.at ?? 0) - (refused?.at ?? 0);
    expect(waitedInMs).toBeGreaterThanOrEqual(RETRY_AFTER_SECONDS * 1000);
    // Well under the client's own 3 s default backoff: the wait came from Retry-After, not from the fallback.
    expect(waitedInMs).toBeLessThan(2_500);
    expect(result.status).toBe('completed');
  });

  it('loses nothing to the throttled page', async () => {
    expect(await readMirrorDirectory(h.mirror, SOURCE)).toEqual(expectedDirectory(h.tenant));
  });
});
