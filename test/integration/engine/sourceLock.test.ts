import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TableLockStore } from '../../../src/store';
import type { PullSummary } from '../../../src/sync/pullSource';
import { PAGE_SIZE, SOURCE, startEngineHarness, type EngineHarness } from '../../support/engineHarness';
import { expectedDirectory, readMirrorDirectory } from '../../support/mirrorSnapshot';

const USERS = 120;

let h: EngineHarness;
let results: PullSummary[];

beforeAll(async () => {
  h = await startEngineHarness({ users: USERS, groups: 15, seed: 3 });
  // The first page is slow, so whichever pull takes the lock still holds it when the other asks.
  h.graph.faults.add({ target: 'users', delayMs: 300 });
  // Two instances: each with its own lock store client, as two Function hosts would have.
  results = await Promise.all([
    h.pull({ holder: 'instance-a' }),
    h.pull({ holder: 'instance-b', locks: new TableLockStore(h.storage) }),
  ]);
});
afterAll(async () => {
  await h.close();
});

describe('two pulls of the same source at once', () => {
  it('lets one pull and tells the other the source is locked', () => {
    expect(results.map((r) => r.status).sort()).toEqual(['completed', 'locked']);
    const locked = results.find((r) => r.status === 'locked');
    expect(locked).toEqual({ source: SOURCE, status: 'locked', seconds: 0 });
  });

  it('reads the tenant once, and the mirror equals it', async () => {
    expect(h.graph.deltaRequests('users')).toHaveLength(Math.ceil(USERS / PAGE_SIZE));
    expect(await readMirrorDirectory(h.mirror, SOURCE)).toEqual(expectedDirectory(h.tenant));
  });

  it('releases the lock when the pull ends, so the next pull runs', async () => {
    expect((await h.pull({ holder: 'instance-b' })).status).toBe('completed');
  });
});
