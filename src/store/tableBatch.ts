/**
 * Table I/O shared by the store adapters: the one way to write batches (entity group transactions),
 * the one way to read rows by key, paging over a filter, bounded concurrency, and table creation.
 */
import { odata, type TableClient, type TableEntityResult, type TableServiceClient, type TransactionAction } from '@azure/data-tables';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { createTableClient, createTableServiceClient, type StorageTarget } from './storageAccount';
import { statusOf, toStorageError } from './errors';
import { estimateEntityBytes } from './entityCodec';

/** Service limits of one entity group transaction: 100 operations, 4 MiB payload, one partition. */
export const MAX_ACTIONS_PER_TRANSACTION = 100;
export const MAX_TRANSACTION_BYTES = 4 * 1024 * 1024;
/**
 * Our estimate counts 2 bytes a character; the wire carries UTF-8 JSON in a multipart body with
 * headers per operation, and non-ASCII text can take 3 bytes. Budgeting well below the limit
 * keeps a chunk under 4 MiB whatever the text.
 */
export const TRANSACTION_BYTE_BUDGET = Math.floor(MAX_TRANSACTION_BYTES * 0.6);
const ACTION_OVERHEAD_BYTES = 1024;
/** A $filter may hold at most 15 discrete comparisons (Table service query limit). */
export const MAX_FILTER_COMPARISONS = 15;
export const DEFAULT_CONCURRENCY = 8;
export const DEFAULT_PAGE_SIZE = 1000;

export type Row = TableEntityResult<Record<string, unknown>>;

export interface TableAccessOptions {
  /** Extra HTTP pipeline policies on every table client (request counting in tests and benchmarks). */
  additionalPolicies?: readonly PipelinePolicy[];
  /** How many transactions or queries run at once. Default 8. */
  concurrency?: number;
}

export function openTable(target: StorageTarget, base: string, options: TableAccessOptions = {}): TableClient {
  const client = createTableClient(target, base);
  for (const policy of options.additionalPolicies ?? []) client.pipeline.addPolicy(policy);
  return client;
}

/** The table service, with the same extra policies as the table clients (request counting). */
export function openTableService(target: StorageTarget, options: TableAccessOptions = {}): TableServiceClient {
  const client = createTableServiceClient(target);
  for (const policy of options.additionalPolicies ?? []) client.pipeline.addPolicy(policy);
  return client;
}

/** Creates the table if it is missing; a table that already exists (409) is fine. Call once per process. */
export async function ensureTable(table: TableClient): Promise<void> {
  try {
    await table.createTable();
  } catch (error) {
    if (statusOf(error) === 409) return;
    throw toStorageError(error, `create table ${table.tableName}`);
  }
}

/** Reads one row; a missing row (404) is undefined rather than an error. */
export async function getRowOrUndefined(table: TableClient, partitionKey: string, rowKey: string): Promise<Row | undefined> {
  try {
    return await table.getEntity<Record<string, unknown>>(partitionKey, rowKey);
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}

/**
 * Runs `work` over `items`, at most `limit` at a time. After the first failure no new item starts;
 * the ones in flight are awaited (nothing is left running detached), then the failure is thrown.
 */
export async function runWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next;
      next += 1;
      try {
        results[index] = await work(items[index] as T);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}

/** Map key for one row. */
export function rowAddress(partitionKey: string, rowKey: string): string {
  return `${partitionKey}\u0000${rowKey}`;
}

function partitionOf(action: TransactionAction): string {
  return action[1].partitionKey;
}

function actionBytes(action: TransactionAction): number {
  return ACTION_OVERHEAD_BYTES + estimateEntityBytes(action[1]);
}

/**
 * Splits actions into transactions: grouped by partition, at most 100 actions and a byte budget
 * each, order kept within a partition. Each row may appear once: two actions on one row in one
 * call would race when their transactions run concurrently, so callers merge them first.
 */
export function planTransactions(actions: readonly TransactionAction[]): TransactionAction[][] {
  const byPartition = new Map<string, TransactionAction[]>();
  const seen = new Set<string>();
  for (const action of actions) {
    const address = rowAddress(action[1].partitionKey, action[1].rowKey);
    if (seen.has(address)) {
      throw new Error(`Row ${action[1].partitionKey}/${action[1].rowKey} appears twice in one batch write; merge its changes first.`);
    }
    seen.add(address);
    const group = byPartition.get(partitionOf(action));
    if (group === undefined) byPartition.set(partitionOf(action), [action]);
    else group.push(action);
  }
  const transactions: TransactionAction[][] = [];
  for (const group of byPartition.values()) {
    let current: TransactionAction[] = [];
    let bytes = 0;
    for (const action of group) {
      const size = actionBytes(action);
      if (current.length > 0 && (current.length >= MAX_ACTIONS_PER_TRANSACTION || bytes + size > TRANSACTION_BYTE_BUDGET)) {
        transactions.push(current);
        current = [];
        bytes = 0;
      }
      current.push(action);
      bytes += size;
    }
    if (current.length > 0) transactions.push(current);
  }
  return transactions;
}

export interface BatchWriteResult {
  /** Requests sent: transactions, plus single operations when a transaction had to be replayed. */
  requests: number;
  entities: number;
}

/**
 * The one way to write several rows. Transactions of different partitions run concurrently.
 * A delete of a row that is already gone fails its whole transaction (404); since deleting a
 * missing row counts as success, that transaction is replayed one operation at a time.
 */
export async function submitBatched(
  table: TableClient,
  actions: readonly TransactionAction[],
  options: { concurrency?: number } = {},
): Promise<BatchWriteResult> {
  const transactions = planTransactions(actions);
  const requests = await runWithConcurrency(transactions, options.concurrency ?? DEFAULT_CONCURRENCY, (transaction) =>
    submitTransaction(table, transaction),
  );
  return { requests: requests.reduce((sum, count) => sum + count, 0), entities: actions.length };
}

async function submitTransaction(table: TableClient, transaction: TransactionAction[]): Promise<number> {
  try {
    await table.submitTransaction(transaction);
    return 1;
  } catch (error) {
    if (statusOf(error) === 404 && transaction.some(([kind]) => kind === 'delete')) {
      return 1 + (await submitOneByOne(table, transaction));
    }
    throw toStorageError(error, `batch write to ${table.tableName}`);
  }
}

async function submitOneByOne(table: TableClient, transaction: readonly TransactionAction[]): Promise<number> {
  for (const action of transaction) {
    try {
      switch (action[0]) {
        case 'delete':
          await table.deleteEntity(action[1].partitionKey, action[1].rowKey);
          break;
        case 'create':
          await table.createEntity(action[1]);
          break;
        case 'update':
          await table.updateEntity(action[1], action[2] ?? 'Merge', action[3]);
          break;
        case 'upsert':
          await table.upsertEntity(action[1], action[2] ?? 'Merge');
          break;
      }
    } catch (error) {
      if (action[0] === 'delete' && statusOf(error) === 404) continue;
      throw toStorageError(error, `write to ${table.tableName}`);
    }
  }
  return transaction.length;
}

export interface RowKeyRef {
  partitionKey: string;
  rowKey: string;
}

/**
 * Reads the rows with the given keys, one query per partition and per 14 row keys
 * (`PartitionKey eq … and (RowKey eq … or …)`, 15 comparisons at most), queries concurrent.
 * Returns the rows found, keyed by rowAddress.
 */
export async function readRowsByKeys(
  table: TableClient,
  keys: readonly RowKeyRef[],
  options: { concurrency?: number; select?: string[] } = {},
): Promise<Map<string, Row>> {
  const byPartition = new Map<string, Set<string>>();
  for (const { partitionKey, rowKey } of keys) {
    const rowKeys = byPartition.get(partitionKey);
    if (rowKeys === undefined) byPartition.set(partitionKey, new Set([rowKey]));
    else rowKeys.add(rowKey);
  }
  const filters: string[] = [];
  const perQuery = MAX_FILTER_COMPARISONS - 1;
  for (const [partitionKey, rowKeySet] of byPartition) {
    const rowKeys = [...rowKeySet];
    for (let start = 0; start < rowKeys.length; start += perQuery) {
      const anyRow = rowKeys.slice(start, start + perQuery).map((rowKey) => odata`RowKey eq ${rowKey}`).join(' or ');
      filters.push(`${odata`PartitionKey eq ${partitionKey}`} and (${anyRow})`);
    }
  }
  const found = new Map<string, Row>();
  await runWithConcurrency(filters, options.concurrency ?? DEFAULT_CONCURRENCY, async (filter) => {
    for await (const page of queryPages(table, filter, { select: options.select })) {
      for (const row of page) {
        if (row.partitionKey !== undefined && row.rowKey !== undefined) found.set(rowAddress(row.partitionKey, row.rowKey), row);
      }
    }
  });
  return found;
}

/**
 * Pages of the rows matching `filter` (empty pages skipped). The next page is requested while the
 * caller works on the current one, so a scan costs the larger of the two, not their sum.
 */
export async function* queryPages(
  table: TableClient,
  filter: string,
  options: { select?: string[] | undefined; pageSize?: number } = {},
): AsyncIterable<Row[]> {
  const queryOptions = options.select === undefined ? { filter } : { filter, select: options.select };
  const pages = table.listEntities<Record<string, unknown>>({ queryOptions }).byPage({ maxPageSize: options.pageSize ?? DEFAULT_PAGE_SIZE })[Symbol.asyncIterator]();
  let ahead: Promise<IteratorResult<Row[]>> | undefined = pages.next();
  try {
    for (;;) {
      let result: IteratorResult<Row[]>;
      try {
        result = await ahead;
      } catch (error) {
        ahead = undefined;
        throw toStorageError(error, `query ${table.tableName}`);
      }
      if (result.done === true) {
        ahead = undefined;
        return;
      }
      ahead = pages.next();
      // Let the request for the next page reach the wire before the caller's (synchronous) work on
      // this one: the pipeline's steps are promise continuations, which would otherwise wait for it.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (result.value.length > 0) yield result.value;
    }
  } finally {
    // A caller that stops early leaves a page in flight: let it settle quietly.
    if (ahead !== undefined) void ahead.catch(() => undefined);
  }
}
