/**
 * Splits upserts and deletes into batches the directory API accepts: at most 100 items and at
 * most 1 MiB of JSON each (contract limits). Pure: no I/O, so the size maths has fast unit tests.
 *
 * Each item is serialised once; a batch's body is assembled from those pieces and its size is
 * counted exactly (UTF-8 bytes of the body as sent), so the limit holds for non-ASCII names too.
 */
import { MAX_BATCH_BYTES, MAX_BATCH_ITEMS, type BatchRequestBody } from './contract';

export interface BatchLimits {
  maxItems: number;
  maxBytes: number;
}

export const CONTRACT_BATCH_LIMITS: BatchLimits = { maxItems: MAX_BATCH_ITEMS, maxBytes: MAX_BATCH_BYTES };

export interface BatchEntry {
  /** Position in the caller's input: upserts 0..U-1, then deletes U..U+D-1. */
  index: number;
  op: 'upsert' | 'delete';
  id: string;
  /** The item's JSON as it goes on the wire. */
  json: string;
  bytes: number;
}

export interface Batch {
  source: string;
  /** Upserts first, then deletes, each in input order (the order the answer's results follow). */
  entries: BatchEntry[];
  /** UTF-8 size of serializeBatch(this). */
  bytes: number;
}

/**
 * Greedy, order-preserving packing. An item too large to fit any batch on its own still gets a
 * batch of its own: the destination answers 413 and the client reports that one item failed.
 */
export function planBatches<TRecord extends { id: string }>(
  source: string,
  upserts: readonly TRecord[],
  deletes: readonly string[],
  limits: BatchLimits = CONTRACT_BATCH_LIMITS,
): Batch[] {
  if (!(limits.maxItems >= 1)) throw new RangeError(`maxItems must be at least 1, got ${limits.maxItems}`);
  const entries: BatchEntry[] = [
    ...upserts.map((record, i) => entry(i, 'upsert', record.id, JSON.stringify(record))),
    ...deletes.map((id, i) => entry(upserts.length + i, 'delete', id, JSON.stringify(id))),
  ];
  const batches: Batch[] = [];
  let current: BatchEntry[] = [];
  let currentBytes = 0;
  for (const item of entries) {
    if (current.length > 0) {
      const grown = currentBytes + item.bytes + (sameArrayAsLast(current, item) ? 1 : 0);
      if (current.length >= limits.maxItems || grown > limits.maxBytes) {
        batches.push(makeBatch(source, current));
        current = [];
      } else {
        current.push(item);
        currentBytes = grown;
        continue;
      }
    }
    current.push(item);
    currentBytes = envelopeBytes(source) + item.bytes;
  }
  if (current.length > 0) batches.push(makeBatch(source, current));
  return batches;
}

/** For a 413: two batches of the first and second half of the entries, order kept. */
export function splitBatchInHalf(batch: Batch): [Batch, Batch] {
  if (batch.entries.length < 2) throw new RangeError('A batch of one item cannot be split');
  const middle = Math.ceil(batch.entries.length / 2);
  return [makeBatch(batch.source, batch.entries.slice(0, middle)), makeBatch(batch.source, batch.entries.slice(middle))];
}

/** The request body, byte for byte what JSON.stringify of the BatchRequestBody would give. */
export function serializeBatch(batch: Batch): string {
  const upserts = batch.entries.filter((e) => e.op === 'upsert').map((e) => e.json);
  const deletes = batch.entries.filter((e) => e.op === 'delete').map((e) => e.json);
  return `{"source":${JSON.stringify(batch.source)},"upserts":[${upserts.join(',')}],"deletes":[${deletes.join(',')}]}`;
}

/** A comma separates the item from the previous one only inside the same array. */
function sameArrayAsLast(entries: readonly BatchEntry[], item: BatchEntry): boolean {
  return entries[entries.length - 1]?.op === item.op;
}

function entry(index: number, op: BatchEntry['op'], id: string, json: string): BatchEntry {
  return { index, op, id, json, bytes: Buffer.byteLength(json, 'utf8') };
}

function makeBatch(source: string, entries: BatchEntry[]): Batch {
  return { source, entries, bytes: bodyBytes(source, entries) };
}

function envelopeBytes(source: string): number {
  const empty: BatchRequestBody<never> = { source, upserts: [], deletes: [] };
  return Buffer.byteLength(JSON.stringify(empty), 'utf8');
}

function bodyBytes(source: string, entries: readonly BatchEntry[]): number {
  let upserts = 0;
  let deletes = 0;
  let itemBytes = 0;
  for (const e of entries) {
    itemBytes += e.bytes;
    if (e.op === 'upsert') upserts += 1;
    else deletes += 1;
  }
  const commas = Math.max(0, upserts - 1) + Math.max(0, deletes - 1);
  return envelopeBytes(source) + itemBytes + commas;
}
