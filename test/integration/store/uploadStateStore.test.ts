import { describe, expect, it } from 'vitest';
import { TableUploadStateStore } from '../../../src/store/uploadStateStore';
import type { UploadRow } from '../../../src/sync/ports';
import { isolatedStorage } from '../../support/storage';

function row(id: string, record: string | null, fields: Partial<UploadRow> = {}): UploadRow {
  return { id, desiredHash: record === null ? null : 'h', desiredRecord: record, ackHash: null, leftScopeAt: null, deleteApproved: false, failures: 0, lastError: null, dispatched: null, ...fields };
}

describe('upload ledger rows', () => {
  it('round-trip every field, including a record longer than one Table string property', async () => {
    const store = new TableUploadStateStore(isolatedStorage());
    await store.initialize();
    // 1000 proxy addresses: about 40,000 characters of JSON, past the 32K-character property limit.
    const proxyAddresses = Array.from({ length: 1000 }, (_, i) => `smtp:alias.number.${i}@contoso.example`);
    const long = JSON.stringify({ id: '0a1b2c3d-0000-4000-8000-000000000001', proxyAddresses });
    expect(long.length).toBeGreaterThan(32 * 1024);
    const rows = [
      row('0a1b2c3d-0000-4000-8000-000000000001', long, { dispatched: { what: 'h', at: '2026-11-25T10:00:00.000Z' } }),
      row('1a1b2c3d-0000-4000-8000-000000000002', null, { ackHash: 'old', leftScopeAt: '2026-11-20T00:00:00.000Z', deleteApproved: true, failures: 2, lastError: '400: bad mail' }),
    ];
    await store.put('Tenant1', 'Default', 'users', rows);

    const read = await store.get('Tenant1', 'Default', 'users', rows.map((r) => r.id));
    expect(read.get(rows[0]!.id)).toEqual(rows[0]);
    expect(read.get(rows[1]!.id)).toEqual(rows[1]);

    // Shrinking a long record back to a short one leaves no stale chunk behind (rows are replaced).
    await store.put('Tenant1', 'Default', 'users', [row(rows[0]!.id, '{"short":true}')]);
    expect((await store.get('Tenant1', 'Default', 'users', [rows[0]!.id])).get(rows[0]!.id)?.desiredRecord).toBe('{"short":true}');
  });
});
