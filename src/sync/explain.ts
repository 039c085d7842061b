/**
 * `explain <user>`: for one user, per source that holds them, why each mapping takes them or not
 * (explainScope.ts), and per destination the exact record it would receive, what it last
 * acknowledged and when, and anything pending (explainDestination.ts). Read-only.
 *
 * The same pure functions as the plan decide, on the same inputs read the same way: the group graph
 * (loadDirectoryGraph), the scope model (buildScopeModel), placeUser, the record and its hash
 * (payload.ts) from the user's and the manager's mirror rows, decideObject. What it reads, by key:
 * - the user's key to an id: an object id is used as given; a UPN or mail is looked up in the
 *   source directory (UserKeyDirectory: Graph, one request or two). When the directory cannot
 *   answer, the mirror's users are scanned (one pass over the source, said in the answer);
 * - the user and their manager by id (getUsers), the group graph (groups and member rows: a few
 *   thousand rows at 100k users, what every change-driven plan loads too);
 * - per configured destination: the user's one ledger bucket, the destination's health and its
 *   users deletion hold.
 */
import type { ConnectorConfig } from '../config/types';
import { destinationDisplayName } from '../config/names';
import { explainDestination, type DestinationExplanation } from './explainDestination';
import { explainScope, type ConflictExplanation, type GroupRef, type MappingExplanation, type PauseNote } from './explainScope';
import { bucketOfId } from './bucketOf';
import type { MirrorUser } from './directory';
import { managerPart, buildUserRecord, userBaseHash, userRecordHash } from './payload';
import { loadDirectoryGraph } from './planTargets';
import type { DeletionStateStore, DestinationHealthStore, LedgerStore, MirrorStore, UserKeyDirectory } from './ports';
import { buildScopeModel } from './scopeModel';

export interface ExplainDependencies {
  config: Pick<ConnectorConfig, 'sources' | 'destinations' | 'mappings' | 'options'>;
  mirror: MirrorStore;
  ledger: Pick<LedgerStore, 'read'>;
  deletions: Pick<DeletionStateStore, 'getHold'>;
  health: Pick<DestinationHealthStore, 'get'>;
  /** The source's directory for UPN / mail lookups; undefined: the mirror is scanned. */
  directoryFor(source: string): UserKeyDirectory | undefined;
  /**
   * Whether a mapping is paused (the pause feature, built apart). Absent: no mapping is reported
   * paused. The answer shows a pause; it does not change the verdicts, which are the plan's.
   */
  pauses?: { pauseOf(source: string, mappingIndex: number): Promise<PauseNote | undefined> };
}

/** How the user was found in a source. */
export interface UserLookupReport {
  by: 'objectId' | 'userPrincipalName' | 'mail';
  /** `given`: the key is an object id; `directory`: Graph answered; `mirrorScan`: Graph could not, the mirror was scanned. */
  via: 'given' | 'directory' | 'mirrorScan';
  note?: string;
}

export interface ExplainedUser {
  id: string;
  userPrincipalName: string | null;
  mail: string | null;
  displayName: string | null;
  userType: string | null;
  accountEnabled: boolean | null;
  licensed: boolean | null;
  managerId: string | null;
  /** When Graph reported the user removed (or a full round did not see them). */
  removed: { reason: string; at: string } | null;
  directGroups: GroupRef[];
}

export interface SourceExplanation {
  source: string;
  sourceName?: string;
  lookup: UserLookupReport;
  user: ExplainedUser;
  mappings: MappingExplanation[];
  conflict: ConflictExplanation | null;
  destinations: DestinationExplanation[];
  notes: string[];
}

export interface ExplainAnswer {
  query: string;
  at: string;
  found: boolean;
  sources: SourceExplanation[];
  /** Sources that do not hold the user, and why that is known. */
  notFound: { source: string; sourceName?: string; detail: string }[];
}

const OBJECT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Resolved = { user: MirrorUser; lookup: UserLookupReport } | { detail: string };

async function scanMirror(mirror: ExplainDependencies['mirror'], source: string, key: string): Promise<{ user?: MirrorUser; scanned: number }> {
  const { ids, scanned } = await mirror.findUserIdsByKey(source, key);
  const users = ids.length === 0 ? [] : [...(await mirror.getUsers(source, ids)).values()];
  // A live row wins over a removed one with the same UPN (a user deleted and created again).
  const found = users.find((user) => user.removed === null) ?? users[0];
  return { ...(found === undefined ? {} : { user: found }), scanned };
}

async function resolveUser(deps: ExplainDependencies, source: string, key: string): Promise<Resolved> {
  const trimmed = key.trim();
  if (OBJECT_ID.test(trimmed)) {
    const id = trimmed.toLowerCase();
    const user = (await deps.mirror.getUsers(source, [id])).get(id);
    return user === undefined ? { detail: `the mirror holds no user with object id ${id}` } : { user, lookup: { by: 'objectId', via: 'given' } };
  }
  const directory = deps.directoryFor(source);
  const answer = directory === undefined ? { kind: 'unreachable' as const, error: 'no directory client for this source' } : await directory.findUserId(trimmed);
  if (answer.kind === 'found') {
    const user = (await deps.mirror.getUsers(source, [answer.id])).get(answer.id);
    return user === undefined
      ? { detail: `Graph knows ${trimmed} as ${answer.id}, but the mirror does not hold that user yet: the next sync reads it` }
      : { user, lookup: { by: answer.by, via: 'directory' } };
  }
  if (answer.kind === 'notFound') return { detail: `Graph has no user with userPrincipalName or mail ${trimmed}` };
  const scan = await scanMirror(deps.mirror, source, trimmed);
  const note = `Graph could not be asked (${answer.error}); the mirror was scanned instead (${scan.scanned} users)`;
  if (scan.user === undefined) return { detail: `no user with userPrincipalName or mail ${trimmed} in the mirror; ${note}` };
  const by = scan.user.userPrincipalName?.trim().toLowerCase() === trimmed.toLowerCase() ? 'userPrincipalName' : 'mail';
  return { user: scan.user, lookup: { by, via: 'mirrorScan', note } };
}

async function explainInSource(deps: ExplainDependencies, source: string, user: MirrorUser, lookup: UserLookupReport, now: Date): Promise<SourceExplanation> {
  const { config } = deps;
  const graph = await loadDirectoryGraph(deps.mirror, source);
  const model = buildScopeModel(graph, config, source);
  const filterTexts = new Map(config.mappings.filter((mapping) => mapping.source === source && mapping.filter !== null).map((mapping) => [mapping.index, mapping.filter?.text ?? '']));
  const notes: string[] = [];
  const live = user.removed === null;
  const scope = live ? explainScope(model, user, filterTexts, (key) => destinationDisplayName(config, key)) : undefined;
  if (!live) notes.push(`the user was removed from the source (${user.removed?.reason ?? ''}, ${user.removed?.at ?? ''}): no mapping takes a removed user; what destinations hold of them goes through the deletion gate`);
  const mappings = scope?.mappings ?? [];
  if (deps.pauses !== undefined) {
    for (const mapping of mappings) {
      const pause = await deps.pauses.pauseOf(source, mapping.index);
      if (pause === undefined) continue;
      mapping.paused = pause;
      mapping.why.push(`the mapping is paused since ${pause.since} by ${pause.by}${pause.reason !== '' ? ` (${pause.reason})` : ''}: nothing is sent through it until it is resumed`);
    }
  }

  const placement = scope?.placement.destinations ?? new Map<string, string[]>();
  const manager = live && user.managerId !== null ? managerPart((await deps.mirror.getUsers(source, [user.managerId])).get(user.managerId)) : null;
  const baseHash = userBaseHash(user);
  if (live && user.mailboxType === null && placement.size > 0) {
    notes.push('the mailbox type was never read: the plan reads it (mailboxSettings/userPurpose) before it sends, so the record shown says "unknown" where the sent one may not');
  }

  const destinations: DestinationExplanation[] = [];
  for (const destination of config.destinations) {
    const ledgerScope = { destination: destination.name, source, kind: 'users' as const };
    const bucket = bucketOfId(user.id);
    const entry = (await deps.ledger.read(ledgerScope, [bucket])).buckets.get(bucket)?.get(user.id);
    const groups = placement.get(destination.name);
    if (groups === undefined && entry === undefined) continue;
    const [health, hold] = await Promise.all([deps.health.get(destination.name), deps.deletions.getHold(destination.name, source, 'users')]);
    destinations.push(explainDestination({
      destination: destination.name,
      ...(destination.displayName === undefined ? {} : { destinationName: destination.displayName }),
      byMappings: mappings.filter((mapping) => mapping.sends && mapping.destination === destination.name).map((mapping) => mapping.index),
      wouldSend: groups === undefined ? null : { record: buildUserRecord(user, manager, groups), hash: userRecordHash(baseHash, manager, groups), baseHash },
      entry, health, hold, deleteAfterDays: config.options.deleteAfterDays, now,
    }));
  }
  if (mappings.length === 0 && live) notes.push('no mapping reads from this source');

  const sourceConfig = config.sources.find((candidate) => candidate.name === source);
  return {
    source,
    ...(sourceConfig?.displayName === undefined ? {} : { sourceName: sourceConfig.displayName }),
    lookup,
    user: {
      id: user.id, userPrincipalName: user.userPrincipalName, mail: user.mail, displayName: user.displayName, userType: user.userType,
      accountEnabled: user.accountEnabled, licensed: user.licensed, managerId: user.managerId, removed: user.removed,
      directGroups: graph.directLiveGroupsOf(user.id).map((id) => ({ id, name: graph.groups.get(id)?.displayName ?? null })),
    },
    mappings,
    conflict: scope?.conflict ?? null,
    destinations, notes,
  };
}

/** Explains one user (object id, UPN or mail) in every configured source. */
export async function explainUser(deps: ExplainDependencies, key: string, now: Date = new Date()): Promise<ExplainAnswer> {
  const answer: ExplainAnswer = { query: key, at: now.toISOString(), found: false, sources: [], notFound: [] };
  for (const source of deps.config.sources) {
    const resolved = await resolveUser(deps, source.name, key);
    if ('detail' in resolved) {
      answer.notFound.push({ source: source.name, ...(source.displayName === undefined ? {} : { sourceName: source.displayName }), detail: resolved.detail });
      continue;
    }
    answer.sources.push(await explainInSource(deps, source.name, resolved.user, resolved.lookup, now));
  }
  answer.found = answer.sources.length > 0;
  return answer;
}
