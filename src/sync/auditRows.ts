/**
 * The audit trail's rows, pure: what one decision or one destination answer says about one object
 * at one destination. Names and ids only: field names, never a value (the reason of a refused item
 * is the destination's own per-item error, as the ledger keeps it).
 *
 * What is recorded (docs/storage.md, "Audit trail", says the same for operators):
 * - the upload side, once the ledger holds the outcome: `create` (the destination held nothing
 *   acknowledged), `update` (naming the fields that differ from the record acknowledged before, by
 *   the fingerprints kept on the ledger entry), `delete`, `failed` (the per-item error), and `skip`
 *   for work not sent because the destination is in quarantine or asked for time (throttling);
 * - the plan, once its ledger patches are written: `staged delete` when an object the destination
 *   holds leaves scope and waits out the grace period (once, when it leaves), `skip` when a due
 *   deletion is first held by the deletion gate, when an object that was wanted but never
 *   acknowledged leaves scope (filters, exclusions, groups, options), when work owed to a
 *   destination in quarantine is not sent (it comes due when the quarantine ends, so once per
 *   quarantine), and for the destination a user in several mappings is not sent to under
 *   Options.OnConflict (see conflictSkipRows).
 * Not recorded: objects a plan looks at and leaves as they are (acknowledged and unchanged, or in
 * flight), a held deletion's hourly re-check, and plans under --dry-run.
 */
import { changedFieldNames } from './fieldFingerprints';
import type { ItemOutcome } from './ledgerPolicy';
import type { LedgerEntry, LedgerScope, ObjectAuditRow, RecordedConflict } from './ports';
import type { JsonValue } from './payloadHash';

/** A record as sent (a User or Group record parsed from its JSON). */
export type SentRecord = { readonly [key: string]: JsonValue | undefined };

export interface AuditContext {
  runId: string;
  at: Date;
  scope: LedgerScope;
}

function row(context: AuditContext, objectId: string, action: ObjectAuditRow['action'], reason: string, fields: string[] = []): ObjectAuditRow {
  const { destination, source, kind } = context.scope;
  return { runId: context.runId, at: context.at.toISOString(), destination, source, kind, objectId, action, reason, fields };
}

/** The record of an item as the upload side holds it (JSON text), or undefined when it is not an object. */
export function parseSentRecord(json: string | undefined): SentRecord | undefined {
  if (json === undefined) return undefined;
  try {
    const value = JSON.parse(json) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as SentRecord : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The row for one item's outcome. `before` is the ledger entry as it was when the outcome was
 * written (before this outcome's patch); `record` the record sent (upserts); `deferredBecause` why
 * a deferred item was not sent.
 */
export function outcomeAuditRow(
  context: AuditContext,
  before: LedgerEntry | undefined,
  item: { id: string; op: 'upsert' | 'delete' },
  outcome: ItemOutcome,
  record: SentRecord | undefined,
  deferredBecause = 'the destination is not taking requests',
): ObjectAuditRow {
  const retried = (before?.f ?? 0) > 0 ? ` (after ${before?.f ?? 0} failed attempts)` : '';
  switch (outcome.kind) {
    case 'acknowledged': {
      if (item.op === 'delete') {
        return row(context, item.id, 'delete', before?.l !== undefined ? `left scope at ${before.l}${retried}` : `no longer in scope${retried}`);
      }
      if (before?.a === undefined) return row(context, item.id, 'create', `new at the destination${retried}`);
      const changed = record === undefined ? null : changedFieldNames(before.fp, record);
      if (changed === null) return row(context, item.id, 'update', `changed; fields unknown (no fingerprint of the record acknowledged before)${retried}`);
      if (changed.length === 0) return row(context, item.id, 'update', `sent again; no field differs from the record acknowledged before${retried}`);
      return row(context, item.id, 'update', `changed${retried}`, changed);
    }
    case 'failed':
      return row(context, item.id, 'failed', `${item.op === 'delete' ? 'delete' : 'upsert'} refused: ${outcome.error}`);
    case 'deferred':
      return row(context, item.id, 'skip', `not sent: ${deferredBecause}; tried again after ${outcome.until}`);
  }
}

/**
 * Skips for users in several mappings that Options.OnConflict sends to fewer destinations than
 * hold them: one row per destination left out. `previous` (the conflicts recorded before a
 * whole-source plan) leaves out what was already so: a whole-source plan looks at everyone, and
 * only a conflict that is new or changed is a decision worth a row. A change-driven plan passes
 * none: it looked at these users because something about them changed.
 */
export function conflictSkipRows(
  runId: string,
  at: Date,
  source: string,
  conflicts: readonly RecordedConflict[],
  previous?: readonly RecordedConflict[],
): ObjectAuditRow[] {
  const before = new Map((previous ?? []).map((conflict) => [conflict.userId, `${conflict.destinations.join(',')}>${conflict.sentTo.join(',')}`]));
  const rows: ObjectAuditRow[] = [];
  for (const conflict of conflicts) {
    if (before.get(conflict.userId) === `${conflict.destinations.join(',')}>${conflict.sentTo.join(',')}`) continue;
    for (const destination of conflict.destinations) {
      if (conflict.sentTo.includes(destination)) continue;
      rows.push(row({ runId, at, scope: { destination, source, kind: 'users' } }, conflict.userId, 'skip',
        `OnConflict FirstMapping: in scope of ${conflict.mappingIndexes.map((index) => `Mappings[${index}]`).join(', ')}; sent to ${conflict.sentTo.join(', ') || 'none'}`));
    }
  }
  return rows;
}

/** A plan's rows for one destination and kind (see the header); pure, from what decideScope saw. */
export const planRow = row;
