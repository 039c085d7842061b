/**
 * What the CLI prints for people at the end of a run: a summary (progress while it runs: syncProgressView.ts).
 * Plain text, no secrets (the summary holds counts and names only).
 */
import { destinationDisplayName, sourceDisplayName } from '../config/names';
import type { ConnectorConfig } from '../config/types';
import type { SyncRunSummary } from '../sync/runSync';
import { differencesOf, type SourceReconcileSummary } from '../sync/destinationReconcile';
import type { KindPlanSummary, ScopeConflict } from '../sync/planSource';
import type { ExecutionSummary } from '../sync/uploadWork';

function names(list: readonly string[], total: number): string {
  return `${list.join(', ')}${total > list.length ? `, … ${total - list.length} more` : ''}`;
}

/** The gate's verdict for one kind: a HELD line with the command that approves it; under dry run, the first names of each list. */
function formatGate(label: 'users' | 'groups', kind: KindPlanSummary, destination: string, dryRun: boolean): string[] {
  const lines: string[] = [];
  if (dryRun) {
    if (kind.upserts > 0) lines.push(`    ${label} to send: ${names(kind.sample.upserts, kind.upserts)}`);
    if (kind.deletes > 0) lines.push(`    ${label} to delete: ${names(kind.sample.deletes, kind.deletes)}`);
  }
  if (kind.heldDeletes > 0) {
    const threshold = kind.threshold === null ? 'threshold off' : `threshold ${kind.threshold}`;
    const prefix = dryRun ? 'deletions WOULD BE HELD' : 'deletions HELD';
    lines.push(
      `    ${label}: ${prefix}: ${kind.heldDeletes} of ${kind.destinationSize} (${threshold})` +
        `${dryRun ? '' : `; approve with: s365-connector deletions approve --destination ${destination}`}`,
      `      why: ${kind.gateReason ?? ''}`,
    );
    if (dryRun) lines.push(`      held: ${names(kind.sample.held, kind.heldDeletes)}`);
  } else if (kind.gate === 'error') {
    lines.push(`    ${label}: deletions STOPPED: ${kind.gateReason ?? ''}`);
  }
  return lines;
}

/**
 * The run summary for a terminal. With `names` (the config), sources and destinations are shown by
 * the names as written ("Contoso Ltd") rather than their storage keys.
 */
export function formatSyncSummary(
  summary: SyncRunSummary, uploads?: ExecutionSummary, requests?: { graph: number }, names?: Pick<ConnectorConfig, 'sources' | 'destinations'>,
): string {
  const src = (key: string): string => (names === undefined ? key : sourceDisplayName(names, key));
  const dst = (key: string): string => (names === undefined ? key : destinationDisplayName(names, key));
  const lines: string[] = [];
  lines.push(`Sync run ${summary.runId} finished in ${summary.seconds.toFixed(1)} s`);
  for (const pull of summary.pulls) {
    const statusText = {
      completed: 'completed',
      partial: 'paused between pages; the next run resumes the round',
      locked: 'SKIPPED: another sync holds this source (its lock is released when that run ends, or within 5 minutes of it stopping)',
    }[pull.status];
    lines.push(`  Source ${src(pull.source)}: ${statusText}`);
    for (const [label, kind] of [['users', pull.users], ['groups', pull.groups]] as const) {
      if (kind === undefined) continue;
      const extra = [
        kind.resumed ? 'resumed' : '',
        kind.restartedAfterExpiry ? 'restarted after an expired delta token' : '',
        label === 'groups' ? `${kind.edgesAdded} memberships added, ${kind.edgesRemoved} removed` : '',
      ].filter(Boolean).join('; ');
      lines.push(
        `    ${label.padEnd(6)} ${kind.roundKind.padEnd(11)} ${String(kind.pages).padStart(5)} pages: ` +
          `${kind.added} added, ${kind.changed} changed, ${kind.removed + kind.swept} removed, ${kind.unchanged} unchanged${extra ? ` (${extra})` : ''}`,
      );
    }
  }
  if (requests !== undefined) lines.push(`  Graph requests: ${requests.graph}`);
  for (const reconcile of summary.reconciles) lines.push(...formatReconcile(reconcile, src, dst));
  for (const plan of summary.plans) {
    if (plan.mode === 'whole') lines.push(`  ${src(plan.source)}: planned the whole source (${plan.reason ?? 'asked for'}): ${plan.evaluated.users} users, ${plan.evaluated.groups} groups`);
    else if (plan.mode === 'changes') lines.push(`  ${src(plan.source)}: planned what changed or came due: ${plan.evaluated.users} users, ${plan.evaluated.groups} groups`);
    else lines.push(`  ${src(plan.source)}: nothing changed and nothing was due`);
    for (const destination of plan.destinations) {
      const u = destination.users;
      const g = destination.groups;
      const work = (kind: KindPlanSummary): string =>
        (plan.dryRun ? `would send ${kind.upserts}, would delete ${kind.deletes}` : `${kind.upserts} to send, ${kind.deletes} to delete`) +
        `, ${kind.unchanged} unchanged${kind.waitingDeletes > 0 ? `, ${kind.waitingDeletes} waiting out the grace period` : ''}`;
      lines.push(
        `  ${src(plan.source)} -> ${dst(destination.destination)}${destination.mapped ? '' : ' (no mapping from this source any more)'}${plan.dryRun ? ' [dry run]' : ''}: ` +
          `users ${work(u)}; groups ${work(g)}` +
          `${destination.skippedBecause !== undefined ? ` [skipped: ${destination.skippedBecause}]` : ''}`,
      );
      for (const [label, kind] of [['users', u], ['groups', g]] as const) lines.push(...formatGate(label, kind, dst(destination.destination), plan.dryRun));
      if (destination.missingGroups.length > 0) lines.push(`    LimitToGroups not found in Entra: ${destination.missingGroups.join(', ')}`);
    }
    for (const gone of plan.unreachable) {
      lines.push(
        `  ${src(plan.source)} -> ${gone.destination}: UNREACHABLE, no longer in the configuration; it still holds ${gone.users} users and ${gone.groups} groups ` +
          `from this source, which the connector cannot delete without its token. Remove them in Signature 365, or add ${gone.destination} back.`,
      );
    }
    for (const paused of plan.paused ?? []) {
      const resume = paused.scope === 'all' ? 'resume --all' : paused.mappings[0] !== undefined ? `resume --mapping ${paused.mappings[0]}` : `resume --destination ${dst(paused.destination)}`;
      lines.push(
        `  ${src(plan.source)} -> ${dst(paused.destination)}: PAUSED since ${paused.pausedAt} by ${paused.pausedBy}${paused.reason === '' ? '' : ` (${paused.reason})`}: ` +
          `nothing planned, sent or deleted; resume with: s365-connector ${resume}`,
      );
    }
    if (plan.conflicts.length > 0) {
      lines.push(`  ${plan.conflicts.length} user(s) in scope of more than one Signature 365 tenant (Options.OnConflict decides where they go):`);
      for (const conflict of plan.conflicts.slice(0, 10)) {
        lines.push(`    ${formatConflict({ ...conflict, destinations: conflict.destinations.map(dst) })}`);
      }
      if (plan.conflicts.length > 10) lines.push(`    … and ${plan.conflicts.length - 10} more`);
    }
  }
  if (uploads !== undefined) {
    lines.push(`  Uploads: ${uploads.messages} batches, ${uploads.succeeded} objects acknowledged, ${uploads.failed} failed`);
    const why = {
      unauthorized: 'the token was rejected (401/403): check Signature365.<Name>.Token',
      unavailable: 'unavailable after every retry',
      rejected: 'it rejects the requests (404/422 or an answer outside the contract): check Signature365.<Name>.Endpoint; see `status`',
      deferred: 'in quarantine from an earlier failure',
    };
    for (const { destination, reason } of uploads.quarantinedDestinations) {
      lines.push(reason === 'throttled'
        ? `  Destination ${dst(destination)} asked to wait (429 with a long Retry-After); its pending work is kept and sent after that`
        : `  Destination ${dst(destination)} quarantined, ${why[reason]}; its pending work is kept and sent when it recovers`);
    }
  }
  for (const failure of summary.failures) lines.push(`  FAILED ${src(failure.source)} (${failure.stage}): ${failure.error.message}`);
  return lines.join('\n');
}

function formatReconcile(reconcile: SourceReconcileSummary, src: (key: string) => string, dst: (key: string) => string): string[] {
  if (reconcile.skippedBecause !== undefined) return [`  ${src(reconcile.source)}: reconcile against the destinations SKIPPED: ${reconcile.skippedBecause}`];
  const lines: string[] = [];
  for (const destination of reconcile.destinations) {
    const head = `  ${src(reconcile.source)} -> ${dst(destination.destination)}: reconcile${reconcile.dryRun ? ' [dry run]' : ''}`;
    if (destination.skippedBecause !== undefined) {
      lines.push(`${head} skipped: ${destination.skippedBecause}`);
      continue;
    }
    const kinds = (['users', 'groups'] as const).flatMap((label) => {
      const counts = destination[label];
      if (counts === undefined) return [];
      if (differencesOf(counts) === 0 && counts.inFlight === 0) return [`${label} ${counts.held} held, all as recorded`];
      return [
        `${label} ${counts.held} held: ${counts.unknownHeld} unknown (${counts.toGate} to the deletion gate), ${counts.missing} missing and ${counts.drifted} changed (sent again), ` +
          `${counts.gone} already gone${counts.inFlight > 0 ? `, ${counts.inFlight} left alone while in flight` : ''}`,
      ];
    });
    lines.push(`${head}: ${kinds.join('; ')}${destination.error !== undefined ? `; FAILED: ${destination.error}` : ''}`);
  }
  return lines;
}

/** One user mapped to several Signature 365 tenants, as the summary and `validate` print it. */
export function formatConflict(conflict: ScopeConflict): string {
  return `${conflict.upn ?? conflict.userId}: ${conflict.destinations.join(', ')} (Mappings ${conflict.mappingIndexes.map((i) => `[${i}]`).join(', ')})`;
}
