/**
 * The app registration loses its group permission: Graph answers 403 to groups/delta. The CLI
 * must fail closed: exit non-zero, name the permission to grant, and delete nothing, although a
 * groups read taken as "no groups" would empty the LimitToGroups scope and look like everyone left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TableMirrorStore } from '../../src/store';
import { FakeTenant, startFakeGraph, type FakeGraph } from '../fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../fakes/signature365';
import { SECRET_SETTING, TOKEN_SETTING, configForFakes, newSecrets, tempFolder, type TempFolder } from '../support/cliConfig';
import { killCliChildren, runCli, type CliResult } from '../support/cliProcess';
import type { RawMapping } from '../support/expectedDestinations';
import { destinationDifferences } from '../support/faultRuns';
import { removedInMirror } from '../support/mirrorSnapshot';
import { isolatedStorage } from '../support/storage';

const { clientSecret, token } = newSecrets();
const storage = isolatedStorage();

let graph: FakeGraph;
let s365: FakeSignature365;
let folder: TempFolder;
let mappings: RawMapping[];
let first: CliResult;
let refused: CliResult;
let heldBefore: number;
let s365Mark: number;
let groupRequests: number[];

beforeAll(async () => {
  const tenant = new FakeTenant({ seed: 73 });
  const { groupIds } = tenant.generate({ users: 120, groups: 10, nestingDepth: 3, seed: 73 });
  graph = await startFakeGraph({ tenant, clientSecret, memberSliceSize: 7, maxPageSize: { users: 37, groups: 37 } });
  s365 = await startFakeSignature365({ tenants: [{ name: 'Tenant1', token, tenantId: '5a1e5000-0000-4000-8000-0000000000f4' }] });
  folder = await tempFolder();
  mappings = [{ From: 'EntraId:Default', To: 'Signature365:Tenant1', LimitToGroups: [groupIds[0] ?? ''] }];
  const config = await folder.file('config.json', { ...configForFakes(graph, s365.endpoint), Mappings: mappings });
  if (storage.kind !== 'connectionString') throw new Error('the test Azurite is reached by connection string');
  const env = { AzureWebJobsStorage: storage.connectionString, STORAGE_PREFIX: storage.prefix, [SECRET_SETTING]: clientSecret, [TOKEN_SETTING]: token };

  first = await runCli(['sync', '--config', config], env, { timeoutInMs: 30_000 });
  heldBefore = s365.tenant('Tenant1').users(graph.tenantId).length;

  graph.faults.add({ target: 'groups', status: 403, code: 'Authorization_RequestDenied', times: 3 });
  s365Mark = s365.requests.length;
  const groupsMark = graph.deltaRequests('groups').length;
  refused = await runCli(['sync', '--config', config, '--full'], env, { timeoutInMs: 30_000 });
  groupRequests = graph.deltaRequests('groups').slice(groupsMark).map((r) => r.status);
  graph.faults.clear();
}, 70_000);
afterAll(async () => {
  killCliChildren();
  await Promise.all([graph?.close(), s365?.close()]);
  await folder?.remove();
});

describe('Graph answering 403 to groups/delta (the group permission was removed)', () => {
  it('starts from a destination holding the scope of one LimitToGroups group', () => {
    expect(first.code).toBe(0);
    expect(heldBefore).toBeGreaterThan(0);
    expect(destinationDifferences(graph.tenant, s365, graph.tenantId, mappings)).toEqual([]);
  });

  it('fails the run, naming the permission to grant', () => {
    expect(refused.code).toBe(1);
    expect(groupRequests).toEqual([403]);
    const output = refused.stdout + refused.stderr;
    expect(output).toMatch(/FAILED Default \(pull\): Graph refused to read groups for source "Default" \(HTTP 403, Authorization_RequestDenied\)/);
    expect(output).toContain('Group.Read.All');
    expect(output).toContain('GroupMember.Read.All');
  });

  it('sends nothing to the destination, so nothing is deleted there', () => {
    expect(s365.requests.slice(s365Mark).filter((r) => r.method === 'POST')).toEqual([]);
    expect(s365.tenant('Tenant1').users(graph.tenantId)).toHaveLength(heldBefore);
    expect(destinationDifferences(graph.tenant, s365, graph.tenantId, mappings)).toEqual([]);
  });

  it('marks nothing removed in the mirror', async () => {
    expect(await removedInMirror(new TableMirrorStore(storage), 'Default')).toEqual({ users: {}, groups: {} });
  });

  it('never prints the client secret or the token', () => {
    const output = first.stdout + first.stderr + refused.stdout + refused.stderr;
    expect(output).not.toContain(clientSecret);
    expect(output).not.toContain(token);
  });
});
