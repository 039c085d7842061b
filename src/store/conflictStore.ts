/**
 * Table `ScopeConflicts`: per source, the users in scope of more than one Signature 365 tenant as
 * the plans left them, in 256 bucket rows (bucketMapStore.ts). A whole-source plan replaces them;
 * a change-driven plan updates the users it re-planned.
 */
import type { ConflictStore, RecordedConflict } from '../sync/ports';
import { TABLE_NAMES } from './entityCodec';
import type { StorageTarget } from './storageAccount';
import type { TableAccessOptions } from './tableBatch';
import { TableBucketMap } from './bucketMapStore';
import { bucketOfId } from './bucketRows';

type StoredConflict = Omit<RecordedConflict, 'userId'>;

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isStoredConflict(value: unknown): value is StoredConflict {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (record.upn === null || typeof record.upn === 'string') && isStringArray(record.destinations) && isStringArray(record.sentTo)
    && Array.isArray(record.mappingIndexes) && record.mappingIndexes.every((item) => typeof item === 'number');
}

function stored(conflict: RecordedConflict): StoredConflict {
  return { upn: conflict.upn, destinations: conflict.destinations, mappingIndexes: conflict.mappingIndexes, sentTo: conflict.sentTo };
}

export class TableConflictStore implements ConflictStore {
  private readonly map: TableBucketMap<StoredConflict>;

  constructor(target: StorageTarget, options: TableAccessOptions = {}) {
    this.map = new TableBucketMap(target, TABLE_NAMES.conflicts, isStoredConflict, options);
  }

  initialize(): Promise<void> {
    return this.map.initialize();
  }

  async list(source: string): Promise<RecordedConflict[]> {
    const all = await this.map.all(source);
    return [...all].map(([userId, conflict]) => ({ userId, ...conflict })).sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
  }

  async replace(source: string, conflicts: readonly RecordedConflict[]): Promise<void> {
    await this.map.replace(source, new Map(conflicts.map((conflict) => [conflict.userId, stored(conflict)])));
  }

  async update(source: string, userIds: readonly string[], conflicts: readonly RecordedConflict[]): Promise<void> {
    const now = new Map(conflicts.map((conflict) => [conflict.userId, stored(conflict)]));
    const ids = new Set(userIds);
    await this.map.update(source, ids, (values, bucket) => {
      for (const id of ids) {
        if (bucketOfId(id) !== bucket) continue;
        const conflict = now.get(id);
        if (conflict !== undefined) values.set(id, conflict);
        else values.delete(id);
      }
    });
  }
}
