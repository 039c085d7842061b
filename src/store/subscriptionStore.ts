/**
 * The Subscriptions table: the Graph subscriptions the connector created (PartitionKey
 * `subscription`, RowKey the subscription id, with its clientState secret) and the manager's
 * conclusion per source and kind (PartitionKey `slot`, RowKey `<source>|<kind>`, no secret). A
 * deployment has at most two subscriptions per source, so whole partitions are read at once.
 */
import type { TableClient } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { StoredSubscription, SubscribedKind, SubscriptionSlot, SubscriptionStore } from '../realtime/ports';
import { SCHEMA_VERSION, TABLE_NAMES, assertKeyPart, assertSourceName } from './entityCodec';
import { statusOf, withStorageErrors } from './errors';
import type { StorageTarget } from './storageAccount';
import { ensureTable, getRowOrUndefined, openTable, queryPages, type Row, type TableAccessOptions } from './tableBatch';

const SUBSCRIPTIONS = 'subscription';
/** With the u flag a surrogate pair is one code point, so only unpaired halves match. */
const LONE_SURROGATE = /[\ud800-\udfff]/u;
const SLOTS = 'slot';

function text(row: Row, key: string): string | null {
  const value = row[key];
  return typeof value === 'string' && value !== '' ? value : null;
}

function kindOf(value: unknown): SubscribedKind | undefined {
  return value === 'users' || value === 'groups' ? value : undefined;
}

function toSubscription(row: Row): StoredSubscription | undefined {
  const kind = kindOf(row.kind);
  const source = text(row, 'source');
  const clientState = text(row, 'clientState');
  const expiresAt = text(row, 'expiresAt');
  if (kind === undefined || source === null || clientState === null || expiresAt === null) return undefined;
  return {
    id: row.rowKey ?? '', source, kind, clientState, expiresAt,
    endpointFingerprint: text(row, 'endpointFingerprint') ?? '',
    createdAt: text(row, 'createdAt') ?? '',
  };
}

function toSlot(row: Row): SubscriptionSlot | undefined {
  const kind = kindOf(row.kind);
  const source = text(row, 'source');
  const state = row.state;
  if (kind === undefined || source === null || (state !== 'active' && state !== 'skipped' && state !== 'failed' && state !== 'off')) return undefined;
  return {
    source, kind, state,
    detail: text(row, 'detail') ?? '',
    subscriptionId: text(row, 'subscriptionId'),
    expiresAt: text(row, 'expiresAt'),
    failures: typeof row.failures === 'number' ? row.failures : 0,
    nextAttemptAt: text(row, 'nextAttemptAt'),
    updatedAt: text(row, 'updatedAt') ?? '',
  };
}

export class TableSubscriptionStore implements SubscriptionStore {
  private readonly table: TableClient;

  constructor(target: StorageTarget, options: TableAccessOptions = {}) {
    this.table = openTable(target, TABLE_NAMES.subscriptions, options);
  }

  async initialize(): Promise<void> {
    await ensureTable(this.table);
  }

  async listSubscriptions(): Promise<StoredSubscription[]> {
    return withStorageErrors('list subscriptions', async () => (await this.partition(SUBSCRIPTIONS)).flatMap((row) => toSubscription(row) ?? []));
  }

  async findSubscription(id: string): Promise<StoredSubscription | undefined> {
    // Ids come from request bodies: anything a key cannot hold cannot be ours. A lone surrogate
    // (valid JSON, "\ud800") passes the key check but cannot be put in a URL: the SDK throws.
    if (LONE_SURROGATE.test(id)) return undefined;
    try {
      assertKeyPart(id, 'subscription id');
    } catch {
      return undefined;
    }
    return withStorageErrors('read subscription', async () => {
      const row = await getRowOrUndefined(this.table, SUBSCRIPTIONS, id);
      return row === undefined ? undefined : toSubscription(row);
    });
  }

  async putSubscription(subscription: StoredSubscription): Promise<void> {
    assertKeyPart(subscription.id, 'subscription id');
    assertSourceName(subscription.source);
    await withStorageErrors('put subscription', async () => {
      await this.table.upsertEntity({
        partitionKey: SUBSCRIPTIONS, rowKey: subscription.id, v: SCHEMA_VERSION,
        source: subscription.source, kind: subscription.kind, clientState: subscription.clientState,
        expiresAt: subscription.expiresAt, endpointFingerprint: subscription.endpointFingerprint, createdAt: subscription.createdAt,
      }, 'Replace');
    });
  }

  async deleteSubscription(id: string): Promise<void> {
    await this.deleteRow(SUBSCRIPTIONS, id, 'delete subscription');
  }

  async listSlots(): Promise<SubscriptionSlot[]> {
    return withStorageErrors('list subscription slots', async () => (await this.partition(SLOTS)).flatMap((row) => toSlot(row) ?? []));
  }

  async putSlot(slot: SubscriptionSlot): Promise<void> {
    assertSourceName(slot.source);
    await withStorageErrors('put subscription slot', async () => {
      await this.table.upsertEntity({
        partitionKey: SLOTS, rowKey: `${slot.source}|${slot.kind}`, v: SCHEMA_VERSION,
        source: slot.source, kind: slot.kind, state: slot.state, detail: slot.detail,
        subscriptionId: slot.subscriptionId ?? '', expiresAt: slot.expiresAt ?? '', failures: slot.failures,
        nextAttemptAt: slot.nextAttemptAt ?? '', updatedAt: slot.updatedAt,
      }, 'Replace');
    });
  }

  async deleteSlot(source: string, kind: SubscribedKind): Promise<void> {
    assertSourceName(source);
    await this.deleteRow(SLOTS, `${source}|${kind}`, 'delete subscription slot');
  }

  private async partition(partitionKey: string): Promise<Row[]> {
    const rows: Row[] = [];
    for await (const page of queryPages(this.table, odata`PartitionKey eq ${partitionKey}`)) rows.push(...page);
    return rows;
  }

  private async deleteRow(partitionKey: string, rowKey: string, operation: string): Promise<void> {
    await withStorageErrors(operation, async () => {
      try {
        await this.table.deleteEntity(partitionKey, rowKey);
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
    });
  }
}
