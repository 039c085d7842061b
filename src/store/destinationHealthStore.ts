/**
 * Destination health (quarantine after 401/403, an outage outlasting the retries, or a persistent
 * rejection). Table `Health`, PartitionKey `destination`, RowKey = destination name.
 */
import type { TableClient } from '@azure/data-tables';
import type { DestinationHealth, DestinationHealthStore, QuarantineReason } from '../sync/ports';
import { statusOf, toStorageError, withStorageErrors } from './errors';
import type { StorageTarget } from './storageAccount';
import { ensureTable, openTable, type TableAccessOptions } from './tableBatch';

const PARTITION = 'destination';

export class TableDestinationHealthStore implements DestinationHealthStore {
  private readonly table: TableClient;

  constructor(target: StorageTarget, options: TableAccessOptions = {}) {
    this.table = openTable(target, 'Health', options);
  }

  async initialize(): Promise<void> {
    await ensureTable(this.table);
  }

  async get(destination: string): Promise<DestinationHealth | undefined> {
    try {
      const row = await this.table.getEntity<Record<string, unknown>>(PARTITION, destination);
      const str = (key: string): string | null => { const value = row[key]; return typeof value === 'string' ? value : null; };
      return {
        destination,
        healthy: row.healthy === true,
        retryAfter: str('retryAfter'),
        consecutiveFailures: typeof row.consecutiveFailures === 'number' ? row.consecutiveFailures : 0,
        lastError: str('lastError'),
        reason: asQuarantineReason(str('reason')),
        changedAt: str('changedAt') ?? '',
      };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw toStorageError(error, 'read destination health');
    }
  }

  async put(health: DestinationHealth): Promise<void> {
    await withStorageErrors('write destination health', () =>
      this.table.upsertEntity({ partitionKey: PARTITION, rowKey: health.destination, v: 1, ...health, reason: health.reason ?? null }, 'Replace'),
    );
  }
}

function asQuarantineReason(value: string | null): QuarantineReason | null {
  return value === 'unauthorized' || value === 'unavailable' || value === 'rejected' ? value : null;
}
