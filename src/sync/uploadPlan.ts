/**
 * Compares what a destination should hold (records built from the mirror) with the upload
 * ledger, and says which rows change and which objects need sending. Pure.
 *
 * - upserts: desired objects whose record hash differs from the one the destination acknowledged
 *   (new, changed, or failed last time).
 * - deletion candidates: objects the destination holds (ackHash set) that are no longer desired;
 *   the deletion gate decides which of them go now.
 * - rowsToWrite: ledger rows whose desired state changed; an unchanged directory writes nothing.
 *   Under dry run they are worked out all the same; the planner just does not write them.
 */
import type { UploadRow } from './ports';
import { decideDeletions, type DeletionGateInput, type DeletionGateResult } from './deletionGate';
import { diffDestination } from './diff';

export interface DesiredRecord {
  hash: string;
  record: string;
}

/** The deletion gate's inputs the ledger cannot tell: the options, the 24-hour history, an approval, dry run, planner holds. */
export type DeletionPolicy = Omit<DeletionGateInput, 'candidates' | 'now' | 'deleteAfterDays' | 'destinationSize'>;

export interface DestinationPlanInput {
  desired: ReadonlyMap<string, DesiredRecord>;
  ledger: ReadonlyMap<string, UploadRow>;
  now: Date;
  deleteAfterDays: number;
  deletionPolicy: DeletionPolicy;
  /**
   * Whether the planner will dispatch now (false in a dry run or while the destination is in
   * quarantine). Only work actually dispatched is marked as such.
   */
  dispatching?: boolean;
  /** Work dispatched less than this long ago, for the same record, is not queued again. Default 30 minutes. */
  redispatchAfterInMs?: number;
}

export interface DestinationPlan {
  rowsToWrite: UploadRow[];
  /** Owed upserts and approved deletes (everything the destination still needs). */
  upserts: string[];
  deletes: string[];
  /** The part of upserts + deletes to queue now: owed and not dispatched recently. */
  dispatch: string[];
  /** Owed, but already dispatched recently: in a queue or being processed. */
  inFlight: number;
  gate: DeletionGateResult;
  unchanged: number;
}

function emptyRow(id: string): UploadRow {
  return { id, desiredHash: null, desiredRecord: null, ackHash: null, leftScopeAt: null, deleteApproved: false, failures: 0, lastError: null, dispatched: null };
}

export const DEFAULT_REDISPATCH_AFTER_IN_MS = 30 * 60_000;

function recentlyDispatched(row: UploadRow | undefined, what: string, now: Date, windowInMs: number): boolean {
  if (row?.dispatched == null || row.dispatched.what !== what) return false;
  const at = Date.parse(row.dispatched.at);
  return Number.isFinite(at) && now.getTime() - at < windowInMs;
}

export function planDestination(input: DestinationPlanInput): DestinationPlan {
  const desiredHashes = new Map<string, string>();
  for (const [id, desired] of input.desired) desiredHashes.set(id, desired.hash);
  const acknowledged = new Map<string, string>();
  for (const [id, row] of input.ledger) if (row.ackHash !== null) acknowledged.set(id, row.ackHash);
  const diff = diffDestination(desiredHashes, acknowledged);

  const rowsToWrite: UploadRow[] = [];
  for (const [id, desired] of input.desired) {
    const row = input.ledger.get(id) ?? emptyRow(id);
    if (row.desiredHash !== desired.hash || row.leftScopeAt !== null || row.deleteApproved) {
      rowsToWrite.push({ ...row, desiredHash: desired.hash, desiredRecord: desired.record, leftScopeAt: null, deleteApproved: false });
    }
  }
  // Rows that never reached the destination and are no longer wanted: just forget the wish.
  for (const [id, row] of input.ledger) {
    if (!input.desired.has(id) && row.ackHash === null && row.desiredHash !== null) {
      rowsToWrite.push({ ...row, desiredHash: null, desiredRecord: null, deleteApproved: false });
    }
  }

  const nowIso = input.now.toISOString();
  const candidates = diff.deletes.map((id) => ({ id, leftScopeAt: input.ledger.get(id)?.leftScopeAt ?? nowIso }));
  // What the destination holds for this source and kind, by its own acknowledgements.
  const destinationSize = acknowledged.size;
  const gate = decideDeletions({ ...input.deletionPolicy, candidates, now: input.now, deleteAfterDays: input.deleteAfterDays, destinationSize });
  const approved = new Set(gate.approved);
  for (const { id, leftScopeAt } of candidates) {
    const before = input.ledger.get(id) ?? emptyRow(id);
    const deleteApproved = approved.has(id);
    if (before.desiredHash !== null || before.leftScopeAt !== leftScopeAt || before.deleteApproved !== deleteApproved) {
      rowsToWrite.push({ ...before, desiredHash: null, desiredRecord: null, leftScopeAt, deleteApproved });
    }
  }

  // Dispatch: owed work not queued recently. The marker joins whatever else changed on the row.
  const written = new Map<string, UploadRow>();
  for (const row of rowsToWrite) written.set(row.id, row);
  const dispatch: string[] = [];
  let inFlight = 0;
  const windowInMs = input.redispatchAfterInMs ?? DEFAULT_REDISPATCH_AFTER_IN_MS;
  const owed: [string, string][] = [
    ...diff.upserts.map((id): [string, string] => [id, desiredHashes.get(id) ?? '']),
    ...gate.approved.map((id): [string, string] => [id, 'delete']),
  ];
  for (const [id, what] of owed) {
    const current = written.get(id) ?? input.ledger.get(id);
    if (recentlyDispatched(current, what, input.now, windowInMs)) {
      inFlight += 1;
      continue;
    }
    dispatch.push(id);
    if (input.dispatching !== false) written.set(id, { ...(current ?? emptyRow(id)), dispatched: { what, at: nowIso } });
  }
  return { rowsToWrite: [...written.values()], upserts: diff.upserts, deletes: gate.approved, dispatch, inFlight, gate, unchanged: diff.unchanged };
}
