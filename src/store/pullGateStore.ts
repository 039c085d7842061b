/**
 * The PullGates table: one row per source (PartitionKey `gate`, RowKey the source name) saying
 * whether a notified pull is waiting and when the last one started. Written only with ETags; see
 * src/realtime/pullCoalescer.ts for the protocol.
 */
import type { TableClient } from '@azure/data-tables';
import type { PullGateState, PullGateStore } from '../realtime/ports';
import { SCHEMA_VERSION, TABLE_NAMES, assertSourceName } from './entityCodec';
import { statusOf, withStorageErrors } from './errors';
import type { StorageTarget } from './storageAccount';
import { ensureTable, getRowOrUndefined, openTable, type TableAccessOptions } from './tableBatch';

const PARTITION = 'gate';

function textOrNull(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

export class TablePullGateStore implements PullGateStore {
  private readonly table: TableClient;

  constructor(target: StorageTarget, options: TableAccessOptions = {}) {
    this.table = openTable(target, TABLE_NAMES.pullGates, options);
  }

  async initialize(): Promise<void> {
    await ensureTable(this.table);
  }

  async read(source: string): Promise<{ state: PullGateState; etag: string } | undefined> {
    assertSourceName(source);
    return withStorageErrors('read pull gate', async () => {
      const row = await getRowOrUndefined(this.table, PARTITION, source);
      if (row === undefined) return undefined;
      return {
        state: { queuedAt: textOrNull(row.queuedAt), notBefore: textOrNull(row.notBefore), startedAt: textOrNull(row.startedAt) },
        etag: row.etag,
      };
    });
  }

  async write(source: string, state: PullGateState, etag: string | undefined): Promise<string | undefined> {
    assertSourceName(source);
    // Empty strings for "none": a Replace must carry every column, and Table storage has no null.
    const entity = {
      partitionKey: PARTITION, rowKey: source, v: SCHEMA_VERSION,
      queuedAt: state.queuedAt ?? '', notBefore: state.notBefore ?? '', startedAt: state.startedAt ?? '',
    };
    return withStorageErrors('write pull gate', async () => {
      try {
        const result = etag === undefined
          ? await this.table.createEntity(entity)
          : await this.table.updateEntity(entity, 'Replace', { etag });
        return result.etag;
      } catch (error) {
        const status = statusOf(error);
        if (status === 409 || status === 412 || status === 404) return undefined;
        throw error;
      }
    });
  }
}
