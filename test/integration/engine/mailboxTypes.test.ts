/**
 * Mailbox types (src/sync/mailboxTypes.ts) on the engine, as the CLI runs a sync, on Azurite with
 * the fake Graph and Signature 365: read for users in scope only, once for a new user, not again
 * on a change, all again after a full round; without MailboxSettings.Read one refused request per
 * plan, "unknown" sent, and no failure.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeTenant, startFakeGraph, type FakeGraph } from '../../fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../../fakes/signature365';
import { SECRET_SETTING, TOKEN_SETTING, configForFakes, newSecrets } from '../../support/cliConfig';
import { inProcessConnector, type InProcessConnector } from '../../support/inProcessSync';
import { isolatedStorage } from '../../support/storage';

const REQUIRED = ['User.Read.All', 'GroupMember.Read.All', 'Group.Read.All'];
const { clientSecret, token } = newSecrets();

let graph: FakeGraph | undefined;
let s365: FakeSignature365 | undefined;
afterEach(async () => {
  await Promise.all([graph?.close(), s365?.close()]);
  graph = undefined;
  s365 = undefined;
});

interface Setup {
  graph: FakeGraph;
  s365: FakeSignature365;
  tenant: FakeTenant;
  connector: InProcessConnector;
  ids: { shared: string; room: string; noMailbox: string; person: string; outOfScope: string };
}

async function setUp(permissions: string[]): Promise<Setup> {
  const tenant = new FakeTenant({ seed: 1703 });
  const shared = tenant.addUser({ displayName: 'Info mailbox', department: 'Sales', mailboxPurpose: 'shared' }).id;
  const room = tenant.addUser({ displayName: 'Room 4.01', department: 'Sales', mailboxPurpose: 'room' }).id;
  const noMailbox = tenant.addUser({ displayName: 'No mailbox', department: 'Sales', mailboxPurpose: null }).id;
  const person = tenant.addUser({ displayName: 'Ann', department: 'Sales', mailboxPurpose: 'linked' }).id;
  const outOfScope = tenant.addUser({ displayName: 'Bob', department: 'Ops', mailboxPurpose: 'equipment' }).id;
  graph = await startFakeGraph({ tenant, clientSecret, permissions });
  s365 = await startFakeSignature365({ tenants: [{ name: 'Tenant1', token, tenantId: '5a1e5000-0000-4000-8000-000000001703' }] });
  const raw = { ...configForFakes(graph, s365.endpoint), Mappings: [{ From: 'EntraId:Default', To: 'Signature365:Tenant1', Filter: "department eq 'Sales'" }] };
  const connector = await inProcessConnector(raw, { [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token }, isolatedStorage());
  return { graph, s365, tenant, connector, ids: { shared, room, noMailbox, person, outOfScope } };
}

function mailboxRequests(fake: FakeGraph, since: number): string[] {
  return fake.requests.slice(since).filter((request) => request.target === 'mailboxSettings').map((request) => request.path.split('/')[3] ?? '');
}

function heldTypes(setup: Setup): Record<string, unknown> {
  return Object.fromEntries(setup.s365.tenant('Tenant1').users(setup.graph.tenantId).map((user) => [user.id, user.mailboxType]));
}

describe('mailbox types on the engine', () => {
  it('reads in-scope users once, a new user once, nothing on a change, everyone again after a full round', async () => {
    const setup = await setUp([...REQUIRED, 'MailboxSettings.Read']);
    const { ids, tenant, connector } = setup;

    let mark = setup.graph.requests.length;
    const first = await connector.sync();
    expect(first.summary.failures).toEqual([]);
    expect(mailboxRequests(setup.graph, mark).sort()).toEqual([ids.shared, ids.room, ids.noMailbox, ids.person].sort());
    expect(heldTypes(setup)).toEqual({ [ids.shared]: 'shared', [ids.room]: 'room', [ids.noMailbox]: 'unknown', [ids.person]: 'user' });

    // A change to a user whose type is known asks nothing.
    tenant.updateUser(ids.person, { jobTitle: 'Director' });
    mark = setup.graph.requests.length;
    expect((await connector.sync()).uploads.sent).toBe(1);
    expect(mailboxRequests(setup.graph, mark)).toEqual([]);

    // A new user in scope: one request; a user out of scope that changes: none.
    const equipment = tenant.addUser({ displayName: 'Projector', department: 'Sales', mailboxPurpose: 'equipment' }).id;
    tenant.updateUser(ids.outOfScope, { jobTitle: 'Lead' });
    mark = setup.graph.requests.length;
    await connector.sync();
    expect(mailboxRequests(setup.graph, mark)).toEqual([equipment]);
    expect(heldTypes(setup)[equipment]).toBe('equipment');

    // A mailbox converted to shared is not seen by delta; the full round's plan reads every type again.
    tenant.updateUser(ids.person, { mailboxPurpose: 'shared' });
    mark = setup.graph.requests.length;
    await connector.sync();
    expect(mailboxRequests(setup.graph, mark)).toEqual([]);
    expect(heldTypes(setup)[ids.person]).toBe('user');
    mark = setup.graph.requests.length;
    const full = await connector.sync({ forceFull: true });
    expect(full.summary.failures).toEqual([]);
    expect(mailboxRequests(setup.graph, mark)).toHaveLength(5);
    expect(heldTypes(setup)[ids.person]).toBe('shared');
    expect(full.uploads.sent).toBe(1);
  });

  it('without MailboxSettings.Read sends "unknown", asks once per plan, fails nothing, and a change then asks nothing', async () => {
    const setup = await setUp(REQUIRED);
    const { ids, tenant, connector } = setup;
    let mark = setup.graph.requests.length;
    const first = await connector.sync();
    expect(first.summary.failures).toEqual([]);
    expect(mailboxRequests(setup.graph, mark)).toHaveLength(1);
    expect(Object.values(heldTypes(setup))).toEqual(['unknown', 'unknown', 'unknown', 'unknown']);

    tenant.updateUser(ids.shared, { jobTitle: 'Shared inbox' });
    mark = setup.graph.requests.length;
    await connector.sync();
    expect(mailboxRequests(setup.graph, mark)).toEqual([]);

    // Granted later: the next full round reads the types.
    setup.graph.subscriptions.setPermissions([...REQUIRED, 'MailboxSettings.Read']);
    await connector.sync({ forceFull: true });
    expect(heldTypes(setup)).toMatchObject({ [ids.shared]: 'shared', [ids.room]: 'room', [ids.person]: 'user' });
  });
});
