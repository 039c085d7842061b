/**
 * What one destination holds of one user and what the connector still means to do about it: the
 * second half of `explain`. Pure: given the record the plan would send (or none), the user's ledger
 * entry, the destination's health and the current deletion hold, it answers with the same rules the
 * planner and the deletion gate use (objectPlan.ts `decideObject`, ledgerPolicy.ts).
 *
 * What the destination acknowledged is known by hash (`a`), time (`t`) and field fingerprints
 * (`fp`) only: no value of an acknowledged record is kept anywhere. So a difference is told by
 * field name, and the values shown are those the destination will receive.
 */
import { changedFieldNames } from './fieldFingerprints';
import { graceEndsAt, REQUEUE_AFTER_IN_MS } from './ledgerPolicy';
import { decideObject } from './objectPlan';
import type { Signature365User } from './payload';
import type { JsonValue } from './payloadHash';
import type { DeletionHold, DestinationHealth, LedgerEntry, QuarantineReason } from './ports';
import { isQuarantined } from './quarantine';

export interface WouldSend {
  record: Signature365User;
  /** The ledger's hash of the record (payload.ts userRecordHash), as the plan works it out. */
  hash: string;
  baseHash: string;
}

/** What the next plan does about the user at this destination. */
export type NextStep =
  | 'nothing' // acknowledged as it is, or not there and not wanted
  | 'send' // owed and not in flight: the next plan sends it
  | 'wait' // owed, but queued less than 30 minutes ago or backing off after a failure
  | 'deleteAfterGrace' // left scope: deleted when the grace period ends (and the gate lets it)
  | 'forget'; // wanted once, never acknowledged, no longer wanted

export interface DestinationExplanation {
  destination: string;
  destinationName?: string;
  /** True when the scope sends the user here (placeUser). */
  wanted: boolean;
  /** Mappings (indexes) that send the user here. */
  byMappings: number[];
  /** The exact record the destination would receive, manager and groups included; null when not wanted. */
  wouldSend: Signature365User | null;
  wouldSendHash: string | null;
  /** What the destination last acknowledged; null when it holds nothing of this user (as far as the ledger knows). */
  acknowledged: { hash: string; at: string | null; atText: string } | null;
  /** True when the record to send equals the acknowledged one (same hash); null when either is absent. */
  upToDate: boolean | null;
  /**
   * The fields of the record to send that differ from the acknowledged record, with the values
   * they will be sent with. `names` null: cannot be told (no fingerprint kept for the acknowledged
   * record: it was acknowledged before fingerprints were kept).
   */
  difference: { names: string[] | null; willSend: Record<string, JsonValue>; note: string } | null;
  next: NextStep;
  pending: {
    failure?: { failures: number; lastError: string | null; nextAttemptAt: string | null };
    queued?: { at: string; ofCurrentRecord: boolean; requeuedAfter: string };
    deletion?: { leftScopeAt: string; graceEndsAt: string; graceOver: boolean; held: { holdId: string; reason: string; since: string } | null; recheckAt: string | null };
    quarantine?: { reason: QuarantineReason | null; until: string | null; lastError: string | null };
  };
}

export interface DestinationFacts {
  destination: string;
  destinationName?: string;
  byMappings: number[];
  wouldSend: WouldSend | null;
  entry: LedgerEntry | undefined;
  health: DestinationHealth | undefined;
  /** The users hold of this destination and source, if any. */
  hold: DeletionHold | undefined;
  deleteAfterDays: number;
  now: Date;
}

const ACK_NOTE = 'values of what the destination acknowledged are not kept anywhere (only a hash and per-field fingerprints); the values shown are those it will receive';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function explainDestination(facts: DestinationFacts): DestinationExplanation {
  const { entry, wouldSend, now } = facts;
  const decision = decideObject(wouldSend === null ? undefined : { hash: wouldSend.hash, baseHash: wouldSend.baseHash }, entry, now);
  const next: NextStep = decision.send ? 'send'
    : decision.waiting ? 'wait'
      : decision.deletionCandidate !== undefined ? 'deleteAfterGrace'
        : wouldSend === null && entry !== undefined && entry.a === undefined ? 'forget' : 'nothing';

  const acknowledged = entry?.a === undefined ? null : { hash: entry.a, at: entry.t ?? null, atText: entry.t ?? 'time unknown' };
  const upToDate = acknowledged === null || wouldSend === null ? null : acknowledged.hash === wouldSend.hash;
  let difference: DestinationExplanation['difference'] = null;
  if (wouldSend !== null && upToDate !== true) {
    const record = wouldSend.record as unknown as { readonly [key: string]: JsonValue };
    const names = acknowledged === null ? Object.keys(record) : changedFieldNames(entry?.fp, record);
    const shown = names ?? Object.keys(record);
    difference = {
      names,
      willSend: Object.fromEntries(shown.map((name) => [name, record[name] ?? null])),
      note: acknowledged === null
        ? 'the destination holds nothing of this user yet: the whole record will be sent'
        : names === null
          ? `which fields differ cannot be told (no field fingerprint kept for the acknowledged record); ${ACK_NOTE}`
          : ACK_NOTE,
    };
  }

  const pending: DestinationExplanation['pending'] = {};
  if (entry !== undefined && (entry.f ?? 0) > 0) pending.failure = { failures: entry.f ?? 0, lastError: entry.e ?? null, nextAttemptAt: entry.r ?? null };
  if (entry?.q !== undefined) {
    const queuedAt = Date.parse(entry.q);
    pending.queued = {
      at: entry.q, ofCurrentRecord: wouldSend !== null && entry.qh === wouldSend.hash,
      requeuedAfter: Number.isFinite(queuedAt) ? iso(queuedAt + REQUEUE_AFTER_IN_MS) : entry.q,
    };
  }
  const graceEnd = entry === undefined ? null : graceEndsAt(entry, facts.deleteAfterDays);
  if (entry !== undefined && graceEnd !== null && entry.l !== undefined) {
    const graceOver = graceEnd <= now.getTime();
    // The gate holds every due deletion that left scope at or before the hold's cutoff (deletionGate.ts).
    const held = facts.hold !== undefined && graceOver && Date.parse(entry.l) <= Date.parse(facts.hold.leftScopeCutoff)
      ? { holdId: facts.hold.holdId, reason: facts.hold.reason, since: facts.hold.heldSince }
      : null;
    pending.deletion = { leftScopeAt: entry.l, graceEndsAt: iso(graceEnd), graceOver, held, recheckAt: entry.h ?? null };
  }
  if (isQuarantined(facts.health, now)) {
    pending.quarantine = { reason: facts.health?.reason ?? null, until: facts.health?.retryAfter ?? null, lastError: facts.health?.lastError ?? null };
  }

  return {
    destination: facts.destination,
    ...(facts.destinationName === undefined ? {} : { destinationName: facts.destinationName }),
    wanted: wouldSend !== null, byMappings: facts.byMappings,
    wouldSend: wouldSend?.record ?? null, wouldSendHash: wouldSend?.hash ?? null,
    acknowledged, upToDate, difference, next, pending,
  };
}
