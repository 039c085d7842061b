import { describe, expect, it } from 'vitest';
import { reconcileEntry } from '../../../src/sync/destinationReconcile';
import {
  buildGroupRecord, buildUserRecord, groupRecordHash, heldGroupHash, heldUserHashes, managerPart, userBaseHash, userRecordHash,
} from '../../../src/sync/payload';
import type { LedgerEntry } from '../../../src/sync/ports';
import { group, user } from './builders';

const NOW = new Date('2026-12-01T12:00:00.000Z');
const MINUTES_AGO = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000).toISOString();

describe('the hash of a record read back from the destination', () => {
  it('equals the hash the ledger acknowledged for the record that was sent', () => {
    const boss = user({ id: 'boss', displayName: 'Grace Hopper', mail: 'grace@contoso.com' });
    const ada = user({
      id: 'ada', jobTitle: 'Engineer', businessPhones: ['+44 2', '+44 1'], proxyAddresses: ['smtp:b@x', 'SMTP:a@x'],
      extensionAttributes: { extensionAttribute2: 'B', extensionAttribute1: null }, managerId: 'boss',
    });
    const groups = ['g2', 'g1', 'g2'];
    const sent = buildUserRecord(ada, managerPart(boss), groups);
    // What came back went through JSON, as over the wire.
    const readBack = JSON.parse(JSON.stringify(sent)) as typeof sent;
    expect(heldUserHashes(readBack)).toEqual({ hash: userRecordHash(userBaseHash(ada), managerPart(boss), groups), baseHash: userBaseHash(ada) });
    const g = group({ id: 'g1', displayName: 'Sales', mail: null, description: 'd' });
    expect(heldGroupHash(JSON.parse(JSON.stringify(buildGroupRecord(g))) as ReturnType<typeof buildGroupRecord>)).toBe(groupRecordHash(g));
  });

  it('changes when the destination holds a changed field, a changed manager or other groups', () => {
    const ada = user({ id: 'ada', jobTitle: 'Engineer' });
    const sent = heldUserHashes(buildUserRecord(ada, null, ['g1'])).hash;
    expect(heldUserHashes({ ...buildUserRecord(ada, null, ['g1']), jobTitle: 'Changed' }).hash).not.toBe(sent);
    expect(heldUserHashes(buildUserRecord(ada, { id: 'm', displayName: 'M', mail: null }, ['g1'])).hash).not.toBe(sent);
    expect(heldUserHashes(buildUserRecord(ada, null, ['g1', 'g2'])).hash).not.toBe(sent);
  });
});

describe('reconcileEntry', () => {
  const held = { hash: 'H1', baseHash: 'B1' };
  const cases: { name: string; entry: LedgerEntry | undefined; held: typeof held | undefined; expected: ReturnType<typeof reconcileEntry> }[] = [
    { name: 'agrees: held as acknowledged', entry: { a: 'H1', b: 'B1', w: 1 }, held, expected: undefined },
    { name: 'agrees: neither held nor acknowledged', entry: { w: 1 }, held: undefined, expected: undefined },
    { name: 'unknown held: no entry at all', entry: undefined, held, expected: { kind: 'unknownHeld', patch: { a: 'H1', b: 'B1', fp: null, t: null } } },
    { name: 'unknown held: wanted but never acknowledged', entry: { w: 1 }, held, expected: { kind: 'unknownHeld', patch: { a: 'H1', b: 'B1', fp: null, t: null } } },
    { name: 'drifted: held with another record', entry: { a: 'H0', b: 'B0', w: 1 }, held, expected: { kind: 'drifted', patch: { a: 'H1', b: 'B1', fp: null, t: null } } },
    { name: 'drifted group: no base hash', entry: { a: 'H0', w: 1 }, held: { hash: 'H1' } as typeof held, expected: { kind: 'drifted', patch: { a: 'H1', b: null, fp: null, t: null } } },
    { name: 'missing: acknowledged and wanted, not held', entry: { a: 'H1', b: 'B1', w: 1 }, held: undefined, expected: { kind: 'missing', patch: { a: null, b: null, fp: null, t: null } } },
    { name: 'gone: acknowledged, pending deletion, not held', entry: { a: 'H1', l: MINUTES_AGO(5) }, held: undefined, expected: { kind: 'gone', patch: { a: null, b: null, fp: null, t: null } } },
    { name: 'in flight: queued 10 minutes ago', entry: { a: 'H0', w: 1, q: MINUTES_AGO(10), qh: 'H2' }, held, expected: { kind: 'inFlight' } },
    { name: 'not in flight any more: queued 31 minutes ago', entry: { a: 'H0', w: 1, q: MINUTES_AGO(31), qh: 'H2' }, held, expected: { kind: 'drifted', patch: { a: 'H1', b: 'B1', fp: null, t: null } } },
    { name: 'queued but agreeing: nothing to say', entry: { a: 'H1', w: 1, q: MINUTES_AGO(1), qh: 'H1' }, held, expected: undefined },
  ];
  for (const { name, entry, held: heldRecord, expected } of cases) {
    it(name, () => {
      expect(reconcileEntry(entry, heldRecord, NOW)).toEqual(expected);
    });
  }
});
