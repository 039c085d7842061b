/**
 * Bucket rows: one entity holds the entries of many objects (a JSON map, chunked over columns),
 * keyed by a short bucket id derived from the object id. The ledger, the manager → reports index
 * and the conflicts use them, so a 100k-user tenant costs a few hundred entities per table instead
 * of 100k: planning reads them in one or two requests, and one transaction writes up to 100 of them.
 *
 * Every write is a read-modify-write guarded by the row's ETag (a create for a row not yet there),
 * so two writers never overwrite each other: the loser re-reads and applies its change again.
 */
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { StorageError, statusOf, toStorageError } from './errors';
import { assertEntityFits, estimateEntityBytes, physicalColumns, readColumn } from './entityCodec';
import { MAX_ACTIONS_PER_TRANSACTION, TRANSACTION_BYTE_BUDGET, queryPages, runWithConcurrency, type Row } from './tableBatch';

/** A bucket row as read: its columns and the ETag to write it back with (absent: the row does not exist). */
export interface StoredRow {
  row: Row | undefined;
  etag: string | undefined;
}

/** How many row keys one query names (a $filter allows 15 comparisons; one is the PartitionKey). */
const ROW_KEYS_PER_QUERY = 14;
const MAX_ATTEMPTS = 8;

export { bucketOfId } from '../sync/bucketOf';

/**
 * Reads the named rows of one partition: one query when there are few, otherwise one range query
 * from the smallest to the largest key (bucket keys are short and dense, so the range holds little else).
 */
export async function readRows(table: TableClient, partitionKey: string, rowKeys: readonly string[]): Promise<Map<string, StoredRow>> {
  const wanted = [...new Set(rowKeys)].sort();
  const found = new Map<string, StoredRow>();
  for (const key of wanted) found.set(key, { row: undefined, etag: undefined });
  if (wanted.length === 0) return found;
  let filter: string;
  if (wanted.length <= ROW_KEYS_PER_QUERY) {
    filter = `${odata`PartitionKey eq ${partitionKey}`} and (${wanted.map((key) => odata`RowKey eq ${key}`).join(' or ')})`;
  } else {
    filter = odata`PartitionKey eq ${partitionKey} and RowKey ge ${wanted[0] ?? ''} and RowKey le ${wanted[wanted.length - 1] ?? ''}`;
  }
  for await (const page of queryPages(table, filter)) {
    for (const row of page) {
      if (row.rowKey !== undefined && found.has(row.rowKey)) found.set(row.rowKey, { row, etag: row.etag });
    }
  }
  return found;
}

/** Every row of one partition whose key starts with `prefix`. */
export async function readRowsWithPrefix(table: TableClient, partitionKey: string, prefix: string, select?: string[]): Promise<Map<string, StoredRow>> {
  const found = new Map<string, StoredRow>();
  const filter = odata`PartitionKey eq ${partitionKey} and RowKey ge ${prefix} and RowKey lt ${`${prefix}~`}`;
  for await (const page of queryPages(table, filter, { select })) {
    for (const row of page) if (row.rowKey !== undefined) found.set(row.rowKey, { row, etag: row.etag });
  }
  return found;
}

/** Parses a JSON map column written by `jsonMapColumns`; an unreadable column reads as empty. */
export function readJsonMap<T>(row: Row | undefined, column: string, isEntry: (value: unknown) => value is T): Map<string, T> {
  const out = new Map<string, T>();
  if (row === undefined) return out;
  const text = readColumn(row, column);
  if (text === undefined) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    return out;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return out;
  for (const [key, value] of Object.entries(parsed)) if (isEntry(value)) out.set(key, value);
  return out;
}

/** A JSON map as (chunked) columns, keys sorted so the same content always writes the same text. */
export function jsonMapColumns<T>(column: string, entries: ReadonlyMap<string, T>): Record<string, string> {
  const sorted: Record<string, T> = {};
  for (const key of [...entries.keys()].sort()) sorted[key] = entries.get(key) as T;
  return physicalColumns(new Map([[column, JSON.stringify(sorted)]]));
}

/**
 * What a mutation wants written for one group of rows (rows that must change together): the new
 * columns per row key, or undefined to leave the whole group as it is.
 */
export type RowGroupMutation = (rows: ReadonlyMap<string, Row | undefined>) => ReadonlyMap<string, Record<string, unknown>> | undefined;

export class RowConflictError extends StorageError {
  constructor(message: string) {
    super(message, { operation: 'conditional write', code: 'ConcurrentUpdate', retryable: true });
  }
}

function isConflict(error: unknown): boolean {
  const status = statusOf(error);
  return status === 412 || status === 409;
}

/** Transactions of whole groups: at most 100 actions and the byte budget each, a group never split. */
function groupTransactions(groups: readonly TransactionAction[][]): TransactionAction[][] {
  const transactions: TransactionAction[][] = [];
  let current: TransactionAction[] = [];
  let bytes = 0;
  for (const group of groups) {
    const size = group.reduce((sum, action) => sum + 1024 + estimateEntityBytes(action[1]), 0);
    if (current.length > 0 && (current.length + group.length > MAX_ACTIONS_PER_TRANSACTION || bytes + size > TRANSACTION_BYTE_BUDGET)) {
      transactions.push(current);
      current = [];
      bytes = 0;
    }
    current.push(...group);
    bytes += size;
  }
  if (current.length > 0) transactions.push(current);
  return transactions;
}

/**
 * Read-modify-write of groups of rows of one partition; the rows of a group are written in one
 * transaction, so they never disagree. `mutate` must be a pure function of the rows it is given:
 * on an ETag conflict the rows of the failed transaction are read again and `mutate` runs again on
 * what another writer left. Rows are written whole (Replace), several groups per transaction.
 * `preloaded` saves the first read when the caller already holds the rows (with their ETags).
 */
export async function updateRowGroups(
  table: TableClient,
  partitionKey: string,
  groups: readonly (readonly string[])[],
  mutate: RowGroupMutation,
  options: { preloaded?: ReadonlyMap<string, StoredRow>; concurrency?: number } = {},
): Promise<{ written: number }> {
  let pending = groups.map((group) => [...group]);
  let preloaded: ReadonlyMap<string, StoredRow> | undefined = options.preloaded;
  let written = 0;
  for (let attempt = 1; pending.length > 0; attempt += 1) {
    if (attempt > MAX_ATTEMPTS) {
      throw new RowConflictError(`${table.tableName} ${partitionKey}: rows kept changing under ${MAX_ATTEMPTS} attempts to update them; another writer is very busy, try again`);
    }
    const keys = pending.flat();
    const rows: ReadonlyMap<string, StoredRow> = preloaded !== undefined && keys.every((key) => preloaded?.has(key) === true)
      ? preloaded
      : await readRows(table, partitionKey, keys);
    preloaded = undefined;
    const actionGroups: TransactionAction[][] = [];
    const groupOf = new Map<TransactionAction[], string[]>();
    for (const group of pending) {
      const current = new Map<string, Row | undefined>();
      for (const key of group) current.set(key, rows.get(key)?.row);
      const next = mutate(current);
      if (next === undefined) continue;
      const actions: TransactionAction[] = [];
      for (const [rowKey, columns] of next) {
        const entity = { ...columns, partitionKey, rowKey };
        assertEntityFits(entity, `${table.tableName} row ${rowKey}`);
        const etag = rows.get(rowKey)?.etag;
        actions.push(etag === undefined ? ['create', entity] : ['update', entity, 'Replace', { etag }]);
      }
      if (actions.length === 0) continue;
      actionGroups.push(actions);
      groupOf.set(actions, group);
    }
    const conflicted: string[][] = [];
    const transactions = groupTransactions(actionGroups);
    await runWithConcurrency(transactions, options.concurrency ?? 4, async (transaction) => {
      try {
        await table.submitTransaction(transaction);
        written += transaction.length;
      } catch (error) {
        if (!isConflict(error)) throw toStorageError(error, `write ${table.tableName}`);
        for (const group of actionGroups) {
          if (group[0] !== undefined && transaction.includes(group[0])) conflicted.push(groupOf.get(group) ?? []);
        }
      }
    });
    pending = conflicted;
  }
  return { written };
}
