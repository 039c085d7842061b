/**
 * The timer → queue → uploadWorker path, end to end, for the scoping rules: after one round the
 * destinations hold exactly what an independent reading of the fake tenant says they should.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeTenant } from '../fakes/graph';
import { everythingCaptured, expectDestinationsToMatch, expectNoSecrets, heldGroupIds, heldUsers, startConnectorHarness, type ConnectorHarness } from '../support/connectorHarness';
import { expectedDestinations, type RawMapping, type RawOptions } from '../support/expectedDestinations';

/**
 * A small organisation with every shape the rules care about:
 *   Root ⊃ Mid ⊃ Leaf (3 deep), Root ⊃ Contractors, CycleA ⇄ CycleB, Board (outside everything).
 */
function organisation() {
  const tenant = new FakeTenant({ seed: 11, domain: 'contoso.example' });
  const group = (displayName: string) => tenant.addGroup({ displayName, mail: `${displayName.toLowerCase()}@contoso.example`, description: `${displayName} team` }).id;
  const g = { root: group('Root'), mid: group('Mid'), leaf: group('Leaf'), contractors: group('Contractors'), cycleA: group('CycleA'), cycleB: group('CycleB'), board: group('Board') };
  tenant.addMember(g.root, g.mid);
  tenant.addMember(g.mid, g.leaf);
  tenant.addMember(g.root, g.contractors);
  tenant.addMember(g.cycleA, g.cycleB);
  // Entra refuses a membership that closes a loop, and so does the fake; the connector promises to
  // end its walk on one anyway, so the fake's guard is switched off for this one edge.
  Object.defineProperty(tenant, 'reaches', { value: () => false, configurable: true });
  tenant.addMember(g.cycleB, g.cycleA);

  const user = (upn: string, fields: Parameters<FakeTenant['addUser']>[0] = {}) =>
    tenant.addUser({ userPrincipalName: `${upn}@contoso.example`, jobTitle: `${upn} title`, department: 'Sales', ...fields }).id;
  const u = {
    chief: user('chief'),
    rootMember: user('root.member'),
    midMember: user('mid.member'),
    leafMember: user('leaf.member'),
    leafDisabled: user('leaf.disabled', { accountEnabled: false }),
    leafGuest: user('leaf.guest', { userType: 'Guest' }),
    leafNoMail: user('leaf.nomail', { mail: null }),
    contractor: user('contractor'),
    /** In Mid and in Contractors: excluding Contractors must still exclude them. */
    midAndContractor: user('mid.contractor'),
    cycleA: user('cycle.a'),
    cycleB: user('cycle.b'),
    boardMember: user('board.member'),
    outsider: user('outsider'),
  };
  tenant.addMember(g.root, u.rootMember);
  tenant.addMember(g.mid, u.midMember);
  for (const id of [u.leafMember, u.leafDisabled, u.leafGuest, u.leafNoMail]) tenant.addMember(g.leaf, id);
  tenant.addMember(g.contractors, u.contractor);
  tenant.addMember(g.mid, u.midAndContractor);
  tenant.addMember(g.contractors, u.midAndContractor);
  tenant.addMember(g.cycleA, u.cycleA);
  tenant.addMember(g.cycleB, u.cycleB);
  tenant.addMember(g.board, u.boardMember);
  tenant.addMember(g.board, u.chief);
  tenant.setManager(u.leafMember, u.midMember);
  // A manager outside every mapping is still resolved on the report's record.
  tenant.setManager(u.midMember, u.chief);
  return { tenant, g, u };
}

type Organisation = ReturnType<typeof organisation>;

let harness: ConnectorHarness | undefined;
afterEach(async () => {
  // Whatever a scenario did, nothing it let out may carry a token or the client secret.
  if (harness !== undefined) expectNoSecrets(harness, everythingCaptured(harness));
  await harness?.close();
  harness = undefined;
});

/** One timer round plus the upload queue, then every destination compared with the independent expectation. */
async function syncAndCompare(org: Organisation, mappings: RawMapping[], options: RawOptions = {}) {
  harness = await startConnectorHarness({ tenant: org.tenant });
  harness.configure(mappings, options);
  const drained = await harness.syncAndUpload();
  expect(drained.failed).toBe(0);
  return { harness, expected: expectDestinationsToMatch(harness, mappings, options) };
}

const to = (destination: string, fields: Omit<RawMapping, 'From' | 'To'> = {}): RawMapping => ({ From: 'EntraId:Default', To: `Signature365:${destination}`, ...fields });

describe('uploads fanned out through the queue land as the scope rules say', () => {
  it('follows groups nested 3 deep and gives each user every in-scope group above them', async () => {
    const org = organisation();
    const { expected } = await syncAndCompare(org, [to('TenantA', { LimitToGroups: [org.g.root] }), to('TenantB', { LimitToGroups: [org.g.board] })]);
    // The independent expectation itself, spelled out once so a bug shared by both readings shows.
    expect(expected.get('TenantA')?.users.get(org.u.leafMember)).toEqual([org.g.leaf, org.g.mid, org.g.root].sort());
    expect(expected.get('TenantA')?.users.has(org.u.leafDisabled)).toBe(false);
    expect(heldUsers(harness as ConnectorHarness, 'TenantA').get(org.u.leafMember)?.manager).toMatchObject({ id: org.u.midMember });
  });

  it('ends its walk on a group cycle and holds the members of both groups', async () => {
    const org = organisation();
    const { expected } = await syncAndCompare(org, [to('TenantA', { LimitToGroups: [org.g.cycleA] }), to('TenantB', { LimitToGroups: [org.g.board] })]);
    expect(expected.get('TenantA')?.users.get(org.u.cycleB)).toEqual([org.g.cycleA, org.g.cycleB].sort());
  });

  it('leaves out users excluded by UPN and by group (nested members and members of other groups too)', async () => {
    const org = organisation();
    const { expected } = await syncAndCompare(org, [
      to('TenantA', { LimitToGroups: [org.g.root], Exclude: ['LEAF.MEMBER@contoso.example', org.g.contractors] }),
      to('TenantB', { LimitToGroups: [org.g.board] }),
    ]);
    const users = expected.get('TenantA')?.users;
    expect(users?.has(org.u.leafMember)).toBe(false);
    expect(users?.has(org.u.midAndContractor)).toBe(false);
    expect(users?.has(org.u.midMember)).toBe(true);
    expect(expected.get('TenantA')?.groups.has(org.g.contractors)).toBe(false);
  });

  it('adds an outsider named by UPN in Include, and disabled users and guests when the options say so', async () => {
    const org = organisation();
    const { expected } = await syncAndCompare(
      org,
      [to('TenantA', { LimitToGroups: [org.g.leaf], Include: ['outsider@contoso.example'] }), to('TenantB', { LimitToGroups: [org.g.board] })],
      { IncludeDisabledUsers: true, IncludeGuests: true },
    );
    const users = expected.get('TenantA')?.users;
    expect(users?.get(org.u.outsider)).toEqual([]);
    expect(users?.has(org.u.leafDisabled)).toBe(true);
    expect(users?.has(org.u.leafGuest)).toBe(true);
    expect(users?.has(org.u.leafNoMail)).toBe(false);
  });

  it('unions two mappings to the same destination, groups included', async () => {
    const org = organisation();
    const { expected } = await syncAndCompare(org, [
      to('TenantA', { LimitToGroups: [org.g.leaf] }),
      to('TenantA', { LimitToGroups: [org.g.board, org.g.contractors] }),
      to('TenantB', { LimitToGroups: [org.g.cycleA] }),
    ]);
    expect([...(expected.get('TenantA')?.users.keys() ?? [])].sort()).toEqual([org.u.leafMember, org.u.boardMember, org.u.chief, org.u.contractor, org.u.midAndContractor].sort());
    expect(expected.get('TenantA')?.groups).toEqual(new Set([org.g.leaf, org.g.board, org.g.contractors]));
  });

  it('sends a user in two destinations\' scope to both under OnConflict All', async () => {
    const org = organisation();
    const { expected } = await syncAndCompare(org, [to('TenantA', { LimitToGroups: [org.g.mid] }), to('TenantB', { LimitToGroups: [org.g.contractors] })], { OnConflict: 'All' });
    expect(expected.get('TenantA')?.users.has(org.u.midAndContractor)).toBe(true);
    expect(expected.get('TenantB')?.users.has(org.u.midAndContractor)).toBe(true);
  });

  it('sends that user only to the first mapping\'s tenant under OnConflict FirstMapping', async () => {
    const org = organisation();
    const { expected } = await syncAndCompare(org, [to('TenantB', { LimitToGroups: [org.g.contractors] }), to('TenantA', { LimitToGroups: [org.g.mid] })], { OnConflict: 'FirstMapping' });
    expect(expected.get('TenantB')?.users.get(org.u.midAndContractor)).toEqual([org.g.contractors]);
    expect(expected.get('TenantA')?.users.has(org.u.midAndContractor)).toBe(false);
    // Groups are not subject to conflicts: Contractors' users stay out of TenantA, Mid stays there.
    expect(heldGroupIds(harness as ConnectorHarness, 'TenantA').has(org.g.mid)).toBe(true);
  });

  it('follows the IncludeGuests toggle both ways (DeleteAfterDays 0)', async () => {
    const org = organisation();
    const mappings = [to('TenantA', { LimitToGroups: [org.g.leaf] }), to('TenantB', { LimitToGroups: [org.g.board] })];
    const h = (await syncAndCompare(org, mappings, { DeleteAfterDays: 0 })).harness;
    expect(heldUsers(h, 'TenantA').has(org.u.leafGuest)).toBe(false);

    h.configure(mappings, { DeleteAfterDays: 0, IncludeGuests: true });
    await h.syncAndUpload();
    expect(heldUsers(h, 'TenantA').has(org.u.leafGuest)).toBe(true);

    h.configure(mappings, { DeleteAfterDays: 0 });
    await h.syncAndUpload();
    const want = expectedDestinations(org.tenant, mappings, { DeleteAfterDays: 0 });
    expect([...heldUsers(h, 'TenantA').keys()].sort()).toEqual([...(want.get('TenantA')?.users.keys() ?? [])].sort());
  });
});
