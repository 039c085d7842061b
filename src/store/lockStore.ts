/**
 * Named, expiring leases in the Locks table, guarded by ETags: at most one holder at a time across
 * instances. Expiry is judged by each instance's clock, so ttlInMs should dwarf any clock skew.
 */
import type { TableClient } from '@azure/data-tables';
import type { AcquireOptions, HeldLock, LockStore } from '../sync/ports';
import type { StorageTarget } from './storageAccount';
import { COLUMN, SCHEMA_VERSION, TABLE_NAMES, assertKeyPart } from './entityCodec';
import { ensureTable, openTable, type TableAccessOptions } from './tableBatch';
import { LockLostError, statusOf, toStorageError } from './errors';

const LOCK_ROW_KEY = 'lock';
/** Creating, reading and taking over can each lose a race; a few rounds settle it. */
const MAX_ACQUIRE_ATTEMPTS = 3;

export interface LockStoreOptions extends TableAccessOptions {
  now?: () => Date;
}

interface LockRow {
  partitionKey: string;
  rowKey: string;
  v: number;
  holder: string;
  expiresAt: string;
}

export class TableLockStore implements LockStore {
  private readonly table: TableClient;
  private readonly now: () => Date;

  constructor(target: StorageTarget, options: LockStoreOptions = {}) {
    this.table = openTable(target, TABLE_NAMES.locks, options);
    this.now = options.now ?? (() => new Date());
  }

  async initialize(): Promise<void> {
    await ensureTable(this.table);
  }

  async tryAcquire(name: string, holder: string, ttlInMs: number, options: AcquireOptions = {}): Promise<HeldLock | undefined> {
    assertKeyPart(name, 'lock name');
    try {
      for (let attempt = 0; attempt < MAX_ACQUIRE_ATTEMPTS; attempt += 1) {
        const row = this.rowFor(name, holder, ttlInMs);
        try {
          const created = await this.table.createEntity(row);
          return this.held(name, holder, ttlInMs, created.etag);
        } catch (error) {
          if (statusOf(error) !== 409) throw error;
        }
        let current: { holder: unknown; expiresAt: unknown; etag: string };
        try {
          current = await this.table.getEntity<{ holder: unknown; expiresAt: unknown }>(name, LOCK_ROW_KEY);
        } catch (error) {
          if (statusOf(error) === 404) continue; // released between our create and read: try again
          throw error;
        }
        const expiresAt = typeof current.expiresAt === 'string' ? Date.parse(current.expiresAt) : Number.NaN;
        const expired = Number.isNaN(expiresAt) || expiresAt <= this.now().getTime();
        const gone = typeof current.holder === 'string' && options.holderIsGone?.(current.holder) === true;
        if (!expired && !gone && current.holder !== holder) return undefined;
        try {
          const taken = await this.table.updateEntity(row, 'Replace', { etag: current.etag });
          return this.held(name, holder, ttlInMs, taken.etag);
        } catch (error) {
          const status = statusOf(error);
          if (status === 412) return undefined; // another contender took it over first
          if (status === 404) continue;
          throw error;
        }
      }
      return undefined;
    } catch (error) {
      throw toStorageError(error, `acquire lock ${name}`);
    }
  }

  private rowFor(name: string, holder: string, ttlInMs: number): LockRow {
    return {
      partitionKey: name,
      rowKey: LOCK_ROW_KEY,
      [COLUMN.version]: SCHEMA_VERSION,
      holder,
      expiresAt: new Date(this.now().getTime() + ttlInMs).toISOString(),
    };
  }

  private held(name: string, holder: string, ttlInMs: number, etag: string | undefined): HeldLock {
    let currentEtag = etag ?? '';
    return {
      renew: async () => {
        try {
          const renewed = await this.table.updateEntity(this.rowFor(name, holder, ttlInMs), 'Replace', { etag: currentEtag });
          currentEtag = renewed.etag ?? '';
        } catch (error) {
          const status = statusOf(error);
          if (status === 412 || status === 404) throw new LockLostError(name, holder, { cause: error });
          throw toStorageError(error, `renew lock ${name}`);
        }
      },
      release: async () => {
        try {
          await this.table.deleteEntity(name, LOCK_ROW_KEY, { etag: currentEtag });
        } catch (error) {
          const status = statusOf(error);
          if (status === 412 || status === 404) return; // already released, expired and taken, or gone
          throw toStorageError(error, `release lock ${name}`);
        }
      },
    };
  }
}
