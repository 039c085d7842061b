/**
 * Directory (schema) extension properties named in the config are read through users/delta and
 * reach the record under extensionAttributes: set, changed and cleared in incremental rounds,
 * dropped by a full round when Graph leaves them out, and a change of the configured list starts a
 * full round (a delta link keeps the $select it was issued with).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraphDirectoryReader } from '../../../src/graph';
import { buildUserBase } from '../../../src/sync/payload';
import { PAGE_SIZE, SOURCE, SimulatedCrash, crashAfterPages, startEngineHarness, type EngineHarness } from '../../support/engineHarness';

const APP_ID = 'b7d8e648-520f-41d3-b9c0-fdeb91768a0a';
let h: EngineHarness;
let costCenter: string;
let skills: string;
let level: string;
let alice: string;
let bob: string;

function readerWith(extensionProperties: string[]) {
  return createGraphDirectoryReader({ ...h.graph.sourceConfig(undefined, SOURCE), extensionProperties }, { pageSize: PAGE_SIZE, maxRetries: 3 });
}

async function sentExtensions(userId: string): Promise<Record<string, string | null>> {
  const user = (await h.mirror.getUsers(SOURCE, [userId])).get(userId);
  if (user === undefined) throw new Error(`user ${userId} is not in the mirror`);
  return buildUserBase(user).extensionAttributes;
}

beforeAll(async () => {
  h = await startEngineHarness({ users: 80, groups: 6, seed: 21 });
  costCenter = h.tenant.registerExtensionProperty({ appId: APP_ID, name: 'costCenter' });
  skills = h.tenant.registerExtensionProperty({ appId: APP_ID, name: 'skills', isMultiValued: true });
  level = h.tenant.registerExtensionProperty({ appId: APP_ID, name: 'level', dataType: 'Integer' });
  const [first, second] = h.tenant.activeUsers();
  if (first === undefined || second === undefined) throw new Error('the generated tenant has too few users');
  [alice, bob] = [first.id, second.id];
  h.tenant.updateUser(alice, { directoryExtensions: { [costCenter]: 'CC-100', [skills]: ['Sales', 'French'], [level]: 3 } });
  h.tenant.updateUser(bob, { directoryExtensions: { [costCenter]: 'CC-200' } });
  await h.pull({ reader: readerWith([]) }); // the first full round, no extensions configured
});
afterAll(async () => {
  await h.close();
});

describe('directory extension properties', () => {
  it('are not read while the config names none', async () => {
    expect(Object.keys(await sentExtensions(alice)).filter((key) => key.startsWith('extension_'))).toEqual([]);
  });

  it('start a full round when the configured list changes, and then reach the record as text', async () => {
    const summary = await h.pull({ reader: readerWith([costCenter, skills, level]) });
    expect(summary.users?.roundKind).toBe('full');
    expect(await sentExtensions(alice)).toMatchObject({ [costCenter]: 'CC-100', [skills]: 'Sales, French', [level]: '3' });
    expect(await sentExtensions(bob)).toMatchObject({ [costCenter]: 'CC-200' });
    expect(Object.keys(await sentExtensions(bob))).not.toContain(skills);
    // The same list again: an incremental round.
    expect((await h.pull({ reader: readerWith([level, skills, costCenter]) })).users?.roundKind).toBe('incremental');
  });

  it('follow a change and a clearing in incremental rounds', async () => {
    h.tenant.updateUser(alice, { directoryExtensions: { [costCenter]: 'CC-300', [skills]: null } });
    const summary = await h.pull({ reader: readerWith([costCenter, skills, level]) });
    expect(summary.users?.roundKind).toBe('incremental');
    const sent = await sentExtensions(alice);
    expect(sent[costCenter]).toBe('CC-300');
    expect(sent).not.toHaveProperty(skills);
    expect(sent[level]).toBe('3');
  });

  it('are dropped by a full round that no longer sees a value', async () => {
    h.tenant.updateUser(bob, { directoryExtensions: { [costCenter]: null } });
    h.graph.expireTokens(); // the clearing is not reported incrementally
    const summary = await h.pull({ reader: readerWith([costCenter, skills, level]) });
    expect(summary.users?.roundKind).toBe('full');
    expect(await sentExtensions(bob)).not.toHaveProperty(costCenter);
    expect((await sentExtensions(alice))[costCenter]).toBe('CC-300');
  });

  it('are dropped from every record when removed from the config (a full round without them)', async () => {
    const summary = await h.pull({ reader: readerWith([level]) });
    expect(summary.users?.roundKind).toBe('full');
    const sent = await sentExtensions(alice);
    expect(sent).not.toHaveProperty(costCenter);
    expect(sent[level]).toBe('3');
  });
});

describe('directory extension properties removed from the config, the full round interrupted', () => {
  it('are still dropped on the pages read after the round resumes', async () => {
    const harness = await startEngineHarness({ users: 80, groups: 6, seed: 22 });
    try {
      const name = harness.tenant.registerExtensionProperty({ appId: APP_ID, name: 'costCenter' });
      const users = harness.tenant.activeUsers();
      // Users on every page of the 37-object pages (80 users: pages 1 to 3).
      const carriers = [users[0], users[45], users[79]].map((user) => user?.id ?? '');
      for (const id of carriers) harness.tenant.updateUser(id, { directoryExtensions: { [name]: `CC-${id.slice(0, 4)}` } });
      const reader = (names: string[]) => createGraphDirectoryReader({ ...harness.graph.sourceConfig(undefined, SOURCE), extensionProperties: names }, { pageSize: PAGE_SIZE, maxRetries: 3 });
      await harness.pull({ reader: reader([name]) });
      const held = async (id: string) => (await harness.mirror.getUsers(SOURCE, [id])).get(id)?.extensionAttributes[name];
      expect(await Promise.all(carriers.map(held))).toEqual(carriers.map((id) => `CC-${id.slice(0, 4)}`));

      // The list loses the extension; the full round this starts dies after its first page.
      await expect(harness.pull({ reader: crashAfterPages(reader([]), 'users', 1) })).rejects.toBeInstanceOf(SimulatedCrash);
      expect((await harness.cursors.get(SOURCE, 'users'))?.round).toMatchObject({ kind: 'full', pages: 1, dropSelection: name });
      const resumed = await harness.pull({ reader: reader([]) });
      expect(resumed.users).toMatchObject({ roundKind: 'full', resumed: true });
      expect(await Promise.all(carriers.map(held))).toEqual([undefined, undefined, undefined]);
    } finally {
      await harness.close();
    }
  });
});
