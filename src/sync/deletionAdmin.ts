/**
 * What an administrator does about held deletions, for both fronts (CLI `deletions`, the
 * deletionsAdmin HTTP function): list the holds with the objects they stage, and approve one hold
 * as it stands. An approval is audited before it is stored, and covers exactly the set the hold
 * named: a hold that grew since is held again (see deletionGate.ts).
 */
import type { AuditStore, DeletionApproval, DeletionHold, DeletionStateStore, LedgerStore, MirrorStore, UploadKind } from './ports';

import { isPendingDeletion } from './ledgerPolicy';

export interface DeletionAdminDependencies {
  deletions: DeletionStateStore;
  audit: AuditStore;
  ledger: LedgerStore;
  mirror: MirrorStore;
  now?: () => Date;
}

export interface StagedDeletion {
  id: string;
  /** UPN (users) or display name (groups) as the mirror last knew it; null when unknown. */
  name: string | null;
}

export interface HoldListing extends DeletionHold {
  /** The held objects, sorted by id, at most `stagedLimit`. */
  staged: StagedDeletion[];
  /** How many objects the ledger stages for this hold now (equals `held` until the next plan). */
  stagedTotal: number;
}

/** The objects a hold stages: pending deletions that left scope at or before its cutoff (read from the buckets that hold pending deletions). */
async function stagedIds(ledger: LedgerStore, hold: DeletionHold): Promise<string[]> {
  const cutoff = Date.parse(hold.leftScopeCutoff);
  const scope = { destination: hold.destination, source: hold.source, kind: hold.kind };
  const buckets = [...(await ledger.summaries(scope))].filter(([, summary]) => summary.pending > 0).map(([bucket]) => bucket);
  const read = await ledger.read(scope, buckets);
  const ids: string[] = [];
  for (const entries of read.buckets.values()) {
    for (const [id, entry] of entries) {
      if (isPendingDeletion(entry) && Date.parse(entry.l ?? '') <= cutoff) ids.push(id);
    }
  }
  return ids.sort();
}

async function names(mirror: MirrorStore, source: string, kind: UploadKind, ids: readonly string[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  if (kind === 'users') for (const [id, user] of await mirror.getUsers(source, ids)) out.set(id, user.userPrincipalName);
  else for (const [id, group] of await mirror.getGroups(source, ids)) out.set(id, group.displayName);
  return out;
}

/** Every current hold, sorted by destination, source and kind, with up to `stagedLimit` (default 1000) staged objects each. */
export async function listDeletionHolds(deps: DeletionAdminDependencies, options: { stagedLimit?: number } = {}): Promise<HoldListing[]> {
  const limit = options.stagedLimit ?? 1000;
  const holds = (await deps.deletions.listHolds()).sort((a, b) =>
    `${a.destination}|${a.source}|${a.kind}`.localeCompare(`${b.destination}|${b.source}|${b.kind}`));
  const listings: HoldListing[] = [];
  for (const hold of holds) {
    const ids = await stagedIds(deps.ledger, hold);
    const shown = ids.slice(0, limit);
    const known = await names(deps.mirror, hold.source, hold.kind, shown);
    listings.push({ ...hold, staged: shown.map((id) => ({ id, name: known.get(id) ?? null })), stagedTotal: ids.length });
  }
  return listings;
}

export interface ApprovalRequest {
  destination: string;
  source: string;
  kind: UploadKind;
  /** The hold id the administrator saw; when given and the hold has changed since, nothing is approved. */
  holdId?: string;
  approvedBy: string;
  /** The front: `cli` or `http`. */
  via: string;
}

export type ApprovalResult =
  | { status: 'approved'; approval: DeletionApproval; hold: DeletionHold }
  | { status: 'notFound'; message: string }
  | { status: 'changed'; message: string; hold: DeletionHold };

export async function approveDeletionHold(deps: DeletionAdminDependencies, request: ApprovalRequest): Promise<ApprovalResult> {
  const hold = await deps.deletions.getHold(request.destination, request.source, request.kind);
  const what = `${request.kind} of source ${request.source} at destination ${request.destination}`;
  if (hold === undefined) return { status: 'notFound', message: `no deletions of ${what} are held; list the holds with GET /api/deletions or \`s365-connector deletions list\`` };
  if (request.holdId !== undefined && request.holdId !== hold.holdId) {
    return {
      status: 'changed', hold,
      message: `the hold of ${what} is now ${hold.holdId} (${hold.held} objects), not ${request.holdId}: it changed since it was listed; list it again and approve what you see`,
    };
  }
  const approvedAt = (deps.now ?? (() => new Date()))().toISOString();
  // Audited first: an approval that was stored but not audited must never exist.
  await deps.audit.record({
    action: 'deletions.approve', actor: request.approvedBy, via: request.via, at: approvedAt,
    destination: hold.destination, source: hold.source, kind: hold.kind, holdId: hold.holdId, count: hold.held,
    destinationSize: hold.destinationSize, threshold: hold.threshold, reason: hold.reason,
  });
  const approval: DeletionApproval = {
    destination: hold.destination, source: hold.source, kind: hold.kind, holdId: hold.holdId,
    leftScopeCutoff: hold.leftScopeCutoff, count: hold.held, approvedBy: request.approvedBy, approvedAt,
  };
  await deps.deletions.putApproval(approval);
  return { status: 'approved', approval, hold };
}
