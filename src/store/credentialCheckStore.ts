/**
 * The last reading of each source's credential end date (a client secret's is read through Graph,
 * at most every few hours), so `status` and the status page show it without signing in. Kept in
 * Table `Health` next to the destinations' health: PartitionKey `credential`, RowKey = source.
 */
import type { TableClient } from '@azure/data-tables';
import type { CredentialExpiry } from '../graph/credentialExpiry';
import type { CredentialCheck, CredentialCheckStore } from '../sync/ports';
import { statusOf, toStorageError, withStorageErrors } from './errors';
import type { StorageTarget } from './storageAccount';
import { ensureTable, openTable, type TableAccessOptions } from './tableBatch';

const PARTITION = 'credential';
const LEVELS: ReadonlySet<string> = new Set(['ok', 'expiring', 'urgent', 'expired', 'unknown']);
const KINDS: ReadonlySet<string> = new Set(['clientSecret', 'certificate', 'managedIdentity']);

export class TableCredentialCheckStore implements CredentialCheckStore {
  private readonly table: TableClient;

  constructor(target: StorageTarget, options: TableAccessOptions = {}) {
    this.table = openTable(target, 'Health', options);
  }

  async initialize(): Promise<void> {
    await ensureTable(this.table);
  }

  async get(source: string): Promise<CredentialCheck | undefined> {
    try {
      const row = await this.table.getEntity<Record<string, unknown>>(PARTITION, source);
      const text = (key: string): string | null => { const value = row[key]; return typeof value === 'string' ? value : null; };
      const level = text('level');
      const kind = text('kind');
      const checkedAt = text('checkedAt');
      if (level === null || !LEVELS.has(level) || kind === null || !KINDS.has(kind) || checkedAt === null) return undefined;
      const expiry: CredentialExpiry = {
        kind: kind as CredentialExpiry['kind'], level: level as CredentialExpiry['level'], expiresAt: text('expiresAt'),
        daysLeft: typeof row.daysLeft === 'number' ? row.daysLeft : null, detail: text('detail') ?? '',
      };
      return { source, checkedAt, expiry };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw toStorageError(error, 'read credential check');
    }
  }

  async put(check: CredentialCheck): Promise<void> {
    await withStorageErrors('write credential check', () =>
      this.table.upsertEntity({ partitionKey: PARTITION, rowKey: check.source, v: 1, checkedAt: check.checkedAt, ...check.expiry }, 'Replace'),
    );
  }
}
