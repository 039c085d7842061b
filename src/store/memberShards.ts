/**
 * A group's direct members as a few dense rows instead of one row per edge: the member ids of a
 * group are spread over `k` shard rows (k a power of two, chosen so a shard holds at most
 * MEMBERS_PER_SHARD ids) by a hash of the member id, so a change to one member rewrites one shard.
 * A 100k-user tenant's membership fits in about as many rows as it has groups, and the planner
 * loads all of it with a handful of queries.
 *
 * Row: PartitionKey `<source>|<hex digit of the group id>`, RowKey `<groupId>|<shard as 2 hex>`,
 * columns `k` (shard count), `u`, `g`, `o` (user, group and other member ids, comma-separated,
 * chunked like any long column).
 */
import type { MemberType } from '../sync/directory';
import { fnv1a, physicalColumns, readColumn, SCHEMA_VERSION } from './entityCodec';

/** Ids per shard: 4,000 GUIDs are about 150 KB of text, well inside an entity's 1 MiB. */
export const MEMBERS_PER_SHARD = 4000;
const MAX_SHARDS = 256;

/** A group's direct members by type. */
export interface MemberSets {
  users: Set<string>;
  groups: Set<string>;
  others: Set<string>;
}

export function emptyMemberSets(): MemberSets {
  return { users: new Set(), groups: new Set(), others: new Set() };
}

export function memberCount(sets: MemberSets): number {
  return sets.users.size + sets.groups.size + sets.others.size;
}

export function setOfType(sets: MemberSets, type: MemberType): Set<string> {
  return type === 'user' ? sets.users : type === 'group' ? sets.groups : sets.others;
}

/** Removes a member whatever type it was stored as (Graph names the type, a stale row may not agree). */
export function removeMember(sets: MemberSets, memberId: string): boolean {
  const a = sets.users.delete(memberId);
  const b = sets.groups.delete(memberId);
  const c = sets.others.delete(memberId);
  return a || b || c;
}

export function sameMembers(a: MemberSets, b: MemberSets): boolean {
  const same = (x: Set<string>, y: Set<string>) => x.size === y.size && [...x].every((id) => y.has(id));
  return same(a.users, b.users) && same(a.groups, b.groups) && same(a.others, b.others);
}

export function cloneMembers(sets: MemberSets): MemberSets {
  return { users: new Set(sets.users), groups: new Set(sets.groups), others: new Set(sets.others) };
}

function shardCountFor(total: number): number {
  let k = 1;
  while (k < MAX_SHARDS && total > k * MEMBERS_PER_SHARD) k *= 2;
  return k;
}

function shardKey(index: number): string {
  return index.toString(16).padStart(2, '0');
}

export function shardRowKey(groupId: string, index: number): string {
  return `${groupId}|${shardKey(index)}`;
}

/** The group a shard row belongs to. */
export function groupIdOfShardRow(rowKey: string): string {
  const bar = rowKey.lastIndexOf('|');
  return bar < 0 ? rowKey : rowKey.slice(0, bar);
}

/** The shard rows (RowKey → columns) holding `sets`; an empty group has none. */
export function encodeShards(groupId: string, sets: MemberSets): Map<string, Record<string, string | number>> {
  const rows = new Map<string, Record<string, string | number>>();
  const total = memberCount(sets);
  if (total === 0) return rows;
  const k = shardCountFor(total);
  const shards = Array.from({ length: k }, () => ({ u: [] as string[], g: [] as string[], o: [] as string[] }));
  const place = (ids: Set<string>, pick: (s: (typeof shards)[number]) => string[]) => {
    for (const id of ids) {
      const shard = shards[fnv1a(id) & (k - 1)];
      if (shard !== undefined) pick(shard).push(id);
    }
  };
  place(sets.users, (s) => s.u);
  place(sets.groups, (s) => s.g);
  place(sets.others, (s) => s.o);
  shards.forEach((shard, index) => {
    const columns = new Map<string, string>();
    for (const [name, ids] of [['u', shard.u], ['g', shard.g], ['o', shard.o]] as const) {
      if (ids.length > 0) columns.set(name, ids.sort().join(','));
    }
    rows.set(shardRowKey(groupId, index), { v: SCHEMA_VERSION, k, ...physicalColumns(columns) });
  });
  return rows;
}

function ids(row: Readonly<Record<string, unknown>>, column: string): string[] {
  const text = readColumn(row, column);
  return text === undefined || text === '' ? [] : text.split(',');
}

/** Adds the members held by one shard row to `into`. */
export function decodeShardInto(row: Readonly<Record<string, unknown>>, into: MemberSets): void {
  for (const id of ids(row, 'u')) into.users.add(id);
  for (const id of ids(row, 'g')) into.groups.add(id);
  for (const id of ids(row, 'o')) into.others.add(id);
}
