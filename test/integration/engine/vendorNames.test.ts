/**
 * Names as the vendor writes them, end to end: a source "Head Office" and destinations
 * "Contoso Ltd" and "fabrikam.com", synced as the CLI syncs (pull, plan, in-process uploads) on
 * Azurite with the fake Graph and Signature 365. Everything stored is keyed by the derived
 * storage keys; what people read (status) shows the names as written; a second run finds
 * nothing to send, so the keys are the same from one run to the next.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runValidateCommand } from '../../../src/cli/validateCommand';
import { APP_SETTINGS } from '../../../src/setup/appSettings';
import { formatSyncSummary } from '../../../src/cli/report';
import { createRuntime } from '../../../src/setup/runtime';
import { silentLogger } from '../../../src/sync/logger';
import { formatConnectorStatus, readConnectorStatus } from '../../../src/sync/status';
import { FakeTenant, startFakeGraph, type FakeGraph } from '../../fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../../fakes/signature365';
import { SECRET_SETTING, TOKEN_SETTING, newSecrets } from '../../support/cliConfig';
import type { RawMapping } from '../../support/expectedDestinations';
import { destinationDifferences } from '../../support/faultRuns';
import { inProcessConnector } from '../../support/inProcessSync';
import { isolatedStorage } from '../../support/storage';

const SECOND_TOKEN_SETTING = 'S365_TOKEN_FABRIKAM';
const { clientSecret, token } = newSecrets();
const secondToken = `${token}f`;

let graph: FakeGraph;
let s365: FakeSignature365;

beforeAll(async () => {
  const tenant = new FakeTenant({ seed: 17 });
  tenant.generate({ users: 30, groups: 5, seed: 17, guestShare: 0, disabledShare: 0 });
  graph = await startFakeGraph({ tenant, clientSecret });
  s365 = await startFakeSignature365({
    tenants: [
      { name: 'Contoso Ltd', token, tenantId: '5a1e5000-0000-4000-8000-0000000017a1' },
      { name: 'fabrikam.com', token: secondToken, tenantId: '5a1e5000-0000-4000-8000-0000000017a2' },
    ],
  });
});
afterAll(async () => {
  await Promise.all([graph?.close(), s365?.close()]);
});

describe('a sync to destinations named as the Signature 365 tenants', () => {
  it('sends each destination its users, keys storage by the derived keys, shows the names as written, and is stable on the next run', async () => {
    const group = graph.tenant.activeGroups().find((candidate) => graph.tenant.activeMembersOf(candidate.id).length > 0);
    if (group === undefined) throw new Error('the fake tenant has no group');
    const mappings: RawMapping[] = [
      { From: 'EntraId:Head Office', To: 'Signature365:Contoso Ltd', LimitToGroups: [] },
      { From: 'EntraId:Head Office', To: 'Signature365:fabrikam.com', LimitToGroups: [group.id] },
    ];
    const raw = {
      EntraId: {
        'Head Office': {
          TenantId: graph.tenantId, ClientId: graph.clientId, ClientSecret: `@AppSetting(${SECRET_SETTING})`,
          AuthorityHost: graph.authorityHost, GraphEndpoint: graph.graphEndpoint,
        },
      },
      Signature365: {
        'Contoso Ltd': { Token: `@AppSetting(${TOKEN_SETTING})`, Endpoint: s365.endpoint },
        'fabrikam.com': { Token: `@AppSetting(${SECOND_TOKEN_SETTING})`, Endpoint: s365.endpoint },
      },
      Mappings: mappings,
    };
    const storage = isolatedStorage();
    const connector = await inProcessConnector(raw, { [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token, [SECOND_TOKEN_SETTING]: secondToken }, storage);

    const first = await connector.sync();
    expect(first.summary.failures).toEqual([]);
    expect(first.uploads.sent).toBeGreaterThan(0);
    expect(destinationDifferences(graph.tenant, s365, graph.tenantId, mappings)).toEqual([]);
    expect(s365.tenant('fabrikam.com').users(graph.tenantId).length).toBeGreaterThan(0);
    const printed = formatSyncSummary(first.summary, first.uploads, undefined, connector.config);
    expect(printed).toContain('Source Head Office: completed');
    expect(printed).toMatch(/Head Office -> Contoso Ltd: users \d+ to send/);
    expect(printed).toMatch(/Head Office -> fabrikam\.com: users \d+ to send/);
    expect(printed).not.toContain('ecd4de449791');

    // The ledger is keyed by the storage keys (src/config/storageKey.ts), written out here on purpose.
    const summaries = await connector.ledger.summaries({ destination: 'Contoso_Ltd.ecd4de449791', source: 'Head_Office.84efe5d2e45a', kind: 'users' });
    const held = [...summaries.values()].reduce((sum, bucket) => sum + bucket.held, 0);
    expect(held).toBe(s365.tenant('Contoso Ltd').users(graph.tenantId).length);

    // `--source` takes the name as written; the summary names the source by its key.
    const second = await connector.sync({ sources: ['Head Office'] });
    expect(second.summary.failures).toEqual([]);
    expect(second.summary.pulls.map((pull) => pull.source)).toEqual(['Head_Office.84efe5d2e45a']);
    expect(second.uploads.sent).toBe(0);
    expect((await connector.sync({ sources: ['Nowhere'] })).summary.pulls).toEqual([]);

    // validate with storage: the mirror's view, by the names as written.
    if (storage.kind !== 'connectionString') throw new Error('the test storage is reached by connection string');
    const folder = mkdtempSync(join(tmpdir(), 'vendor-names-'));
    try {
      const file = join(folder, 'config.json');
      writeFileSync(file, JSON.stringify(raw));
      let out = '';
      const env = {
        [APP_SETTINGS.storageConnectionString]: storage.connectionString, [APP_SETTINGS.storagePrefix]: storage.prefix,
        [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token, [SECOND_TOKEN_SETTING]: secondToken,
      };
      const code = await runValidateCommand({ config: file }, { env, out: (text) => (out += text), err: (text) => (out += text) });
      expect(code).toBe(0);
      expect(out).toContain('[1] EntraId:Head Office -> Signature365:fabrikam.com: groups');
      expect(out).toMatch(/Source EntraId:Head Office -> Signature365:Contoso Ltd: \d+ users, \d+ groups in scope/);
      expect(out).toMatch(/user\(s\) in scope of more than one Signature 365 tenant/);
      expect(out).toContain(': Signature365:Contoso Ltd, Signature365:fabrikam.com (Mappings [0], [1])');
      expect(out).toContain('1 warning(s):\n  - Mappings[1]: Every user of the narrower mapping\'s groups of EntraId:Head Office goes to Signature365:Contoso Ltd');
      expect(out).not.toContain('ecd4de449791');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }

    const runtime = await createRuntime({ config: connector.config, logger: silentLogger, storage });
    try {
      const text = formatConnectorStatus(await readConnectorStatus(runtime));
      expect(text).toContain('Source Head Office');
      expect(text).toContain('Destination Contoso Ltd (from Head Office): healthy');
      expect(text).toContain('Destination fabrikam.com (from Head Office): healthy');
      expect(text).not.toContain('ecd4de449791');
    } finally {
      await runtime.close();
    }
  });
});
