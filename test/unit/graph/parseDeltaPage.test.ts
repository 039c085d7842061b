import { describe, expect, it } from 'vitest';
import {
  MalformedDeltaPageError, parseDeltaPage, parseGroupItem, parseUserItem,
} from '../../../src/graph/parseDeltaPage';

const USER = '#microsoft.graph.user';
const GROUP = '#microsoft.graph.group';

function page(extra: Record<string, unknown>, value: unknown[] = []): string {
  return JSON.stringify({ '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users', value, ...extra });
}

describe('parseUserItem', () => {
  it('keeps exactly the properties present in the item', () => {
    expect(parseUserItem({ id: 'u1', jobTitle: 'CTO', mobilePhone: null })).toEqual({
      kind: 'upsert', id: 'u1', attributes: { jobTitle: 'CTO', mobilePhone: null },
    });
  });

  it('maps onPremisesExtensionAttributes to extensionAttributes', () => {
    const change = parseUserItem({ id: 'u1', onPremisesExtensionAttributes: { extensionAttribute1: 'A', extensionAttribute2: null, somethingElse: 'x' } });
    expect(change).toEqual({ kind: 'upsert', id: 'u1', attributes: { extensionAttributes: { extensionAttribute1: 'A', extensionAttribute2: null } } });
  });

  it('reads directory extensions into extensionAttributes as text, next to the on-premises ones', () => {
    const costCenter = 'extension_b7d8e648520f41d3b9c0fdeb91768a0a_costCenter';
    const skills = 'extension_b7d8e648520f41d3b9c0fdeb91768a0a_skills';
    const level = 'extension_b7d8e648520f41d3b9c0fdeb91768a0a_level';
    const remote = 'extension_b7d8e648520f41d3b9c0fdeb91768a0a_remote';
    const change = parseUserItem({
      id: 'u1',
      onPremisesExtensionAttributes: { extensionAttribute1: 'A' },
      [costCenter]: 'CC-1', [skills]: ['Sales', 'French'], [level]: 3, [remote]: false,
    });
    expect(change).toEqual({
      kind: 'upsert', id: 'u1',
      attributes: { extensionAttributes: { extensionAttribute1: 'A', [costCenter]: 'CC-1', [skills]: 'Sales, French', [level]: '3', [remote]: 'false' } },
    });
  });

  it('reads a cleared directory extension (null, or an empty list) as no value, and leaves other keys alone', () => {
    const costCenter = 'extension_b7d8e648520f41d3b9c0fdeb91768a0a_costCenter';
    const skills = 'extension_b7d8e648520f41d3b9c0fdeb91768a0a_skills';
    expect(parseUserItem({ id: 'u1', [costCenter]: null, [skills]: [], extension_notAnAppId_x: 'ignored' })).toEqual({
      kind: 'upsert', id: 'u1', attributes: { extensionAttributes: { [costCenter]: null, [skills]: null } },
    });
  });

  it('rejects a directory extension value that is an object', () => {
    expect(() => parseUserItem({ id: 'u1', extension_b7d8e648520f41d3b9c0fdeb91768a0a_x: { nested: 1 } })).toThrow(MalformedDeltaPageError);
  });

  it('keeps only whether assignedLicenses is empty, and refuses a value that is not a list', () => {
    const license = { skuId: '05e9a617-0261-4cee-bb44-138d3ef5d965', disabledPlans: [] };
    expect(parseUserItem({ id: 'u1', assignedLicenses: [license] })).toEqual({ kind: 'upsert', id: 'u1', attributes: { licensed: true } });
    expect(parseUserItem({ id: 'u1', assignedLicenses: [] })).toEqual({ kind: 'upsert', id: 'u1', attributes: { licensed: false } });
    expect(parseUserItem({ id: 'u1', jobTitle: 'CTO' })).toEqual({ kind: 'upsert', id: 'u1', attributes: { jobTitle: 'CTO' } });
    expect(() => parseUserItem({ id: 'u1', assignedLicenses: 'E3' })).toThrow(MalformedDeltaPageError);
  });

  it('reads the manager from manager@delta', () => {
    expect(parseUserItem({ id: 'u1', 'manager@delta': [{ '@odata.type': USER, id: 'm1' }] })).toEqual({
      kind: 'upsert', id: 'u1', attributes: { managerId: 'm1' },
    });
  });

  it('reads a removed manager as null, and a replaced one as the new manager', () => {
    const removed = parseUserItem({ id: 'u1', 'manager@delta': [{ '@odata.type': USER, id: 'm1', '@removed': { reason: 'deleted' } }] });
    const replaced = parseUserItem({ id: 'u1', 'manager@delta': [{ id: 'm1', '@removed': { reason: 'deleted' } }, { '@odata.type': USER, id: 'm2' }] });
    expect(removed).toEqual({ kind: 'upsert', id: 'u1', attributes: { managerId: null } });
    expect(replaced).toEqual({ kind: 'upsert', id: 'u1', attributes: { managerId: 'm2' } });
  });

  it('reads an empty manager@delta list as no statement about the manager (only an @removed entry clears it)', () => {
    expect(parseUserItem({ id: 'u1', jobTitle: 'Lead', 'manager@delta': [] })).toEqual({ kind: 'upsert', id: 'u1', attributes: { jobTitle: 'Lead' } });
    expect(parseUserItem({ id: 'u1', 'manager@delta': [{ '@odata.type': USER, id: 'm1', '@removed': { reason: 'changed' } }] })).toEqual({
      kind: 'upsert', id: 'u1', attributes: { managerId: null },
    });
  });

  it.each([
    ['changed', 'changed'],
    ['deleted', 'deleted'],
    ['somethingNew', 'changed'],
  ] as const)('reads @removed reason %s as %s', (reason, expected) => {
    expect(parseUserItem({ id: 'u1', '@removed': { reason } })).toEqual({ kind: 'removed', id: 'u1', reason: expected });
  });

  it('rejects an entry without an id or with a wrongly typed property', () => {
    expect(() => parseUserItem({ displayName: 'x' })).toThrow(MalformedDeltaPageError);
    expect(() => parseUserItem({ id: 'u1', displayName: 42 })).toThrow(/displayName/);
    expect(() => parseUserItem({ id: 'u1', businessPhones: 'not a list' })).toThrow(/businessPhones/);
    expect(() => parseUserItem({ id: 'u1', accountEnabled: 'yes' })).toThrow(/accountEnabled/);
  });
});

describe('parseGroupItem', () => {
  it('reads members@delta with member types and removals', () => {
    const change = parseGroupItem({
      id: 'g1', displayName: 'Team',
      'members@delta': [
        { '@odata.type': USER, id: 'u1' },
        { '@odata.type': GROUP, id: 'g2' },
        { '@odata.type': '#microsoft.graph.orgContact', id: 'c1' },
        { '@odata.type': USER, id: 'u2', '@removed': { reason: 'deleted' } },
      ],
    });
    expect(change).toEqual({
      kind: 'upsert', id: 'g1', attributes: { displayName: 'Team' },
      members: [
        { memberId: 'u1', memberType: 'user', removed: false },
        { memberId: 'g2', memberType: 'group', removed: false },
        { memberId: 'c1', memberType: 'other', removed: false },
        { memberId: 'u2', memberType: 'user', removed: true },
      ],
    });
  });

  it('reads a removed group', () => {
    expect(parseGroupItem({ id: 'g1', '@removed': { reason: 'deleted' } })).toEqual({ kind: 'removed', id: 'g1', reason: 'deleted' });
  });
});

describe('parseDeltaPage', () => {
  it('returns the changes with the nextLink, or with the deltaLink', () => {
    expect(parseDeltaPage(page({ '@odata.nextLink': 'https://next' }, [{ id: 'u1' }]), parseUserItem)).toEqual({
      changes: [{ kind: 'upsert', id: 'u1', attributes: {} }], nextLink: 'https://next',
    });
    expect(parseDeltaPage(page({ '@odata.deltaLink': 'https://delta' }), parseUserItem)).toEqual({ changes: [], deltaLink: 'https://delta' });
  });

  it('refuses a page with neither link, so a cut-off round never looks finished', () => {
    expect(() => parseDeltaPage(page({}, [{ id: 'u1' }]), parseUserItem)).toThrow(/neither/);
  });

  it('refuses a page with both links', () => {
    expect(() => parseDeltaPage(page({ '@odata.nextLink': 'a', '@odata.deltaLink': 'b' }), parseUserItem)).toThrow(/both/);
  });

  it('refuses a body that is not JSON or has no value list', () => {
    expect(() => parseDeltaPage('{"value":[{"id":"u', parseUserItem)).toThrow(/not valid JSON/);
    expect(() => parseDeltaPage(JSON.stringify({ '@odata.deltaLink': 'x' }), parseUserItem)).toThrow(/no value list/);
    expect(() => parseDeltaPage('[]', parseUserItem)).toThrow(MalformedDeltaPageError);
  });
});
