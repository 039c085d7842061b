/**
 * A full round that fails at users page k of n, after the client's own retries: the run says so,
 * nothing is deleted (the half-read round must not look like users who left), the checkpoint
 * holds page k-1, and the next run starts again at page k.
 *
 * In-process (test/support/inProcessSync.ts) rather than through the CLI, because the timeout
 * case needs the Graph reader's per-request timeout (`requestTimeoutInMs`, default 100 s) set
 * low; everything else is wired as the CLI wires it. Page k is seeded; replay with FAULT_SEED.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TableCursorStore, TableMirrorStore } from '../../src/store';
import type { LedgerEntry } from '../../src/sync/ports';
import { FakeTenant, seededRandom, startFakeGraph, type FakeGraph, type FaultSpec } from '../fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../fakes/signature365';
import { SECRET_SETTING, TOKEN_SETTING, configForFakes, newSecrets } from '../support/cliConfig';
import { deltaRequestsSince, skipTokenOf } from '../support/engineHarness';
import type { RawMapping } from '../support/expectedDestinations';
import { destinationDifferences, faultSeed } from '../support/faultRuns';
import { inProcessConnector, type InProcessConnector } from '../support/inProcessSync';
import { ledgerEntries } from '../support/ledgerView';
import { removedInMirror } from '../support/mirrorSnapshot';
import { isolatedStorage } from '../support/storage';

const SEED = faultSeed();
const random = seededRandom(SEED);
const USERS = 150;
const PAGE_SIZE = 37;
const USER_PAGES = Math.ceil(USERS / PAGE_SIZE);
/** The Graph client's retries of a 429/503/504 (its default); a fault answering 1 + this many attempts outlasts them. */
const MAX_RETRIES = 3;
const REQUEST_TIMEOUT_IN_MS = 1_000;
const MAPPINGS: RawMapping[] = [{ From: 'EntraId:Default', To: 'Signature365:Tenant1', LimitToGroups: [] }];
const { clientSecret, token } = newSecrets();

interface PageFault {
  name: string;
  fault: Omit<FaultSpec, 'target' | 'path'>;
  /** What the failure reported by the run says. */
  reported: RegExp;
}

const FAULTS: PageFault[] = [
  { name: '503 on every attempt, past the client retries', fault: { status: 503, retryAfterSeconds: 1, times: MAX_RETRIES + 1 }, reported: /HTTP 503 .*after the client retries/ },
  { name: '429 past the retry budget', fault: { status: 429, retryAfterSeconds: 1, times: MAX_RETRIES + 1 }, reported: /HTTP 429 .*after the client retries/ },
  { name: 'no answer within the per-request timeout', fault: { delayMs: REQUEST_TIMEOUT_IN_MS * 3 }, reported: new RegExp(`did not answer GET /v1.0/users/delta within ${REQUEST_TIMEOUT_IN_MS} ms`) },
  { name: 'a malformed JSON body', fault: { malformedJson: true }, reported: /unusable users delta page/ },
];

let graph: FakeGraph;
let s365: FakeSignature365;

beforeAll(async () => {
  const tenant = new FakeTenant({ seed: 67 });
  tenant.generate({ users: USERS, groups: 12, nestingDepth: 3, seed: 67 });
  graph = await startFakeGraph({ tenant, clientSecret, memberSliceSize: 7, maxPageSize: { users: PAGE_SIZE, groups: PAGE_SIZE } });
  s365 = await startFakeSignature365({ tenants: [{ name: 'Tenant1', token, tenantId: '5a1e5000-0000-4000-8000-0000000000f2' }] });
});
afterAll(async () => {
  await Promise.all([graph?.close(), s365?.close()]);
});

async function ledgerEntriesOf(connector: InProcessConnector): Promise<LedgerEntry[]> {
  const entries: LedgerEntry[] = [];
  for (const kind of ['users', 'groups'] as const) entries.push(...(await ledgerEntries(connector.ledger, 'Tenant1', 'Default', kind)).values());
  return entries;
}

describe(`a full round failing at users page k of ${USER_PAGES} (seed ${SEED})`, () => {
  for (const { name, fault, reported } of FAULTS) {
    // Page 1 is the round's start (no nextLink to resume); the last page carries the deltaLink.
    const k = 2 + Math.floor(random() * (USER_PAGES - 2));

    it(`${name} at page ${k}: reports the failure, deletes nothing, keeps the checkpoint at page ${k - 1} and resumes at page ${k}`, async () => {
      s365.tenant('Tenant1').clear();
      const connector = await inProcessConnector(
        configForFakes(graph, s365.endpoint), { [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token }, isolatedStorage(),
        { pageSize: PAGE_SIZE, maxRetries: MAX_RETRIES, requestTimeoutInMs: REQUEST_TIMEOUT_IN_MS },
        // One page per batch: each page is written and checkpointed before the next is asked for.
        { batchObjects: PAGE_SIZE },
      );
      const before = await connector.sync();
      expect(before.summary.failures).toEqual([]);
      expect(destinationDifferences(graph.tenant, s365, graph.tenantId, MAPPINGS)).toEqual([]);

      // A full round that completed from a half-read would sweep pages k..n as gone, and the plan would delete them.
      graph.faults.add({ target: 'users', times: k - 1 });
      graph.faults.add({ target: 'users', ...fault });
      const graphMark = graph.requests.length;
      const s365Mark = s365.requests.length;
      const failed = await connector.sync({ forceFull: true });

      expect(failed.summary.failures.map((f) => ({ source: f.source, stage: f.stage, message: f.error.message }))).toEqual([
        { source: 'Default', stage: 'pull', message: expect.stringMatching(reported) },
      ]);
      expect(failed.summary.plans).toEqual([]);
      expect(s365.requests.slice(s365Mark).filter((r) => r.deletes > 0)).toEqual([]);
      // Nothing left scope, nothing is staged for deletion: every entry is still wanted.
      expect((await ledgerEntriesOf(connector)).filter((entry) => entry.l !== undefined || entry.w !== 1)).toEqual([]);
      expect(await removedInMirror(new TableMirrorStore(connector.storage), 'Default')).toEqual({ users: {}, groups: {} });
      expect(destinationDifferences(graph.tenant, s365, graph.tenantId, MAPPINGS)).toEqual([]);

      const failedRequests = deltaRequestsSince(graph, graphMark, 'users');
      const pageK = failedRequests[k - 1]?.query.$skiptoken;
      expect(pageK).toEqual(expect.any(String));
      const cursor = await new TableCursorStore(connector.storage).get('Default', 'users');
      expect(cursor?.round).toMatchObject({ kind: 'full', pages: k - 1 });
      expect(skipTokenOf(cursor?.nextLink)).toBe(pageK);
      expect(graph.faults.pending).toBe(0);

      const rerunMark = graph.requests.length;
      const rerun = await connector.sync();
      expect(rerun.summary.failures).toEqual([]);
      const resumed = deltaRequestsSince(graph, rerunMark, 'users');
      expect(resumed[0]?.query.$skiptoken).toBe(pageK);
      expect(rerun.summary.pulls[0]?.users).toMatchObject({ roundKind: 'full', resumed: true, pages: USER_PAGES - k + 1, completed: true });
      expect(s365.requests.slice(s365Mark).filter((r) => r.deletes > 0)).toEqual([]);
      expect(await removedInMirror(new TableMirrorStore(connector.storage), 'Default')).toEqual({ users: {}, groups: {} });
      expect(destinationDifferences(graph.tenant, s365, graph.tenantId, MAPPINGS)).toEqual([]);
    }, 60_000);
  }
});
