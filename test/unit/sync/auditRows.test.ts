import { describe, expect, it } from 'vitest';
import { conflictSkipRows, outcomeAuditRow } from '../../../src/sync/auditRows';
import { parseAuditListing } from '../../../src/sync/auditListing';
import { fieldFingerprints } from '../../../src/sync/fieldFingerprints';
import type { RecordedConflict } from '../../../src/sync/ports';

const NOW = new Date('2026-12-03T10:00:00Z');
const CONTEXT = { runId: 'run-1', at: NOW, scope: { destination: 'West', source: 'Default', kind: 'users' as const } };
const ID = '8f6c2e0a-1b2c-4d5e-8f90-123456789abc';
const record = { id: ID, displayName: 'Ada Lovelace', jobTitle: 'Engineer', department: 'R&D' };

describe('outcomeAuditRow', () => {
  it('names exactly the fields that differ from the acknowledged record, and no value', () => {
    const before = { a: 'h1', w: 1 as const, fp: fieldFingerprints(record) };
    const row = outcomeAuditRow(CONTEXT, before, { id: ID, op: 'upsert' }, { kind: 'acknowledged' }, { ...record, jobTitle: 'Countess' });
    expect(row).toEqual({ runId: 'run-1', at: NOW.toISOString(), destination: 'West', source: 'Default', kind: 'users', objectId: ID, action: 'update', reason: 'changed', fields: ['jobTitle'] });
    expect(JSON.stringify(row)).not.toContain('Countess');
  });

  it('says the fields are unknown when the entry has no fingerprint (acknowledged before they were kept)', () => {
    const row = outcomeAuditRow(CONTEXT, { a: 'h1', w: 1 }, { id: ID, op: 'upsert' }, { kind: 'acknowledged' }, record);
    expect([row.action, row.fields, row.reason]).toEqual(['update', [], 'changed; fields unknown (no fingerprint of the record acknowledged before)']);
  });

  it('records a deferred item as a skip with why and until when', () => {
    const row = outcomeAuditRow(CONTEXT, { w: 1 }, { id: ID, op: 'upsert' }, { kind: 'deferred', until: '2026-12-03T10:01:00.000Z' }, undefined, 'the destination was quarantined (unauthorized)');
    expect([row.action, row.reason]).toEqual(['skip', 'not sent: the destination was quarantined (unauthorized); tried again after 2026-12-03T10:01:00.000Z']);
  });
});

describe('conflictSkipRows', () => {
  const conflict = (userId: string, sentTo: string[]): RecordedConflict => ({ userId, upn: `${userId}@x`, destinations: ['West', 'East'], mappingIndexes: [0, 2], sentTo });

  it('skips the destinations OnConflict left out, and in a whole-source plan only conflicts that are new or changed', () => {
    const rows = conflictSkipRows('run-1', NOW, 'Default', [conflict('u1', ['West']), conflict('u2', ['West']), conflict('u3', ['West', 'East'])], [conflict('u1', ['West']), conflict('u2', ['East'])]);
    expect(rows.map((row) => [row.objectId, row.destination, row.action, row.reason])).toEqual([
      ['u2', 'East', 'skip', 'OnConflict FirstMapping: in scope of Mappings[0], Mappings[2]; sent to West'],
    ]);
    expect(conflictSkipRows('run-1', NOW, 'Default', [conflict('u1', ['West'])]).map((row) => row.objectId)).toEqual(['u1']);
  });
});

describe('parseAuditListing', () => {
  const config = { destinations: [{ name: 'Contoso_Ltd.ecd4de449791', displayName: 'Contoso Ltd' }] };

  it('takes an object id, a span or an ISO time, and a destination as written', () => {
    expect(parseAuditListing({ user: ID.toUpperCase(), since: '7d', destination: 'Contoso Ltd', limit: '20' }, config, NOW)).toEqual({
      ok: true, query: { objectId: ID, since: new Date('2026-11-26T10:00:00Z'), destination: 'Contoso_Ltd.ecd4de449791', limit: 20 },
    });
    expect(parseAuditListing({ since: '2026-12-01' }, config, NOW)).toEqual({ ok: true, query: { since: new Date('2026-12-01T00:00:00Z') } });
  });

  it.each([
    [{ user: 'ada@contoso.example' }, '--user must be an Entra object id'],
    [{ since: 'yesterday' }, '--since must be an ISO date or time'],
    [{ limit: 0 }, '--limit must be a whole number from 1 to 5000'],
  ])('refuses %j, naming the option and what to write', (input, message) => {
    const parsed = parseAuditListing(input, config, NOW);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.error).toContain(message);
  });
});
