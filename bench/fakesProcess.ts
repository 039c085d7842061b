/**
 * The simulated services for the bench, in a process of their own so the bench measures the
 * connector's memory and CPU alone: a fake Entra tenant behind the fake Graph, one fake Signature
 * 365 tenant, and a small control API on loopback HTTP through which the bench changes the
 * directory and reads what the destination received.
 *
 * Tenant shape (issue 13): groups 5 % of the users, nested, and an "All Staff" group holding 95 %
 * of them; one manager with exactly 8 reports, all in scope.
 *
 *   node --import tsx bench/fakesProcess.ts --users 100000
 * prints one JSON line (endpoints, secrets for this run only) and serves until POST /close.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { FakeTenant, startFakeGraph } from '../test/fakes/graph';
import { startFakeSignature365 } from '../test/fakes/signature365';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

async function main(): Promise<void> {
  const users = argument('users', 10_000);
  const seed = argument('seed', 8);
  const tenant = new FakeTenant({ seed });
  const generated = tenant.generate({ users, groups: Math.max(10, Math.floor(users * 0.05)), nestingDepth: 4, seed, allStaffShare: 0.95 });
  const allStaff = generated.groupIds[0] ?? '';
  const staff = new Set(tenant.activeMembersOf(allStaff).filter((member) => member.kind === 'user').map((member) => member.id));
  const inScope = tenant.activeUsers().filter((user) => staff.has(user.id) && user.accountEnabled && user.userType === 'Member' && user.mail !== null);

  // A manager with exactly 8 reports, every one of them in scope.
  const manager = tenant.addUser({ displayName: 'Bench Manager', givenName: 'Bench', surname: 'Manager', jobTitle: 'Manager', department: 'Sales', userType: 'Member', accountEnabled: true });
  tenant.addMember(allStaff, manager.id);
  const reports = inScope.slice(0, 8).map((user) => user.id);
  for (const id of reports) tenant.setManager(id, manager.id);
  for (const user of tenant.activeUsers()) if (user.managerId === manager.id && !reports.includes(user.id)) tenant.setManager(user.id, null);
  // Two nested groups under All Staff for the membership move.
  const from = tenant.addGroup({ displayName: 'Bench Team A', description: 'nested', mail: null });
  const to = tenant.addGroup({ displayName: 'Bench Team B', description: 'nested', mail: null });
  tenant.addMember(allStaff, from.id);
  tenant.addMember(from.id, to.id);
  const movers = inScope.slice(8, 40).map((user) => user.id);
  for (const id of movers) tenant.addMember(from.id, id);

  const clientSecret = randomBytes(18).toString('base64url');
  const token = `idscl_${randomBytes(24).toString('base64url')}`;
  // Change notifications (the real-time phase): Graph batches them; 100 ms stands in for its delivery delay.
  const graph = await startFakeGraph({
    tenant, clientSecret, notifications: { batchWindowMs: argument('notify-batch-ms', 100) },
    // With the optional MailboxSettings.Read granted, so the mailbox-type reads are measured.
    permissions: ['User.Read.All', 'GroupMember.Read.All', 'Group.Read.All', 'MailboxSettings.Read'],
  });
  const s365 = await startFakeSignature365({ tenants: [{ name: 'Bench', token, tenantId: '5a1e5000-0000-4000-8000-00000000000b' }] });

  // Real-time phase: title changes on users no other phase touches, each waited for at the destination.
  const realtimeUsers = inScope.slice(1000);
  let realtimeNext = 0;
  const pending: { id: string; jobTitle: string; at: number }[] = [];
  const latencies: number[] = [];
  const watcher = setInterval(() => {
    const now = Date.now();
    for (let i = pending.length - 1; i >= 0; i -= 1) {
      const entry = pending[i];
      if (entry !== undefined && s365.tenant('Bench').user(graph.tenantId, entry.id)?.jobTitle === entry.jobTitle) {
        latencies.push(now - entry.at);
        pending.splice(i, 1);
      }
    }
  }, 5);
  watcher.unref();

  let titles = 0;
  let moved = 0;
  let renames = 0;
  const posts = () => s365.requests.filter((request) => request.method === 'POST');
  const handlers: Record<string, (url: URL) => unknown> = {
    '/mark': () => ({ s365: s365.requests.length, graph: graph.requests.length }),
    '/since': (url) => {
      const s365Mark = Number(url.searchParams.get('s365') ?? 0);
      const graphMark = Number(url.searchParams.get('graph') ?? 0);
      const batches = s365.requests.slice(s365Mark).filter((request) => request.method === 'POST');
      return {
        batches: batches.length,
        upserts: batches.reduce((sum, request) => sum + request.upserts, 0),
        deletes: batches.reduce((sum, request) => sum + request.deletes, 0),
        graphRequests: graph.requests.slice(graphMark).filter((request) => request.target === 'users' || request.target === 'groups').length,
        mailboxRequests: graph.requests.slice(graphMark).filter((request) => request.target === 'mailboxSettings').length,
        lastBatchAt: batches.length > 0 ? batches[batches.length - 1]?.startedAt ?? null : null,
      };
    },
    '/title': () => {
      const user = inScope[100 + titles] ?? inScope[0];
      titles += 1;
      if (user !== undefined) tenant.updateUser(user.id, { jobTitle: `Bench Title ${titles}` });
      return { userId: user?.id };
    },
    '/move': () => {
      const id = movers[moved % movers.length] ?? '';
      moved += 1;
      tenant.removeMember(from.id, id);
      tenant.addMember(to.id, id);
      return { userId: id };
    },
    '/rename-manager': () => {
      renames += 1;
      tenant.updateUser(manager.id, { displayName: `Bench Manager ${renames}` });
      return { managerId: manager.id, reports: reports.length };
    },
    '/holdings': () => ({ posts: posts().length }),
    '/held': () => ({ users: s365.tenant('Bench').users(graph.tenantId).length, lastPostAt: posts().at(-1)?.startedAt ?? null }),
    '/realtime/mutate': (url) => {
      const count = Math.max(1, Number(url.searchParams.get('count') ?? 1));
      const ids: string[] = [];
      for (let i = 0; i < count; i += 1) {
        const user = realtimeUsers[realtimeNext % Math.max(1, realtimeUsers.length)];
        realtimeNext += 1;
        if (user === undefined) continue;
        const jobTitle = `Realtime ${realtimeNext}`;
        tenant.updateUser(user.id, { jobTitle });
        pending.push({ id: user.id, jobTitle, at: Date.now() });
        ids.push(user.id);
      }
      return { ids };
    },
    '/realtime/results': () => ({ latenciesMs: [...latencies], pending: pending.length }),
  };

  const control = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/close') {
      res.end('{}');
      void Promise.all([graph.close(), s365.close()]).finally(() => { control.close(); process.exit(0); });
      return;
    }
    const handler = handlers[url.pathname];
    if (handler === undefined) {
      res.writeHead(404).end();
      return;
    }
    const body = JSON.stringify(handler(url));
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
  const address = control.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.stdout.write(`${JSON.stringify({
    control: `http://127.0.0.1:${port}`,
    graph: { tenantId: graph.tenantId, clientId: graph.clientId, clientSecret, authorityHost: graph.authorityHost, graphEndpoint: graph.graphEndpoint },
    s365: { endpoint: s365.endpoint, token },
    allStaffGroupId: allStaff,
    users: tenant.activeUsers().length,
    groups: tenant.activeGroups().length,
    inScope: inScope.length,
    // The fewest delta pages a full read can take: users 200 a page; groups 100 entries a page, a group
    // repeated once per 100 members.
    pageFloor: Math.ceil(tenant.activeUsers().length / 200)
      + Math.ceil(tenant.activeGroups().reduce((sum, group) => sum + Math.max(1, Math.ceil(tenant.activeMembersOf(group.id).length / 100)), 0) / 100),
  })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
