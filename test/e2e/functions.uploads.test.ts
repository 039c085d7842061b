/**
 * The upload fan-out through the real Functions handlers: syncTimer plans and enqueues ids,
 * uploadWorker sends them, and the destinations end up right through re-runs, duplicates,
 * throttling, splits, rejected items, a revoked token and deletions.
 */
import { describe, expect, it } from 'vitest';
import { uploadRequestedMessage } from '../../src/sync/messages';
import { FakeTenant } from '../fakes/graph';
import { batchesSince, closeAfterEachTest, expectDestinationsToMatch, heldUsers, startConnectorHarness } from '../support/connectorHarness';
import type { RawMapping, RawOptions } from '../support/expectedDestinations';
import { ledgerEntries, ledgerEntry } from '../support/ledgerView';

const USERS_BATCH = '/api/directory/v1/users/batch';

/**
 * 150 generated users (a few guests and disabled accounts, managers, nested groups); TenantA takes
 * the whole source (more than one message of 100 ids), TenantB one department.
 */
async function start(options: RawOptions = {}) {
  const tenant = new FakeTenant({ seed: 21, domain: 'contoso.example' });
  const { groupIds } = tenant.generate({ users: 150, groups: 10, nestingDepth: 3, seed: 21 });
  const department = groupIds[0] ?? '';
  const harness = await startConnectorHarness({ tenant });
  const mappings: RawMapping[] = [
    { From: 'EntraId:Default', To: 'Signature365:TenantA' },
    { From: 'EntraId:Default', To: 'Signature365:TenantB', LimitToGroups: [department] },
  ];
  harness.configure(mappings, options);
  current.track(harness);
  return { harness, tenant, mappings, department };
}

/** A user both tenants hold: enabled, a member, with mail, in the department group. */
function memberOfBoth(tenant: FakeTenant, department: string): string {
  const id = tenant.activeMembersOf(department)
    .map((m) => tenant.getUser(m.id))
    .find((u) => u !== undefined && u.accountEnabled && u.userType === 'Member' && u.mail !== null)?.id;
  if (id === undefined) throw new Error('the generated department has no plain member');
  return id;
}

/** Each test's harness: checked for leaked secrets and closed after the test. */
const current = closeAfterEachTest();

describe('upload fan-out through syncTimer and uploadWorker', () => {
  it('sends nothing and enqueues nothing when a sync finds nothing changed; one jobTitle change sends one user to each tenant holding them', async () => {
    const { harness, tenant, mappings, department } = await start();
    await harness.syncAndUpload();
    expectDestinationsToMatch(harness, mappings);

    const mark = harness.s365.requests.length;
    await harness.runTimer();
    expect(await harness.peek('uploads')).toEqual([]);
    expect(batchesSince(harness, mark)).toEqual([]);

    const promoted = memberOfBoth(tenant, department);
    tenant.updateUser(promoted, { jobTitle: 'Head of Everything' });
    await harness.runTimer();
    const queued = await harness.peek('uploads');
    expect(queued).toHaveLength(2);
    expect(queued).toEqual(expect.arrayContaining([
      expect.objectContaining({ destination: 'TenantA', kind: 'users', ids: [promoted] }),
      expect.objectContaining({ destination: 'TenantB', kind: 'users', ids: [promoted] }),
    ]));
    await harness.drainUploads();
    const sent = batchesSince(harness, mark);
    expect(sent.map((r) => [r.tenant, r.path, r.upserts, r.deletes]).sort()).toEqual([
      ['TenantA', USERS_BATCH, 1, 0],
      ['TenantB', USERS_BATCH, 1, 0],
    ]);
    expect(heldUsers(harness, 'TenantA').get(promoted)?.jobTitle).toBe('Head of Everything');
    expectDestinationsToMatch(harness, mappings);
  });

  it('puts only ids on the queue: at most 100 per message, far below 64 KiB, valid against the message schema', async () => {
    const { harness, tenant } = await start();
    await harness.syncAndUpload();
    const uploads = harness.capture.messages.filter((m) => m.queue.endsWith('-uploads'));
    expect(uploads.length).toBeGreaterThanOrEqual(4);
    // TenantA's ~140 users need two messages: the 100-id limit is reached, not just respected.
    expect(Math.max(...uploads.map((m) => uploadRequestedMessage.parse(m.decoded).ids.length))).toBe(100);
    const names = tenant.activeUsers().flatMap((u) => [u.userPrincipalName, u.displayName ?? '', u.mail ?? '']).filter((n) => n.length > 3);
    for (const message of uploads) {
      const parsed = uploadRequestedMessage.parse(message.decoded);
      expect(Object.keys(message.decoded as object).sort()).toEqual(['destination', 'ids', 'kind', 'runId', 'source', 'type', 'v']);
      expect(parsed.ids.length).toBeLessThanOrEqual(100);
      expect(Buffer.byteLength(message.text)).toBeLessThan(64 * 1024);
      const json = JSON.stringify(message.decoded);
      expect(names.filter((name) => json.includes(name))).toEqual([]);
    }
  });

  it('refuses a message that carries more than ids (a record), so the host retries and then poisons it', async () => {
    const { harness, tenant } = await start();
    await harness.runTimer();
    const [first] = await harness.peek('uploads');
    const withRecord = { ...(first as object), record: tenant.activeUsers()[0] };
    await expect(harness.deliverUpload(withRecord)).rejects.toThrow(/Queue message rejected/);
    const tooMany = { ...(first as object), ids: Array.from({ length: 101 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`) };
    await expect(harness.deliverUpload(tooMany)).rejects.toThrow(/ids/);
  });

  it('sends nothing when the same upload message is delivered twice', async () => {
    const { harness, mappings } = await start();
    await harness.runTimer();
    const [first] = await harness.peek('uploads');
    await harness.drainUploads();
    const mark = harness.s365.requests.length;
    await harness.deliverUpload(first, 2);
    expect(batchesSince(harness, mark)).toEqual([]);
    expectDestinationsToMatch(harness, mappings);
  });

  it('ends right after 429 (Retry-After 1) and a burst of 503s from the destination', async () => {
    const { harness, mappings } = await start();
    harness.s365.faults.throttle(1, 1, { path: USERS_BATCH });
    harness.s365.faults.failNext(2, 503, { match: { path: USERS_BATCH } });
    const drained = await harness.syncAndUpload();
    expect(drained.failed).toBe(0);
    expect(harness.s365.requests.filter((r) => r.fault !== null).map((r) => r.status)).toEqual([429, 503, 503]);
    expectDestinationsToMatch(harness, mappings);
  });

  it('splits a batch the destination answers 413 and still delivers everything', async () => {
    const { harness, mappings } = await start();
    harness.s365.faults.lowerLimits({ maxItems: 30 });
    const drained = await harness.syncAndUpload();
    expect(drained.failed).toBe(0);
    expect(harness.s365.requests.some((r) => r.status === 413)).toBe(true);
    expect(harness.capture.stderr.join('')).toContain('destination.split');
    expectDestinationsToMatch(harness, mappings);
  });

  it('records a rejected item as failed, lands the rest, and retries it on the next sync until it lands', async () => {
    const { harness, tenant, mappings, department } = await start();
    const rejected = memberOfBoth(tenant, department);
    harness.s365.faults.rejectItem(rejected, 'mail is not a valid address');
    const drained = await harness.syncAndUpload();
    expect(drained.failed).toBe(0);
    expect(heldUsers(harness, 'TenantA').has(rejected)).toBe(false);
    const entry = await ledgerEntry(harness.ledger, 'TenantA', 'Default', 'users', rejected);
    expect(entry).toMatchObject({ f: 1, w: 1 });
    expect(entry?.a).toBeUndefined();
    expect(entry?.e).toContain('mail is not a valid address');
    expect(heldUsers(harness, 'TenantA').size).toBeGreaterThan(100);

    await harness.runTimer();
    expect(await harness.peek('uploads')).toEqual(expect.arrayContaining([expect.objectContaining({ destination: 'TenantA', ids: [rejected] })]));
    harness.s365.faults.clear();
    await harness.drainUploads();
    const landed = await ledgerEntry(harness.ledger, 'TenantA', 'Default', 'users', rejected);
    expect(landed?.a).toEqual(expect.any(String));
    expect(landed?.f).toBeUndefined();
    expect(landed?.e).toBeUndefined();
    expectDestinationsToMatch(harness, mappings);
  });

  it('splits a batch the destination refused as a whole (400) and lands every object of it in the same run', async () => {
    const { harness, mappings } = await start();
    harness.s365.faults.failNext(1, 400, { match: { path: USERS_BATCH } });
    const drained = await harness.syncAndUpload();
    expect(drained).toMatchObject({ failed: 0, poisoned: 0 });
    expect(harness.capture.errors).toEqual([]);
    expect(harness.s365.requests.filter((r) => r.status === 400)).toHaveLength(1);
    for (const destination of ['TenantA', 'TenantB']) {
      for (const entry of (await ledgerEntries(harness.ledger, destination, 'Default', 'users')).values()) expect(entry.f).toBeUndefined();
    }
    expectDestinationsToMatch(harness, mappings);
  });

  it('leaves no poison message and makes a bounded number of requests when a destination answers 404 to everything', async () => {
    const { harness, mappings } = await start();
    harness.s365.faults.failNext(10_000, 404, { match: { tenant: 'TenantB' } });

    const drained = await harness.syncAndUpload();

    // Before issue 16: every TenantB message threw, five tries each, then the poison queue.
    expect(drained).toMatchObject({ failed: 0, poisoned: 0 });
    expect(await harness.peek('uploads-poison')).toEqual([]);
    // The first sync is a full round, so it also lists what TenantB holds (one GET, answered 404: the
    // reconcile reports it and fails nothing); then one batch, refused, and the destination is rejected.
    const tenantBRequests = () => harness.s365.requests.filter((r) => r.tenant === 'TenantB').map((r) => r.method);
    expect(tenantBRequests()).toEqual(['GET', 'POST']);
    expect(await harness.health.get('TenantB')).toMatchObject({ healthy: false, reason: 'rejected' });
    expect(harness.capture.logs.filter((line) => line.includes('destination.rejected'))).toHaveLength(1);
    // The next tick queues nothing for it while it is rejected; TenantA was served in full.
    const again = await harness.syncAndUpload();
    expect(again).toMatchObject({ failed: 0, poisoned: 0 });
    expect(tenantBRequests()).toEqual(['GET', 'POST']);
    expectDestinationsToMatch(harness, mappings.slice(0, 1));
  });

  it('quarantines a destination that answers 401 and still delivers the other destination\'s data', async () => {
    const { harness, mappings } = await start();
    harness.s365.faults.failNext(50, 401, { match: { tenant: 'TenantB' } });
    const drained = await harness.syncAndUpload();
    expect(drained.failed).toBe(0);
    const health = await harness.health.get('TenantB');
    expect(health).toMatchObject({ healthy: false, consecutiveFailures: 1 });
    expect(Date.parse(health?.retryAfter ?? '')).toBeGreaterThan(Date.now());
    expect(heldUsers(harness, 'TenantB').size).toBe(0);
    // Messages already queued for TenantB when it was quarantined do not knock again with the bad token.
    expect(harness.s365.requests.filter((r) => r.tenant === 'TenantB')).toHaveLength(1);
    const expected = expectDestinationsToMatch(harness, mappings.slice(0, 1));
    expect(expected.get('TenantA')?.users.size).toBeGreaterThan(100);

    // While quarantined, the next sync enqueues nothing for it.
    await harness.runTimer();
    expect((await harness.peek('uploads')).filter((m) => (m as { destination?: string }).destination === 'TenantB')).toEqual([]);
  });
});

describe('deletions through the queue', () => {
  it('deletes a user removed from the group at once with DeleteAfterDays 0', async () => {
    const { harness, tenant, mappings, department } = await start({ DeleteAfterDays: 0 });
    const leaver = memberOfBoth(tenant, department);
    await harness.syncAndUpload();
    expect(heldUsers(harness, 'TenantB').has(leaver)).toBe(true);

    tenant.removeMember(department, leaver);
    const mark = harness.s365.requests.length;
    await harness.syncAndUpload();
    expect(heldUsers(harness, 'TenantB').has(leaver)).toBe(false);
    expect(batchesSince(harness, mark).filter((r) => r.tenant === 'TenantB' && r.deletes === 1)).toHaveLength(1);
    expectDestinationsToMatch(harness, mappings, { DeleteAfterDays: 0 });
  });

  it('removes a deleted nested group from the destination and from its members\' groups (DeleteAfterDays 0)', async () => {
    const { harness, tenant, mappings } = await start({ DeleteAfterDays: 0 });
    await harness.syncAndUpload();
    const nested = tenant.activeGroups().find((g) => g.displayName === 'Nested level 2');
    if (nested === undefined) throw new Error('the generated tenant has no nested group');
    expect(harness.s365.tenant('TenantA').group(harness.sourceId, nested.id)).toBeDefined();
    tenant.deleteGroup(nested.id);
    await harness.syncAndUpload();
    expect(harness.s365.tenant('TenantA').group(harness.sourceId, nested.id)).toBeUndefined();
    for (const user of heldUsers(harness, 'TenantA').values()) expect(user.groups).not.toContain(nested.id);
    expectDestinationsToMatch(harness, mappings, { DeleteAfterDays: 0 });
  });

  it('holds deletions instead of emptying a tenant whose LimitToGroups group disappears', async () => {
    const { harness, tenant, department } = await start({ DeleteAfterDays: 0 });
    await harness.syncAndUpload();
    const heldBefore = [...heldUsers(harness, 'TenantB').keys()].sort();
    expect(heldBefore.length).toBeGreaterThan(0);
    tenant.deleteGroup(department);
    const mark = harness.s365.requests.length;
    await harness.syncAndUpload();
    expect(batchesSince(harness, mark).filter((r) => r.tenant === 'TenantB' && r.deletes > 0)).toEqual([]);
    expect([...heldUsers(harness, 'TenantB').keys()].sort()).toEqual(heldBefore);
    expect(harness.capture.logs.join('\n')).toContain('deletions.held');
  });

  it('keeps a removed user through the default 7-day grace period, and takes them back cleanly when re-added', async () => {
    const { harness, tenant, department } = await start();
    const leaver = memberOfBoth(tenant, department);
    await harness.syncAndUpload();
    const before = heldUsers(harness, 'TenantB').get(leaver);

    tenant.removeMember(department, leaver);
    let mark = harness.s365.requests.length;
    await harness.syncAndUpload();
    expect(batchesSince(harness, mark).filter((r) => r.tenant === 'TenantB')).toEqual([]);
    expect(heldUsers(harness, 'TenantB').get(leaver)).toEqual(before);
    const waiting = await ledgerEntry(harness.ledger, 'TenantB', 'Default', 'users', leaver);
    expect(waiting?.w).toBeUndefined();
    expect(waiting?.l).toEqual(expect.any(String));
    expect(waiting?.a).toEqual(expect.any(String));

    tenant.addMember(department, leaver);
    mark = harness.s365.requests.length;
    await harness.syncAndUpload();
    // TenantA takes the whole source, so only the user's `groups` changed there (twice); TenantB sends nothing.
    expect(batchesSince(harness, mark).filter((r) => r.tenant === 'TenantB')).toEqual([]);
    const back = await ledgerEntry(harness.ledger, 'TenantB', 'Default', 'users', leaver);
    expect(back).toMatchObject({ w: 1, a: waiting?.a });
    expect(back?.l).toBeUndefined();
    expect(heldUsers(harness, 'TenantB').get(leaver)).toEqual(before);
  });
});
