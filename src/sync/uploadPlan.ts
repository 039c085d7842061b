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
}

export interface DestinationPlan {
  rowsToWrite: UploadRow[];
  upserts: string[];
  deletes: string[];
  gate: DeletionGateResult;
  unchanged: number;
}

function emptyRow(id: string): UploadRow {
  return { id, desiredHash: null, desiredRecord: null, ackHash: null, leftScopeAt: null, deleteApproved: false, failures: 0, lastError: null };
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
  return { rowsToWrite, upserts: diff.upserts, deletes: gate.approved, gate, unchanged: diff.unchanged };
}
