/**
 * What the CLI prints for people: progress while a round runs, and a summary at the end.
 * Plain text, no secrets (the summary holds counts and names only).
 */
import type { SyncRunSummary } from '../sync/runSync';
import type { PageProgress } from '../sync/pullSource';
import type { DrainSummary } from '../sync/inProcessUploads';

export interface ProgressPrinter {
  page(progress: PageProgress): void;
  done(): void;
}

/** One line per page on a pipe; a single line rewritten in place on a terminal. */
export function createProgressPrinter(stream: NodeJS.WriteStream = process.stderr): ProgressPrinter {
  const totals = new Map<string, number>();
  let lastLength = 0;
  return {
    page(progress) {
      const key = `${progress.source}/${progress.kind}`;
      const total = (totals.get(key) ?? 0) + progress.objects;
      totals.set(key, total);
      const line = `${progress.source} ${progress.kind} (${progress.roundKind}): page ${progress.page}, ${total} objects read`;
      if (stream.isTTY) {
        stream.write(`\r${line.padEnd(lastLength)}`);
        lastLength = line.length;
      } else {
        stream.write(`${line}\n`);
      }
    },
    done() {
      if (stream.isTTY && lastLength > 0) stream.write('\n');
      lastLength = 0;
    },
  };
}

export function formatSyncSummary(summary: SyncRunSummary, uploads?: DrainSummary, requests?: { graph: number }): string {
  const lines: string[] = [];
  lines.push(`Sync run ${summary.runId} finished in ${summary.seconds.toFixed(1)} s`);
  for (const pull of summary.pulls) {
    const statusText = {
      completed: 'completed',
      partial: 'paused between pages; the next run resumes the round',
      locked: 'SKIPPED: another sync holds this source (its lock is released when that run ends, or within 5 minutes of it stopping)',
    }[pull.status];
    lines.push(`  Source ${pull.source}: ${statusText}`);
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
  for (const plan of summary.plans) {
    for (const destination of plan.destinations) {
      const u = destination.users;
      const g = destination.groups;
      lines.push(
        `  ${plan.source} -> ${destination.destination}: users ${u.upserts} to send, ${u.deletes} to delete, ${u.unchanged} unchanged` +
          `${u.waitingDeletes > 0 ? `, ${u.waitingDeletes} waiting out the grace period` : ''}` +
          `${u.heldDeletes > 0 ? `, ${u.heldDeletes} deletions HELD (${u.gateReason ?? ''})` : ''}; ` +
          `groups ${g.upserts} to send, ${g.deletes} to delete, ${g.unchanged} unchanged` +
          `${destination.skippedBecause !== undefined ? ` [skipped: ${destination.skippedBecause}]` : ''}`,
      );
      if (destination.missingGroups.length > 0) lines.push(`    LimitToGroups not found in Entra: ${destination.missingGroups.join(', ')}`);
    }
    if (plan.conflicts.length > 0) {
      lines.push(`  ${plan.conflicts.length} user(s) in scope of more than one Signature 365 tenant (Options.OnConflict decides where they go):`);
      for (const conflict of plan.conflicts.slice(0, 10)) {
        lines.push(`    ${conflict.upn ?? conflict.userId}: ${conflict.destinations.join(', ')} (Mappings ${conflict.mappingIndexes.map((i) => `[${i}]`).join(', ')})`);
      }
      if (plan.conflicts.length > 10) lines.push(`    … and ${plan.conflicts.length - 10} more`);
    }
  }
  if (uploads !== undefined) {
    lines.push(`  Uploads: ${uploads.messages} batches, ${uploads.succeeded} objects acknowledged, ${uploads.failed} failed`);
    if (uploads.unauthorizedDestinations.length > 0) {
      lines.push(`  Rejected token (401/403), destination quarantined: ${[...new Set(uploads.unauthorizedDestinations)].join(', ')}`);
    }
  }
  for (const failure of summary.failures) lines.push(`  FAILED ${failure.source} (${failure.stage}): ${failure.error.message}`);
  return lines.join('\n');
}
