/**
 * A one-off measurement of `explain` at scale, run by hand (not the suite, not `npm run bench`):
 * a generated tenant (groups 5 % of the users nested four deep, an "All Staff" group of 95 %) is
 * pulled from the fake Graph into an embedded Azurite in memory, then one user is explained by
 * object id, by UPN (through the fake Graph) and by a mirror scan (Graph unreachable), a few times
 * each: wall time and storage requests per answer.
 *
 *   npx tsx bench/explainScale.ts --users 100000
 */
import { randomBytes } from 'node:crypto';
import { createGraphClient, createGraphDirectoryReader } from '../src/graph';
import { createUserKeyDirectory } from '../src/graph/userLookup';
import { startEmbeddedAzurite } from '../src/setup/embeddedAzurite';
import { TableCursorStore, TableLockStore, TableMirrorStore } from '../src/store';
import { TableDeletionStateStore } from '../src/store/deletionStore';
import { TableDestinationHealthStore } from '../src/store/destinationHealthStore';
import { TableChangeJournal } from '../src/store/journalStore';
import { TableLedgerStore } from '../src/store/ledgerStore';
import { StorageRequestCounter, difference } from '../src/store/requestCounter';
import type { ConnectorConfig } from '../src/config/types';
import { explainUser, type ExplainDependencies } from '../src/sync/explain';
import { silentLogger } from '../src/sync/logger';
import { pullSource } from '../src/sync/pullSource';
import { FakeTenant, startFakeGraph } from '../test/fakes/graph';
import { rerunTrustingTestCa } from '../test/fakes/trustTestCa';

function argument(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
  return value;
}

async function main(): Promise<void> {
  const users = argument('users', 10_000);
  const repeats = argument('repeats', 3);
  const tenant = new FakeTenant({ seed: 8 });
  const generated = tenant.generate({ users, groups: Math.max(10, Math.floor(users * 0.05)), nestingDepth: 4, seed: 8, allStaffShare: 0.95 });
  const allStaff = generated.groupIds[0] ?? '';
  const clientSecret = `scale-${randomBytes(8).toString('hex')}`;
  const graph = await startFakeGraph({ tenant, clientSecret });
  const azurite = await startEmbeddedAzurite({});
  try {
    const storage = { kind: 'connectionString' as const, connectionString: azurite.connectionString, prefix: 'xs' };
    const counter = new StorageRequestCounter();
    const access = { additionalPolicies: [counter.tablePolicy] };
    const mirror = new TableMirrorStore(storage, access);
    const cursors = new TableCursorStore(storage, access);
    const locks = new TableLockStore(storage, access);
    const journal = new TableChangeJournal(storage, access);
    const ledger = new TableLedgerStore(storage, access);
    const deletions = new TableDeletionStateStore(storage, access);
    const health = new TableDestinationHealthStore(storage, access);
    await Promise.all([mirror, cursors, locks, journal, ledger, deletions, health].map((store) => store.initialize()));

    const source = graph.sourceConfig(undefined, 'Default');
    const pullStarted = Date.now();
    const pulled = await pullSource('Default', { reader: createGraphDirectoryReader(source), mirror, cursors, journal, locks, logger: silentLogger }, { fullReconcileHours: 24, holder: 'explain-scale' });
    const pullSeconds = (Date.now() - pullStarted) / 1000;

    const config: ConnectorConfig = {
      sources: [source],
      destinations: [{ name: 'Tenant1', token: 'unused', endpoint: 'https://127.0.0.1:9' }, { name: 'Tenant2', token: 'unused', endpoint: 'https://127.0.0.1:9' }],
      mappings: [
        { index: 0, source: 'Default', destination: 'Tenant1', limitToGroups: [allStaff], exclude: [], include: [], filter: null },
        { index: 1, source: 'Default', destination: 'Tenant2', limitToGroups: generated.groupIds.slice(1, 6), exclude: [], include: [], filter: null },
      ],
      options: {
        deltaIntervalMinutes: 15, fullReconcileHours: 24, includeDisabledUsers: false, includeGuests: false, requireMail: false, licensedUsersOnly: false,
        onConflict: 'All', deleteAfterDays: 7, deleteThreshold: { kind: 'percent', percent: 20 }, deleteThresholdMax: 500, auditRetentionDays: 30,
      },
    };
    const directory = createUserKeyDirectory(createGraphClient(source), source);
    const deps = (withGraph: boolean): ExplainDependencies => ({ config, mirror, ledger, deletions, health, directoryFor: () => (withGraph ? directory : undefined) });
    const sample = tenant.activeUsers().filter((user) => user.userType === 'Member').slice(-repeats);

    const measure = async (label: string, key: (user: (typeof sample)[number]) => string, withGraph: boolean) => {
      const runs: { ms: number; requests: number; found: boolean }[] = [];
      for (const user of sample) {
        const before = counter.snapshot();
        const started = process.hrtime.bigint();
        const answer = await explainUser(deps(withGraph), key(user));
        runs.push({ ms: Number(process.hrtime.bigint() - started) / 1e6, requests: difference(counter.snapshot(), before).total, found: answer.found });
      }
      return { label, runs };
    };
    const results = [
      await measure('by object id', (user) => user.id, true),
      await measure('by UPN through Graph', (user) => user.userPrincipalName, true),
      await measure('by UPN, Graph unreachable: mirror scan', (user) => user.userPrincipalName, false),
    ];
    // For comparison: the same pass reading whole rows (what a scan through listUsers costs).
    const wholeRows = { label: 'whole-row pass over the source (listUsers), for comparison', runs: [] as { ms: number; requests: number; found: boolean }[] };
    for (const user of sample) {
      const before = counter.snapshot();
      const started = process.hrtime.bigint();
      let found = false;
      for await (const page of mirror.listUsers('Default', { includeRemoved: true })) found ||= page.some((row) => row.userPrincipalName === user.userPrincipalName);
      wholeRows.runs.push({ ms: Number(process.hrtime.bigint() - started) / 1e6, requests: difference(counter.snapshot(), before).total, found });
    }
    results.push(wholeRows);
    process.stdout.write(`${JSON.stringify({
      users, groups: generated.groupIds.length, pullSeconds, pulled: { users: pulled.users, groups: pulled.groups }, results,
      rssMiB: Math.round(process.memoryUsage().rss / 1048576),
    }, null, 2)}\n`);
  } finally {
    await azurite.stop();
    await graph.close();
  }
}

const rerun = rerunTrustingTestCa(process.env);
if (rerun !== undefined) {
  process.exitCode = rerun;
} else {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
