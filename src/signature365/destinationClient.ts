/**
 * What the sync engine asks of a Signature 365 destination. The engine speaks in contract records
 * (Signature365User / Signature365Group) and item results; how they travel (paths, batching,
 * retries, status codes) stays inside src/signature365, so the vendor's real API can replace the
 * HTTP implementation without touching the engine.
 */
import type { DestinationClient as EngineDestinationClient, DestinationItemResult } from '../sync/ports';
import type { Signature365Group, Signature365User } from './contract';

export interface DestinationBatch<TRecord> {
  upserts: readonly TRecord[];
  /** Entra object ids to remove. */
  deletes: readonly string[];
}

export interface SendOptions {
  abortSignal?: AbortSignal;
}

/**
 * The outcome of one item (the engine's DestinationItemResult). `ok` is true for 200, and for a
 * delete answered 404 (already gone). `status` is the per-item status the destination gave, or
 * 413 when the item alone was too large for any batch.
 */
export type ItemResult = DestinationItemResult;

export interface ConnectionInfo {
  /** The Signature 365 tenant's name, as the destination reports it. */
  tenant: string;
  tenantId: string;
}

/** The engine's port (src/sync/ports.ts), plus what the fronts need: connection test, listing, abort. */
export interface DestinationClient extends EngineDestinationClient {
  /** The destination's name in config (Signature365.<Name>). */
  readonly destination: string;
  /** Checks the token. Throws DestinationAuthError for a bad token. */
  testConnection(options?: SendOptions): Promise<ConnectionInfo>;
  /**
   * Upserts and deletes any number of users for one source (Entra tenant id). Batches on its own.
   * Returns one result per input item, upserts first then deletes, each in input order. Items the
   * destination rejects come back with ok: false; the call throws only when the destination
   * cannot be used (DestinationAuthError, DestinationRequestError, DestinationUnavailableError).
   */
  sendUsers(source: string, batch: DestinationBatch<Signature365User>, options?: SendOptions): Promise<ItemResult[]>;
  sendGroups(source: string, batch: DestinationBatch<Signature365Group>, options?: SendOptions): Promise<ItemResult[]>;
  /** Pages of the users the destination holds for a source (reconcile, tests). */
  listUsers(source: string, options?: SendOptions): AsyncIterable<Signature365User[]>;
  listGroups(source: string, options?: SendOptions): AsyncIterable<Signature365Group[]>;
}
