/**
 * Table `Conflicts`: PartitionKey = source, RowKey = user id; one row per user in scope of more
 * than one Signature 365 tenant, as of the last plan (rows of resolved conflicts are deleted).
 */
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { ConflictStore, RecordedConflict } from '../sync/ports';
import type { StorageTarget } from './storageAccount';
import { ensureTable, openTable, queryPages, submitBatched, type TableAccessOptions } from './tableBatch';

function list(value: unknown): string[] {
  if (typeof value !== 'string') return [];
  try {
    const parsed = JSON.parse(value) as unknown;
    return Array.isArray(parsed) ? parsed.filter((item): item is string => typeof item === 'string') : [];
  } catch {
    return [];
  }
}

export class TableConflictStore implements ConflictStore {
  private readonly table: TableClient;

  constructor(target: StorageTarget, options: TableAccessOptions = {}) {
    this.table = openTable(target, 'Conflicts', options);
  }

  async initialize(): Promise<void> {
    await ensureTable(this.table);
  }

  async list(source: string): Promise<RecordedConflict[]> {
    const out: RecordedConflict[] = [];
    for await (const page of queryPages(this.table, odata`PartitionKey eq ${source}`)) {
      for (const row of page) {
        out.push({
          userId: row.rowKey ?? '',
          upn: typeof row.upn === 'string' ? row.upn : null,
          destinations: list(row.destinations),
          mappingIndexes: list(row.mappingIndexes).map(Number),
          sentTo: list(row.sentTo),
        });
      }
    }
    return out;
  }

  async replace(source: string, conflicts: readonly RecordedConflict[]): Promise<void> {
    const current = new Set(conflicts.map((conflict) => conflict.userId));
    const previous = await this.list(source);
    const actions: TransactionAction[] = [
      ...previous.filter((row) => !current.has(row.userId)).map((row): TransactionAction => ['delete', { partitionKey: source, rowKey: row.userId }]),
      ...conflicts.map((conflict): TransactionAction => [
        'upsert',
        {
          partitionKey: source, rowKey: conflict.userId, v: 1, upn: conflict.upn,
          destinations: JSON.stringify(conflict.destinations),
          mappingIndexes: JSON.stringify(conflict.mappingIndexes.map(String)),
          sentTo: JSON.stringify(conflict.sentTo),
        },
        'Replace',
      ]),
    ];
    if (actions.length > 0) await submitBatched(this.table, actions);
  }
}
