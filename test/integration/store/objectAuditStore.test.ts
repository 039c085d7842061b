import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TableServiceClient } from '@azure/data-tables';
import { auditDayOf, TableObjectAuditLog } from '../../../src/store/objectAuditStore';
import { StorageRequestCounter } from '../../../src/store/requestCounter';
import type { StorageTarget } from '../../../src/store/storageAccount';
import type { ObjectAuditRow } from '../../../src/sync/ports';
import { isolatedStorage } from '../../support/storage';

const DAY = 86_400_000;

function row(objectId: string, at: Date, fields: Partial<ObjectAuditRow> = {}): ObjectAuditRow {
  return { runId: 'run-1', at: at.toISOString(), destination: 'west', source: 'contoso', kind: 'users', objectId, action: 'update', reason: 'changed', fields: ['jobTitle'], ...fields };
}

async function dayTables(target: StorageTarget): Promise<string[]> {
  if (target.kind !== 'connectionString') throw new Error('test storage is a connection string');
  const service = TableServiceClient.fromConnectionString(target.connectionString, { allowInsecureConnection: true });
  const names: string[] = [];
  for await (const table of service.listTables()) if (table.name?.startsWith(`${target.prefix}AuditTrail`) === true) names.push(table.name.slice(target.prefix.length));
  return names.sort();
}

describe('TableObjectAuditLog', () => {
  it('finds one object\'s rows, newest first, across days and destinations, and nothing of the others', async () => {
    const target = isolatedStorage();
    const log = new TableObjectAuditLog(target);
    const now = new Date('2026-12-03T10:00:00Z');
    const [alice, bob] = [randomUUID(), randomUUID()];
    await log.recordMany([row(alice, new Date(now.getTime() - DAY), { action: 'create', fields: [] }), row(bob, new Date(now.getTime() - DAY))]);
    await log.recordMany([row(alice, now), row(alice, new Date(now.getTime() + 1000), { destination: 'east', action: 'failed', reason: 'upsert refused: 400: bad', fields: [] })]);

    const rows = await log.query({ objectId: alice });
    expect(rows.map((r) => [r.destination, r.action, r.at])).toEqual([
      ['east', 'failed', new Date(now.getTime() + 1000).toISOString()],
      ['west', 'update', now.toISOString()],
      ['west', 'create', new Date(now.getTime() - DAY).toISOString()],
    ]);
    expect(rows[1]).toEqual(row(alice, now));
    expect(await log.query({ objectId: alice, destination: 'east' })).toHaveLength(1);
    expect(await log.query({ objectId: alice, since: now })).toHaveLength(2);
  });

  it('lists the newest rows without reading a day\'s object rows, and filters by destination', async () => {
    const target = isolatedStorage();
    const counter = new StorageRequestCounter();
    const log = new TableObjectAuditLog(target, { additionalPolicies: [counter.tablePolicy] });
    const start = new Date('2026-12-03T08:00:00Z');
    // 600 rows in six calls, ids in order as uploads send them.
    const ids = Array.from({ length: 600 }, () => randomUUID()).sort();
    for (let call = 0; call < 6; call += 1) {
      await log.recordMany(ids.slice(call * 100, call * 100 + 100).map((id, index) => row(id, new Date(start.getTime() + call * 60_000 + index), { destination: call % 2 === 0 ? 'west' : 'east' })));
    }
    const before = counter.snapshot();
    const newest = await log.query({ limit: 5 });
    expect(newest.map((r) => r.objectId)).toEqual(ids.slice(595).reverse());
    // The table listing and one page of the index: never the 600 object rows.
    expect(counter.snapshot().tableReads - before.tableReads).toBeLessThanOrEqual(2);
    expect((await log.query({ destination: 'west', limit: 3 })).map((r) => r.objectId)).toEqual(ids.slice(497, 500).reverse());
    expect(await log.query({ since: new Date(start.getTime() + 5 * 60_000 + 90), limit: 1000 })).toHaveLength(10);
  });

  it('writes 100 rows of consecutive ids in a couple of transactions', async () => {
    const target = isolatedStorage();
    const counter = new StorageRequestCounter();
    const log = new TableObjectAuditLog(target, { additionalPolicies: [counter.tablePolicy] });
    await log.recordMany([row(randomUUID(), new Date())]);
    // Ids that share a first hex digit, as 100 consecutive ids of a large tenant do.
    const ids = Array.from({ length: 100 }, () => `a${randomUUID().slice(1)}`).sort();
    const before = counter.snapshot();
    await log.recordMany(ids.map((id) => row(id, new Date())));
    const spent = counter.snapshot();
    // One transaction of the object rows, one of the index.
    expect(spent.total - before.total).toBe(2);
    // The counter tells them apart from the connector's other requests (the bench reports it).
    expect(spent.auditTrailRequests - before.auditTrailRequests).toBe(2);
    expect(spent.entitiesWritten - before.entitiesWritten).toBeGreaterThanOrEqual(101);
  });

  it('drops whole day tables once they are older than the retention, and nothing younger', async () => {
    const target = isolatedStorage();
    const log = new TableObjectAuditLog(target);
    const now = new Date('2026-12-03T10:00:00Z');
    const id = randomUUID();
    for (const daysAgo of [40, 31, 30, 1, 0]) await log.recordMany([row(id, new Date(now.getTime() - daysAgo * DAY))]);
    expect(await dayTables(target)).toHaveLength(5);

    await log.purge(30, now);

    // 30 days before 10:00 on 3 December is 10:00 on 3 November: that day still holds rows younger than 30 days.
    expect(await dayTables(target)).toEqual([auditDayOf(new Date(now.getTime() - 30 * DAY)), auditDayOf(new Date(now.getTime() - DAY)), auditDayOf(now)].map((day) => `AuditTrail${day}`).sort());
    expect((await log.query({ objectId: id })).map((r) => r.at)).toEqual([0, 1, 30].map((daysAgo) => new Date(now.getTime() - daysAgo * DAY).toISOString()));
  });
});
