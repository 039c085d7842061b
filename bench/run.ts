/**
 * `npm run bench`: measures the whole pipeline at scale against the simulated services (fake
 * Graph and Signature 365 on loopback HTTPS, Azurite in memory) and writes a JSON result to
 * bench/results/latest.json. Figures are wall-clock on this machine: compare ratios within one run.
 *
 *   npm run bench -- --users 20000       (default 20000; 100000 takes several minutes on 2 cores)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startFakeGraph, FakeTenant } from '../test/fakes/graph';
import { startFakeSignature365 } from '../test/fakes/signature365';
import { resolveConfig } from '../src/config/resolve';
import { startEmbeddedAzurite } from '../src/setup/embeddedAzurite';
import { createLogger } from '../src/setup/logging';
import { createRuntime } from '../src/setup/runtime';
import { syncOnce } from '../src/cli/syncCommand';
import { rerunTrustingTestCa } from '../src/cli/trustTestCa';
import { buildDirectoryIndex } from '../src/sync/directoryIndex';
import { resolveMappingScope } from '../src/sync/scope';
import { buildUserRecord } from '../src/sync/payload';
import { payloadHash } from '../src/sync/payloadHash';
import type { MembershipEdge, MirrorUser } from '../src/sync/directory';

/** Progress lines are noise in a benchmark's output unless asked for. */
const quiet = Object.assign(Object.create(process.stderr) as NodeJS.WriteStream, { isTTY: false, write: () => true });


function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

class PeakMemory {
  peakRss = 0;
  private readonly timer = setInterval(() => this.sample(), 50);
  sample(): void { this.peakRss = Math.max(this.peakRss, process.memoryUsage().rss); }
  stop(): number { clearInterval(this.timer); this.sample(); return Math.round(this.peakRss / 1048576); }
}

async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { seconds: Number(((performance.now() - started) / 1000).toFixed(3)), value };
}

/** Pure planning cost at 100k users: index, transitive scope, records and hashes, no I/O. */
function planInMemory(users: number): Record<string, number> {
  const mirrorUsers: MirrorUser[] = [];
  const edges: MembershipEdge[] = [];
  for (let i = 0; i < users; i += 1) {
    const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    mirrorUsers.push({
      id, userPrincipalName: `user${i}@contoso.example`, mail: `user${i}@contoso.example`, displayName: `User ${i}`, givenName: 'User', surname: String(i),
      jobTitle: 'Specialist', department: 'Sales', companyName: 'Contoso', officeLocation: 'Berlin', streetAddress: 'Friedrichstraße 100', city: 'Berlin',
      state: 'BE', postalCode: '10117', country: 'DE', businessPhones: ['+49 30 1234567'], mobilePhone: null, faxNumber: null, employeeId: String(i),
      accountEnabled: true, userType: 'Member', proxyAddresses: [`SMTP:user${i}@contoso.example`], extensionAttributes: { extensionAttribute1: 'SALES' },
      managerId: i > 0 ? mirrorUsers[Math.floor(i / 10)]?.id ?? null : null, removed: null,
    });
    edges.push({ groupId: `g${i % 200}`, memberId: id, memberType: 'user' });
  }
  for (let g = 1; g < 200; g += 1) edges.push({ groupId: `g${Math.floor((g - 1) / 4)}`, memberId: `g${g}`, memberType: 'group' });
  const groups = Array.from({ length: 200 }, (_, g) => ({ id: `g${g}`, displayName: `Group ${g}`, mail: null, description: null, removed: null }));
  const started = performance.now();
  const index = buildDirectoryIndex(mirrorUsers, groups, edges);
  const indexed = performance.now();
  const scope = resolveMappingScope(index, { limitToGroups: ['g0'], include: [], exclude: [] }, { includeDisabledUsers: false, includeGuests: false, requireMail: true });
  const scoped = performance.now();
  let hashes = 0;
  for (const [id, groupIds] of scope.users) {
    const user = index.users.get(id);
    if (user !== undefined) { payloadHash(buildUserRecord(user, index, groupIds)); hashes += 1; }
  }
  const hashed = performance.now();
  return {
    users,
    indexSeconds: Number(((indexed - started) / 1000).toFixed(3)),
    scopeSeconds: Number(((scoped - indexed) / 1000).toFixed(3)),
    recordsAndHashesSeconds: Number(((hashed - scoped) / 1000).toFixed(3)),
    usersInScope: scope.users.size,
    hashes,
  };
}

async function main(): Promise<void> {
  const rerun = rerunTrustingTestCa(process.env);
  if (rerun !== undefined) {
    process.exitCode = rerun;
    return;
  }
  const users = argument('users', 20_000);
  const progress = process.argv.includes('--progress') ? process.stderr : undefined;
  const memory = new PeakMemory();
  const benchSecret = randomBytes(18).toString('base64url');
  const tenant = new FakeTenant({ seed: 8 });
  const generated = tenant.generate({ users, groups: Math.max(10, Math.floor(users / 100)), nestingDepth: 3, seed: 8 });
  const rootGroup = generated.groupIds[0] ?? '';
  const graph = await startFakeGraph({ tenant, clientSecret: benchSecret });
  const token = `idscl_${randomBytes(24).toString('base64url')}`;
  const s365 = await startFakeSignature365({ tenants: [{ name: 'Bench', token, tenantId: '5a1e5000-0000-4000-8000-00000000000b' }] });
  const azurite = await startEmbeddedAzurite();
  const config = resolveConfig({
    EntraId: { Default: { TenantId: graph.tenantId, ClientId: graph.clientId, ClientSecret: benchSecret, AuthorityHost: graph.authorityHost, GraphEndpoint: graph.graphEndpoint } },
    Signature365: { Bench: { Token: token, Endpoint: s365.endpoint } },
    Mappings: [{ From: 'EntraId:Default', To: 'Signature365:Bench', LimitToGroups: [] }],
  }, process.env);
  const logger = createLogger({ level: 'error' });
  const runtime = await createRuntime({ config, logger, storage: { kind: 'connectionString', connectionString: azurite.connectionString, prefix: 'bench' } });
  const posts = () => s365.requests.filter((r) => r.method === 'POST').length;
  const graphRequests = () => runtime.readerFor('Default').stats().requests;
  try {
    const full = await timed(() => syncOnce(runtime, { logger, progressStream: progress ?? quiet }));
    const fullPosts = posts();
    const fullGraph = graphRequests();
    const noop = await timed(() => syncOnce(runtime, { logger, progressStream: progress ?? quiet }));
    const noopPosts = posts() - fullPosts;
    const changed = tenant.activeUsers().find((u) => u.userType === 'Member' && u.accountEnabled);
    if (changed !== undefined) tenant.updateUser(changed.id, { jobTitle: 'Benchmark Title' });
    const beforeOne = posts();
    const one = await timed(() => syncOnce(runtime, { logger, progressStream: progress ?? quiet }));
    const result = {
      date: new Date().toISOString(),
      machine: { cores: (await import('node:os')).cpus().length, node: process.version },
      users, groups: generated.groupIds.length, rootGroup,
      fullSync: {
        seconds: full.seconds,
        pullSeconds: full.value.summary.pulls.reduce((sum, pull) => sum + pull.seconds, 0),
        pullAndPlanSeconds: full.value.summary.seconds,
        graphRequests: fullGraph, destinationBatches: fullPosts, usersUploaded: full.value.uploads?.succeeded ?? 0,
      },
      noOpSync: { seconds: noop.seconds, pullAndPlanSeconds: noop.value.summary.seconds, graphRequests: graphRequests() - fullGraph, destinationBatches: noopPosts, usersUploaded: noop.value.uploads?.succeeded ?? 0 },
      oneChangeSync: { seconds: one.seconds, destinationBatches: posts() - beforeOne, usersUploaded: one.value.uploads?.succeeded ?? 0 },
      ratios: {
        noOpToFull: Number((noop.seconds / full.seconds).toFixed(3)),
        oneChangeToFull: Number((one.seconds / full.seconds).toFixed(3)),
      },
      planInMemory100k: planInMemory(100_000),
      peakRssMiB: 0,
    };
    result.peakRssMiB = memory.stop();
    mkdirSync(resolve(__dirname, 'results'), { recursive: true });
    const path = resolve(__dirname, 'results', 'latest.json');
    writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\nWritten to ${path}\n`);
  } finally {
    memory.stop();
    await runtime.close();
    await Promise.all([graph.close(), s365.close(), azurite.stop()]);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exitCode = 1;
});
