/**
 * What `s365-connector audit`, serve's `GET /api/audit` and the Functions app's `GET /api/audit`
 * answer: the audit trail's rows (newest first), and, when no object is asked for, the
 * administrative acts (approvals of held deletions, pauses and resumes: Table `Audit`) in the same window.
 *
 * The object is asked for by its Entra object id; a UPN or mail is refused with a hint, since
 * finding a user by name would read the source's whole mirror.
 */
import type { AuditEntry, AuditStore, ObjectAuditLog, ObjectAuditQuery, ObjectAuditRow } from './ports';

export interface AuditListingInput {
  user?: string | undefined;
  since?: string | undefined;
  destination?: string | undefined;
  limit?: string | number | undefined;
}

/** The config as the listing needs it: destination names as stored and as written. */
export interface AuditListingConfig {
  destinations: readonly { name: string; displayName?: string | undefined }[];
}

export type ParsedAuditListing = { ok: true; query: ObjectAuditQuery } | { ok: false; error: string };

export interface AuditListing {
  query: { user: string | null; destination: string | null; since: string | null; limit: number };
  rows: ObjectAuditRow[];
  /** Administrative acts in the same window (absent when an object was asked for). */
  adminActs?: AuditEntry[];
}

const OBJECT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RELATIVE = /^(\d{1,4})([hd])$/;
export const DEFAULT_AUDIT_LIMIT = 100;
const MAX_AUDIT_LIMIT = 5000;

/** `since`: an ISO date or time, or a span back from now (`24h`, `7d`). */
function parseSince(text: string, now: Date): Date | undefined {
  const relative = RELATIVE.exec(text);
  if (relative !== null) return new Date(now.getTime() - Number(relative[1]) * (relative[2] === 'h' ? 3_600_000 : 86_400_000));
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isFinite(at) ? new Date(at) : undefined;
}

/**
 * Checks the request. `flag` is how the front names its inputs (`--` for the CLI, `` for query
 * parameters), so an error names what the caller typed. `destination` takes the name as written or
 * its storage key; a name not in the config is taken as given (a removed destination keeps its rows).
 */
export function parseAuditListing(input: AuditListingInput, config: AuditListingConfig, now: Date, flag: '--' | '' = '--'): ParsedAuditListing {
  const query: ObjectAuditQuery = {};
  const user = input.user?.trim();
  if (user !== undefined && user !== '') {
    if (!OBJECT_ID.test(user)) {
      const hint = user.includes('@') ? ' (a UPN or mail is not looked up: find the id with `explain`, in the Entra admin center, or in Graph)' : '';
      return { ok: false, error: `${flag}user must be an Entra object id such as 8f6c2e0a-1b2c-4d5e-8f90-123456789abc, not "${user.slice(0, 80)}"${hint}` };
    }
    query.objectId = user.toLowerCase();
  }
  const since = input.since?.trim();
  if (since !== undefined && since !== '') {
    const at = parseSince(since, now);
    if (at === undefined) return { ok: false, error: `${flag}since must be an ISO date or time (2026-12-01, 2026-12-01T08:00:00Z) or a span back from now (24h, 7d), not "${since.slice(0, 80)}"` };
    query.since = at;
  }
  const destination = input.destination?.trim();
  if (destination !== undefined && destination !== '') {
    query.destination = config.destinations.find((candidate) => candidate.displayName === destination)?.name ?? destination;
  }
  if (input.limit !== undefined && input.limit !== '') {
    const limit = Number(input.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_LIMIT) return { ok: false, error: `${flag}limit must be a whole number from 1 to ${MAX_AUDIT_LIMIT}, not "${String(input.limit).slice(0, 20)}"` };
    query.limit = limit;
  }
  return { ok: true, query };
}

function concernsDestination(act: AuditEntry, destination: string): boolean {
  if (act.action === 'deletions.approve') return act.destination === destination;
  return act.pairs === 'all' || act.pairs.some((pair) => pair.destination === destination);
}

function describeAct(act: AuditEntry): string {
  if (act.action === 'deletions.approve') {
    return `${act.destination} <- ${act.source} ${act.kind}: ${act.count} deletions approved (hold ${act.holdId})`;
  }
  const pairs = act.pairs === 'all' ? 'every mapping' : act.pairs.map((pair) => `${pair.source} -> ${pair.destination}`).join(', ');
  return `${pairs}${act.reason === '' ? '' : `: ${act.reason}`}`;
}

export async function readAuditListing(deps: { trail: ObjectAuditLog; admin?: AuditStore }, query: ObjectAuditQuery): Promise<AuditListing> {
  const limit = query.limit ?? DEFAULT_AUDIT_LIMIT;
  const rows = await deps.trail.query({ ...query, limit });
  const listing: AuditListing = {
    query: { user: query.objectId ?? null, destination: query.destination ?? null, since: query.since?.toISOString() ?? null, limit },
    rows,
  };
  if (query.objectId === undefined && deps.admin !== undefined) {
    const since = query.since?.toISOString();
    listing.adminActs = (await deps.admin.list({ limit }))
      .filter((act) => (since === undefined || act.at >= since) && (query.destination === undefined || concernsDestination(act, query.destination)));
  }
  return listing;
}

export function formatAuditListing(listing: AuditListing): string {
  const lines: string[] = [];
  if (listing.rows.length === 0) lines.push('No audit trail rows match.');
  for (const row of listing.rows) {
    const fields = row.fields.length > 0 ? ` [${row.fields.join(', ')}]` : '';
    lines.push(`${row.at}  ${row.destination}  ${row.kind}  ${row.objectId}  ${row.action}${fields}  ${row.reason}  (run ${row.runId})`);
  }
  if (listing.rows.length >= listing.query.limit) lines.push(`(the newest ${listing.query.limit}; --limit or --since for others)`);
  if (listing.adminActs !== undefined && listing.adminActs.length > 0) {
    lines.push('', 'Administrative acts:');
    for (const act of listing.adminActs) {
      lines.push(`${act.at}  ${act.action}  ${describeAct(act)}  (by ${act.actor} via ${act.via})`);
    }
  }
  return lines.join('\n');
}

/** An HTTP front's answer to `GET /api/audit?user=&since=&destination=&limit=`: 400 names the parameter and the fix. */
export async function answerAuditRequest(
  deps: { trail: ObjectAuditLog; admin?: AuditStore },
  config: AuditListingConfig,
  parameter: (name: string) => string | null,
  now: Date,
): Promise<{ status: 200; body: AuditListing } | { status: 400; body: { error: string } }> {
  const parsed = parseAuditListing({
    user: parameter('user') ?? undefined, since: parameter('since') ?? undefined, destination: parameter('destination') ?? undefined, limit: parameter('limit') ?? undefined,
  }, config, now, '');
  if (!parsed.ok) return { status: 400, body: { error: parsed.error } };
  return { status: 200, body: await readAuditListing(deps, parsed.query) };
}
