/**
 * Named, expiring leases in the Locks table, guarded by ETags: at most one holder at a time across
 * instances. Expiry is judged by each instance's clock, so ttlInMs should dwarf any clock skew.
 *
 * Each holder gets a fencing token (`fence`), larger than every earlier holder's: the previous
 * token + 1, or the acquiring instance's clock in ms when that is larger (so a row deleted by hand
 * or by an older version still yields a token above the old ones). Release expires the row rather
 * than deleting it, so the token carries on to the next holder.
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
  fence: number;
}

/** The token of the next holder after one holding `previous` (NaN: none readable). */
function nextFence(previous: number, now: Date): number {
  return Math.max(Number.isFinite(previous) ? previous + 1 : 0, now.getTime());
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
        let current: { holder: unknown; expiresAt: unknown; fence: unknown; etag: string } | undefined;
        try {
          current = await this.table.getEntity<{ holder: unknown; expiresAt: unknown; fence: unknown }>(name, LOCK_ROW_KEY);
        } catch (error) {
          if (statusOf(error) !== 404) throw error;
        }
        if (current === undefined) {
          const row = this.rowFor(name, holder, ttlInMs, nextFence(Number.NaN, this.now()));
          try {
            const created = await this.table.createEntity(row);
            return this.held(row, ttlInMs, created.etag);
          } catch (error) {
            if (statusOf(error) === 409) continue; // another contender created it first: look again
            throw error;
          }
        }
        const expiresAt = typeof current.expiresAt === 'string' ? Date.parse(current.expiresAt) : Number.NaN;
        const expired = Number.isNaN(expiresAt) || expiresAt <= this.now().getTime();
        const gone = typeof current.holder === 'string' && options.holderIsGone?.(current.holder) === true;
        if (!expired && !gone && current.holder !== holder) return undefined;
        const row = this.rowFor(name, holder, ttlInMs, nextFence(typeof current.fence === 'number' ? current.fence : Number.NaN, this.now()));
        try {
          const taken = await this.table.updateEntity(row, 'Replace', { etag: current.etag });
          return this.held(row, ttlInMs, taken.etag);
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

  private rowFor(name: string, holder: string, ttlInMs: number, fence: number, expiresAt?: Date): LockRow {
    return {
      partitionKey: name,
      rowKey: LOCK_ROW_KEY,
      [COLUMN.version]: SCHEMA_VERSION,
      holder,
      expiresAt: (expiresAt ?? new Date(this.now().getTime() + ttlInMs)).toISOString(),
      fence,
    };
  }

  private held(row: LockRow, ttlInMs: number, etag: string | undefined): HeldLock {
    const { partitionKey: name, holder, fence } = row;
    let currentEtag = etag ?? '';
    let renewing: Promise<void> | undefined;
    const renewOnce = async (): Promise<void> => {
      try {
        const renewed = await this.table.updateEntity(this.rowFor(name, holder, ttlInMs, fence), 'Replace', { etag: currentEtag });
        currentEtag = renewed.etag ?? '';
      } catch (error) {
        const status = statusOf(error);
        if (status === 412 || status === 404) throw new LockLostError(name, holder, { cause: error });
        throw toStorageError(error, `renew lock ${name}`);
      }
    };
    return {
      name, holder, fence,
      // One renewal at a time: two at once would send the same ETag and the second would read as a takeover.
      renew: () => {
        renewing ??= renewOnce().finally(() => { renewing = undefined; });
        return renewing;
      },
      release: async () => {
        await renewing?.catch(() => undefined);
        try {
          // Expired, not deleted: the row keeps the fencing token for the next holder.
          await this.table.updateEntity(this.rowFor(name, holder, ttlInMs, fence, new Date(0)), 'Replace', { etag: currentEtag });
        } catch (error) {
          const status = statusOf(error);
          if (status === 412 || status === 404) return; // already released, expired and taken, or gone
          throw toStorageError(error, `release lock ${name}`);
        }
      },
    };
  }
}
