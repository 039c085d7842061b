/**
 * What the status page shows, read through the ports: the status (src/sync/status.ts), each
 * source's last runs, the newest rows of the audit trail, and the names of the objects the page
 * mentions by id (failed objects, audit rows). Read-only.
 *
 * Cost per page view: the status's reads (cursors, ledger summaries, health, holds, conflicts;
 * the buckets holding failures), one query per source for its runs, one audit query, and the
 * mirror rows of at most a few dozen named objects. Nothing proportional to the tenant.
 *
 * The runs, the audit trail and the names are extras: when one of them cannot be read the page
 * still shows the rest, with a line saying what is missing. The status itself must be read.
 */
import type { MirrorStore, ObjectAuditLog, ObjectAuditRow, RunHistoryEntry, RunHistoryStore, UploadKind } from '../sync/ports';
import { readConnectorStatus, type ConnectorStatus, type StatusDependencies } from '../sync/status';

/** Runs shown per source (the store keeps 50: the sparklines draw them all, the table the newest). */
export const RUNS_READ_PER_SOURCE = 50;
export const AUDIT_ROWS_SHOWN = 20;

export interface DashboardDependencies extends StatusDependencies {
  /** Each source's last runs; absent: the trends say the history is not kept here. */
  runHistory?: Pick<RunHistoryStore, 'latest'>;
  /** The audit trail of destination writes; absent: the section says it is not available. */
  auditTrail?: Pick<ObjectAuditLog, 'query'>;
  /** Names for the objects shown by id; absent: ids only. */
  mirror?: Pick<MirrorStore, 'getUsers' | 'getGroups'>;
}

/** A section that could not be read: why, in one line. */
export interface Unreadable {
  unreadable: string;
}

export interface DashboardView {
  generatedAt: string;
  status: ConnectorStatus;
  /** Source storage key → its last runs, newest first. */
  runs: Map<string, RunHistoryEntry[]> | Unreadable | 'not kept';
  /** Newest first. */
  audit: ObjectAuditRow[] | Unreadable | 'not available';
  /** `objectKey(source, kind, id)` → "Display Name (upn)" for the objects the page names. */
  objectNames: Map<string, string>;
  /** Storage key → name as written, for sources and destinations whose names differ from their keys. */
  sourceNames: Map<string, string>;
  destinationNames: Map<string, string>;
}

export function objectKey(source: string, kind: UploadKind, id: string): string {
  return `${source}|${kind}|${id}`;
}

function unreadable(error: unknown): Unreadable {
  return { unreadable: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
}

async function readRuns(deps: DashboardDependencies): Promise<DashboardView['runs']> {
  const store = deps.runHistory;
  if (store === undefined) return 'not kept';
  try {
    const runs = new Map<string, RunHistoryEntry[]>();
    for (const source of deps.config.sources) runs.set(source.name, await store.latest(source.name, { limit: RUNS_READ_PER_SOURCE }));
    return runs;
  } catch (error) {
    return unreadable(error);
  }
}

async function readAudit(deps: DashboardDependencies): Promise<DashboardView['audit']> {
  if (deps.auditTrail === undefined) return 'not available';
  try {
    return (await deps.auditTrail.query({ limit: AUDIT_ROWS_SHOWN })).slice(0, AUDIT_ROWS_SHOWN);
  } catch (error) {
    return unreadable(error);
  }
}

/** "Display Name (upn)" for users, the display name for groups, from the mirror; unknown ids are left out. */
async function readObjectNames(deps: DashboardDependencies, wanted: readonly { source: string; kind: UploadKind; id: string }[]): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  const mirror = deps.mirror;
  if (mirror === undefined || wanted.length === 0) return names;
  const grouped = new Map<string, { source: string; kind: UploadKind; ids: Set<string> }>();
  for (const { source, kind, id } of wanted) {
    const key = `${source}|${kind}`;
    const entry = grouped.get(key) ?? { source, kind, ids: new Set<string>() };
    entry.ids.add(id);
    grouped.set(key, entry);
  }
  try {
    for (const { source, kind, ids } of grouped.values()) {
      if (kind === 'users') {
        for (const [id, user] of await mirror.getUsers(source, [...ids])) {
          const label = [user.displayName, user.userPrincipalName === null ? null : `(${user.userPrincipalName})`].filter((part) => part !== null && part !== '').join(' ');
          if (label !== '') names.set(objectKey(source, kind, id), label);
        }
      } else {
        for (const [id, group] of await mirror.getGroups(source, [...ids])) {
          if (group.displayName !== null && group.displayName !== '') names.set(objectKey(source, kind, id), group.displayName);
        }
      }
    }
  } catch {
    // Names are a convenience: ids are shown instead.
  }
  return names;
}

export async function readDashboard(deps: DashboardDependencies, now: Date = new Date()): Promise<DashboardView> {
  const status = await readConnectorStatus(deps, now);
  const [runs, audit] = await Promise.all([readRuns(deps), readAudit(deps)]);
  const named = [
    ...status.destinations.flatMap((destination) => destination.failedObjects.map((failed) => ({ source: destination.source, kind: failed.kind, id: failed.id }))),
    ...(Array.isArray(audit) ? audit.map((row) => ({ source: row.source, kind: row.kind, id: row.objectId })) : []),
  ];
  return {
    generatedAt: now.toISOString(),
    status,
    runs,
    audit,
    objectNames: await readObjectNames(deps, named),
    sourceNames: new Map(deps.config.sources.flatMap((source) => (source.displayName === undefined ? [] : [[source.name, source.displayName] as const]))),
    destinationNames: new Map(deps.config.destinations.flatMap((destination) => (destination.displayName === undefined ? [] : [[destination.name, destination.displayName] as const]))),
  };
}
