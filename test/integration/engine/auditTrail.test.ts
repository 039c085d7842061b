/**
 * The audit trail as the CLI's sync (in-process uploads) and the Functions app's upload worker
 * (queue path) write it, on Azurite with the fake Graph and Signature 365: one row per write or
 * skip decision, naming changed fields and never a value; read back by object id and through
 * `s365-connector audit --json`.
 */
import { randomUUID } from 'node:crypto';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { audit } from '../../../functions/audit';
import { startServeHttp } from '../../../src/serve/httpServer';
import { answerAuditRequest } from '../../../src/sync/auditListing';
import { silentLogger } from '../../../src/sync/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load';
import { createRuntime } from '../../../src/setup/runtime';
import { fieldFingerprints } from '../../../src/sync/fieldFingerprints';
import { InProcessUploadExecutor } from '../../../src/sync/inProcessUploads';
import type { Logger, LogFields } from '../../../src/sync/logger';
import { runSync } from '../../../src/sync/runSync';
import { TableObjectAuditLog } from '../../../src/store/objectAuditStore';
import type { ObjectAuditLog, ObjectAuditRow } from '../../../src/sync/ports';
import { FakeTenant, startFakeGraph, type FakeGraph } from '../../fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../../fakes/signature365';
import { SECRET_SETTING, TOKEN_SETTING, configForFakes, newSecrets } from '../../support/cliConfig';
import { startConnectorHarness } from '../../support/connectorHarness';
import { inProcessConnector } from '../../support/inProcessSync';
import { runCliInProcess } from '../../support/inProcessCli';
import { ledgerEntry } from '../../support/ledgerView';
import { isolatedStorage } from '../../support/storage';

const { clientSecret, token } = newSecrets();
const SETTINGS = { [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token };

let graph: FakeGraph;
let s365: FakeSignature365;
let tenant: FakeTenant;

beforeAll(async () => {
  tenant = new FakeTenant({ seed: 1818 });
  tenant.generate({ users: 30, groups: 4, seed: 1818, guestShare: 0, disabledShare: 0 });
  graph = await startFakeGraph({ tenant, clientSecret });
  s365 = await startFakeSignature365({ tenants: [{ name: 'Tenant1', token, tenantId: '5a1e5000-0000-4000-8000-000000001801' }] });
});
afterAll(async () => {
  await Promise.all([graph?.close(), s365?.close()]);
});

function rawConfig(options: Record<string, unknown>): Record<string, unknown> {
  return { ...configForFakes(graph, s365.endpoint), Options: { RequireMail: true, ...options } };
}

/** Users the scope holds (enabled, with mail), by id. */
function plainUsers(count: number): string[] {
  const ids = tenant.activeUsers().filter((user) => user.accountEnabled && user.mail !== null && user.userType === 'Member').map((user) => user.id).sort();
  if (ids.length < count) throw new Error(`the generated tenant has fewer than ${count} plain users`);
  return ids.slice(0, count);
}

const summary = (rows: readonly ObjectAuditRow[]) => rows.map((row) => [row.action, row.fields, row.reason]);

describe('the audit trail of the in-process sync', () => {
  it('records create, update with exactly the changed fields, failed, staged delete, delete and a held deletion; the CLI lists them', async () => {
    const storage = isolatedStorage();
    const trail = new TableObjectAuditLog(storage);
    const [alice, bob, carol] = plainUsers(3) as [string, string, string];
    const connector = await inProcessConnector(rawConfig({ DeleteAfterDays: 1, DeleteThreshold: 'off' }), SETTINGS, storage);

    const first = await connector.sync();
    expect(first.summary.failures).toEqual([]);
    expect(summary(await trail.query({ objectId: alice }))).toEqual([['create', [], 'new at the destination']]);
    // Every object sent got its row: users and groups.
    const sent = first.uploads.succeeded;
    expect((await trail.query({ limit: 1000 })).filter((row) => row.action === 'create')).toHaveLength(sent);

    // An update names the fields it changed, and a refused item its error.
    tenant.updateUser(alice, { jobTitle: 'Chief Audit Canary 7731', department: 'Audit Canary Dept' });
    tenant.updateUser(bob, { jobTitle: 'Refused Canary 4410' });
    s365.faults.rejectItem(bob, 'title not accepted');
    const second = await connector.sync();
    s365.faults.clear();
    expect(second.summary.failures).toEqual([]);
    expect(summary(await trail.query({ objectId: alice }))[0]).toEqual(['update', ['department', 'jobTitle'], 'changed']);
    expect(summary(await trail.query({ objectId: bob }))[0]).toEqual(['failed', [], 'upsert refused: 400: title not accepted']);
    // Nothing else the plan walked past got a row.
    expect((await trail.query({ limit: 1000 })).filter((row) => row.runId === second.summary.runId).map((row) => row.objectId).sort()).toEqual([alice, bob].sort());

    // Leaving scope stages the deletion (DeleteAfterDays 1); with the grace period over, it is deleted.
    tenant.updateUser(alice, { accountEnabled: false });
    expect((await connector.sync()).summary.failures).toEqual([]);
    const [staged] = await trail.query({ objectId: alice });
    expect(staged).toMatchObject({ action: 'staged delete', fields: [], destination: 'Tenant1', kind: 'users' });
    expect(staged?.reason).toMatch(/^left scope \(filters, exclusions, groups or options\); deleted after .* \(DeleteAfterDays 1\) unless it comes back$/);
    const noGrace = await inProcessConnector(rawConfig({ DeleteAfterDays: 0, DeleteThreshold: 'off' }), SETTINGS, storage);
    expect((await noGrace.sync()).summary.failures).toEqual([]);
    expect(summary(await trail.query({ objectId: alice }))[0]).toEqual(['delete', [], `left scope at ${staged?.at ?? ''}`]);

    // A deletion the gate holds is a skip with the gate's reason, recorded once.
    const gated = await inProcessConnector(rawConfig({ DeleteAfterDays: 0, DeleteThreshold: 0 }), SETTINGS, storage);
    tenant.updateUser(carol, { accountEnabled: false });
    expect((await gated.sync()).summary.failures).toEqual([]);
    expect((await gated.sync()).summary.failures).toEqual([]);
    const carolRows = await trail.query({ objectId: carol });
    expect(carolRows.filter((row) => row.action === 'skip')).toHaveLength(1);
    expect(carolRows[0]?.reason).toMatch(/^deletion held by the deletion gate: \d+ deletions .* would exceed the threshold of 0 \(DeleteThreshold 0/);
    expect(s365.tenant('Tenant1').users(graph.tenantId).some((user) => user.id === carol)).toBe(true);

    // The CLI: by object id, as JSON; without --user, the newest rows first.
    const env = {
      ...SETTINGS, CONNECTOR_CONFIG: JSON.stringify(rawConfig({ DeleteAfterDays: 0, DeleteThreshold: 0 })),
      AzureWebJobsStorage: storage.kind === 'connectionString' ? storage.connectionString : '', STORAGE_PREFIX: storage.prefix,
    };
    const byUser = await runCliInProcess(['audit', '--user', alice, '--json'], env);
    expect(byUser.code).toBe(0);
    const listing = JSON.parse(byUser.out) as { rows: ObjectAuditRow[]; adminActs?: unknown };
    expect(listing.rows.map((row) => row.action)).toEqual(['delete', 'staged delete', 'update', 'create']);
    expect(listing.adminActs).toBeUndefined();
    const newest = JSON.parse((await runCliInProcess(['audit', '--json', '--limit', '1'], env)).out) as { rows: ObjectAuditRow[]; adminActs: unknown[] };
    expect(newest.rows.map((row) => [row.objectId, row.action])).toEqual([[carol, 'skip']]);
    expect(newest.adminActs).toEqual([]);
    const wrong = await runCliInProcess(['audit', '--user', 'alice@contoso.example'], env);
    expect(wrong.code).toBe(2);
    expect(wrong.err).toMatch(/^--user must be an Entra object id .*a UPN or mail is not looked up/);

    // Names and ids only: no field value, no secret.
    const everything = JSON.stringify(await trail.query({ limit: 5000 }));
    for (const leak of ['Chief Audit Canary 7731', 'Audit Canary Dept', 'Refused Canary 4410', tenant.getUser(alice)?.mail ?? '@', clientSecret, token]) {
      expect(everything).not.toContain(leak);
    }
  });
});

describe('the audit trail of the queue path', () => {
  it('the upload worker writes the same rows (create, an update naming the changed field, failed); GET /api/audit answers them', async () => {
    const queueTenant = new FakeTenant({ seed: 1819 });
    queueTenant.generate({ users: 12, groups: 2, seed: 1819, guestShare: 0, disabledShare: 0 });
    const harness = await startConnectorHarness({ tenant: queueTenant, destinations: ['TenantA'] });
    try {
      harness.configure([{ From: 'EntraId:Default', To: 'Signature365:TenantA' }], { RequireMail: true });
      await harness.syncAndUpload();
      const trail = new TableObjectAuditLog(harness.storage);
      const user = queueTenant.activeUsers().find((candidate) => candidate.accountEnabled && candidate.mail !== null && candidate.userType === 'Member');
      if (user === undefined) throw new Error('no plain user');
      expect(summary(await trail.query({ objectId: user.id }))).toEqual([['create', [], 'new at the destination']]);

      const refused = queueTenant.activeUsers().find((candidate) => candidate.id !== user.id && candidate.accountEnabled && candidate.mail !== null && candidate.userType === 'Member');
      if (refused === undefined) throw new Error('no second plain user');
      queueTenant.updateUser(user.id, { officeLocation: 'Canary Wharf 9' });
      queueTenant.updateUser(refused.id, { officeLocation: 'Canary Wharf 10' });
      harness.s365.faults.rejectItem(refused.id, 'office not accepted');
      await harness.syncAndUpload();
      harness.s365.faults.clear();
      const rows = await trail.query({ objectId: user.id });
      expect(summary(rows)[0]).toEqual(['update', ['officeLocation'], 'changed']);
      expect(summary(await trail.query({ objectId: refused.id }))[0]).toEqual(['failed', [], 'upsert refused: 400: office not accepted']);
      expect(JSON.stringify(await trail.query({ limit: 1000 }))).not.toContain('Canary Wharf 9');

      // GET /api/audit of the Functions app (function key) and of serve (loopback or API key): the same listing.
      const call = (query: string) => audit(new HttpRequest({ method: 'GET', url: `http://localhost/api/audit${query}` }), new InvocationContext({ invocationId: 'audit-test', functionName: 'audit' }));
      const bodyOf = (response: { body?: unknown }) => (typeof response.body === 'string' ? response.body : '');
      const answer = await call(`?user=${user.id}&destination=TenantA`);
      expect(answer.status).toBe(200);
      expect((JSON.parse(bodyOf(answer)) as { rows: ObjectAuditRow[] }).rows.map((row) => row.action)).toEqual(['update', 'create']);
      const refusedQuery = await call('?since=yesterday');
      expect(refusedQuery.status).toBe(400);
      expect(bodyOf(refusedQuery)).toContain('since must be an ISO date or time');
      const serve = await startServeHttp({
        webhook: () => { throw new Error('not used'); }, status: () => Promise.resolve('{}'), syncNow: () => Promise.resolve({ status: 500, body: {} }), logger: silentLogger,
        dashboard: () => Promise.resolve({ headers: {}, body: '' }),
        explain: () => Promise.resolve({ found: false, body: '{}' }),
        apiKey: 'serve-key-1819',
        audit: async (parameter) => {
          const listing = await answerAuditRequest({ trail }, { destinations: [] }, parameter, new Date());
          return { status: listing.status, body: JSON.stringify(listing.body) };
        },
      }, 0, '127.0.0.1');
      try {
        const url = `http://127.0.0.1:${serve.port}/api/audit?user=${user.id}`;
        expect((await fetch(url)).status).toBe(403);
        const served = await fetch(url, { headers: { 'x-api-key': 'serve-key-1819' } });
        expect(served.status).toBe(200);
        expect(((await served.json()) as { rows: ObjectAuditRow[] }).rows.map((row) => row.action)).toEqual(['update', 'create']);
      } finally {
        await serve.close();
      }
    } finally {
      await harness.close();
    }
  });
});

describe('audit writes and the sync', () => {
  it('a storage error writing audit rows is logged as a warning and loses no send and no ledger update', async () => {
    const storage = isolatedStorage();
    // A destination of its own: the other tests left records in Tenant1.
    const fresh = await startFakeSignature365({ tenants: [{ name: 'Tenant1', token, tenantId: '5a1e5000-0000-4000-8000-000000001802' }] });
    const raw = { ...configForFakes(graph, fresh.endpoint), Options: { RequireMail: true, DeleteAfterDays: 0, DeleteThreshold: 'off' } };
    const { config } = await loadConfig({ ...SETTINGS, CONNECTOR_CONFIG: JSON.stringify(raw) });
    const warnings: { event: string; fields: LogFields | undefined }[] = [];
    const logger: Logger = {
      debug: () => undefined, info: () => undefined, error: () => undefined,
      warn: (event, fields) => { warnings.push({ event, fields }); },
      child: () => logger,
    };
    const broken: ObjectAuditLog = {
      initialize: () => Promise.resolve(),
      recordMany: () => Promise.reject(new Error('audit table unavailable')),
      query: () => Promise.resolve([]),
      purge: () => Promise.reject(new Error('audit table unavailable')),
    };
    const runtime = await createRuntime({ config, logger, storage });
    try {
      const executor = new InProcessUploadExecutor({
        ledger: runtime.ledger, health: runtime.health, deletions: runtime.deletions, audit: broken,
        destination: (name) => runtime.destination(name), sourceKey: (name) => config.sources.find((source) => source.name === name)?.tenantId,
      });
      const runId = randomUUID();
      const run = await runSync({ ...runtime.syncDependencies(executor), audit: broken }, { runId, holder: `test:${runId}` });
      expect(run.failures).toEqual([]);
      const [alice] = plainUsers(1) as [string];
      const held = fresh.tenant('Tenant1').users(graph.tenantId).find((user) => user.id === alice);
      expect(held).toBeDefined();
      // The ledger holds the acknowledgement with the record's field fingerprints and time.
      const entry = await ledgerEntry(runtime.ledger, 'Tenant1', 'Default', 'users', alice);
      expect(entry?.fp).toBe(fieldFingerprints(held as unknown as Record<string, string>));
      expect(Date.parse(entry?.t ?? '')).toBeGreaterThan(Date.now() - 600_000);
      expect(warnings.map((warning) => warning.event)).toContain('audit.writeFailed');
      expect(warnings.map((warning) => warning.event)).toContain('audit.purgeFailed');
    } finally {
      await runtime.close();
      await fresh.close();
    }
  });
});
