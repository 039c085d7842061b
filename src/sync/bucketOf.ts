/**
 * How objects are spread over buckets (ledger rows, the reports and conflicts maps, user
 * partitions): the first two hex digits of the object id, 256 buckets. Entra object ids are random
 * GUIDs, so buckets fill evenly; an id that does not start with two hex digits (never from Graph)
 * is hashed instead.
 */

const HEX = '0123456789abcdef';

/** FNV-1a of a string: a stable spread for ids that are not GUIDs, and for member shards. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  }
  return hash;
}

export function bucketOfId(id: string): string {
  const head = id.slice(0, 2).toLowerCase();
  if (head.length === 2 && HEX.includes(head.charAt(0)) && HEX.includes(head.charAt(1))) return head;
  return fnv1a(id).toString(16).padStart(8, '0').slice(-2);
}
