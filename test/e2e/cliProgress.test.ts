/**
 * `s365-connector sync` shows its progress on stderr (here not a terminal: plain lines) for the pull
 * and the uploads, shows none with `--quiet`, says what `--queues` queued, and keeps it out of the
 * JSON logs and the summary. The CLI in-process against the harness's fakes and the shared Azurite.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTenant } from '../fakes/graph';
import { runCliInProcess, type InProcessCliResult } from '../support/inProcessCli';
import { everythingCaptured, expectNoSecrets, startConnectorHarness, type ConnectorHarness } from '../support/connectorHarness';

const USERS = 24;

let harness: ConnectorHarness;
let userIds: string[];

beforeAll(async () => {
  const tenant = new FakeTenant({ seed: 18 });
  // No guests or disabled accounts: every user is in scope, so the totals are exact.
  userIds = tenant.generate({ users: USERS, groups: 3, seed: 18, guestShare: 0, disabledShare: 0 }).userIds;
  harness = await startConnectorHarness({ tenant, destinations: ['TenantA'] });
  harness.configure([{ From: 'EntraId:Default', To: 'Signature365:TenantA' }]);
});
afterAll(async () => {
  expectNoSecrets(harness, everythingCaptured(harness));
  await harness.close();
});

interface CapturedRun extends InProcessCliResult {
  progress: string;
  logs: string[];
}

/** The CLI with stderr's two users captured apart: the progress (a stream that is not a terminal) and the JSON log lines. */
async function sync(...args: string[]): Promise<CapturedRun> {
  let progress = '';
  const logs: string[] = [];
  const progressStream = Object.assign(new Writable({ write(chunk: Buffer | string, _encoding, done) { progress += chunk.toString(); done(); } }), { isTTY: false });
  const run = await runCliInProcess(['sync', '--log-level', 'info', ...args], process.env, {
    progressStream: progressStream as unknown as NodeJS.WriteStream,
    logSink: { write: (line) => logs.push(line) },
  });
  return { ...run, progress, logs };
}

function expectLogsFreeOfProgress(run: CapturedRun): void {
  expect(run.logs.length).toBeGreaterThan(0);
  for (const line of run.logs) {
    expect(() => JSON.parse(line) as unknown).not.toThrow();
    expect(line).not.toContain('progress:');
  }
  expect(run.out).not.toContain('progress:');
}

describe('sync progress on stderr', () => {
  it('shows the pull per kind and the uploads per destination, as plain lines without ANSI codes, and nothing of it in the logs', async () => {
    const run = await sync();
    expect(run.code).toBe(0);
    const lines = run.progress.split('\n').filter(Boolean);
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^progress: pull Default users: full round: done, page 1, ${USERS} objects in (<1|\\d+)s`)),
      expect.stringMatching(/^progress: pull Default groups: full round: done, page 1, 3 objects in (<1|\d+)s/),
      // Groups are sent before users (a user's record names its groups).
      expect.stringMatching(/^progress: send Default -> TenantA groups: done, 3 of 3 in (<1|\d+)s, 1 batch, 0 failed$/),
      expect.stringMatching(new RegExp(`^progress: send Default -> TenantA users: done, ${USERS} of ${USERS} in (<1|\\d+)s, 1 batch, 0 failed$`)),
    ]);
    expect(run.progress).not.toMatch(/\u001b/);
    expectLogsFreeOfProgress(run);
    expect(run.out).toMatch(/Uploads: 2 batches/);
  });

  it('shows none with --quiet; the logs and the summary are unchanged', async () => {
    harness.tenant.updateUser(userIds[0] ?? '', { jobTitle: 'Quietly promoted' });
    const run = await sync('--quiet');
    expect(run.code).toBe(0);
    expect(run.progress).toBe('');
    expectLogsFreeOfProgress(run);
    expect(run.out).toMatch(/Uploads: 1 batches, 1 objects acknowledged, 0 failed/);
    expect(harness.s365.tenant('TenantA').user(harness.sourceId, userIds[0] ?? '')?.jobTitle).toBe('Quietly promoted');
  });

  it('says what --queues queued, and that the pull was incremental', async () => {
    harness.tenant.updateUser(userIds[1] ?? '', { jobTitle: 'Queued promotion' });
    const run = await sync('--queues');
    expect(run.code).toBe(0);
    expect(run.progress.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/^progress: pull Default users: incremental \(changes since the last run\): done, page 1, 1 object in (<1|\d+)s/),
      expect.stringMatching(/^progress: pull Default groups: incremental \(changes since the last run\): done, page 1, 0 objects in (<1|\d+)s/),
      'progress: queue Default -> TenantA users: done, 1 of 1 queued in 1 message',
    ]);
    expectLogsFreeOfProgress(run);
    expect(await harness.peek('uploads')).toHaveLength(1);
  });
});
