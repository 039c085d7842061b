/**
 * Pausing and resuming mappings, for the CLI (`pause`, `resume`): the act is audited before it is
 * stored (a pause that is in force but not audited must never exist), and only what changes is
 * audited and stored: pausing a paused pair or resuming a running one records nothing.
 *
 * A pause takes effect at the next plan and at the next upload message; a plan already sending
 * when it is set finishes what it started. See pauses.ts for what a pause stops.
 */
import type { AuditStore, MappingPause, PausedPair, PauseStore } from './ports';
import type { PauseTarget } from './pauses';

export interface PauseAdminDependencies {
  pauses: PauseStore;
  audit: AuditStore;
  now?: () => Date;
}

export interface PauseRequest {
  targets: readonly PauseTarget[];
  actor: string;
  /** The front: `cli` or `http`. */
  via: string;
  reason: string;
}

function samePair(a: 'all' | PausedPair, b: 'all' | PausedPair): boolean {
  if (a === 'all' || b === 'all') return a === b;
  return a.source === b.source && a.destination === b.destination;
}

export interface PauseResult {
  /** Paused now (stored and audited). */
  paused: MappingPause[];
  /** Targets a pause already stops (its own, or the global one): left as they were. */
  alreadyPaused: { target: PauseTarget; by: MappingPause }[];
}

export async function pauseMappings(deps: PauseAdminDependencies, request: PauseRequest): Promise<PauseResult> {
  const existing = await deps.pauses.list();
  const global = existing.find((pause) => pause.pair === 'all');
  const at = (deps.now ?? (() => new Date()))().toISOString();
  const result: PauseResult = { paused: [], alreadyPaused: [] };
  for (const target of request.targets) {
    const by = target.pair === 'all' ? global : (global ?? existing.find((pause) => samePair(pause.pair, target.pair)));
    if (by !== undefined) result.alreadyPaused.push({ target, by });
    else result.paused.push({ pair: target.pair, mappings: target.mappings, pausedAt: at, pausedBy: request.actor, via: request.via, reason: request.reason });
  }
  if (result.paused.length === 0) return result;
  const pairs = result.paused.map((pause) => pause.pair);
  await deps.audit.record({
    action: 'mappings.pause', actor: request.actor, via: request.via, at, reason: request.reason,
    pairs: pairs.includes('all') ? 'all' : pairs.filter((pair): pair is PausedPair => pair !== 'all'),
    mappings: [...new Set(result.paused.flatMap((pause) => pause.mappings))].sort((a, b) => a - b),
  });
  for (const pause of result.paused) await deps.pauses.put(pause);
  return result;
}

export interface ResumeResult {
  /** The pauses lifted (audited). */
  resumed: MappingPause[];
  /** Targets that were not paused: nothing to do. */
  notPaused: PauseTarget[];
  /** Set when a target is stopped by the global pause, which only `--all` lifts; nothing was changed. */
  blockedBy?: MappingPause;
}

/**
 * Lifts pauses. `all` lifts every pause (the global one and each pair's); a pair under the global
 * pause stays paused, so nothing is changed and `blockedBy` says why.
 */
export async function resumeMappings(deps: PauseAdminDependencies, request: PauseRequest): Promise<ResumeResult> {
  const existing = await deps.pauses.list();
  const global = existing.find((pause) => pause.pair === 'all');
  const everything = request.targets.some((target) => target.pair === 'all');
  if (!everything && global !== undefined) return { resumed: [], notPaused: [], blockedBy: global };
  const resumed = everything ? existing : existing.filter((pause) => request.targets.some((target) => samePair(target.pair, pause.pair)));
  const notPaused = everything ? [] : request.targets.filter((target) => !existing.some((pause) => samePair(pause.pair, target.pair)));
  if (resumed.length === 0) return { resumed, notPaused: everything ? [...request.targets] : notPaused };
  const at = (deps.now ?? (() => new Date()))().toISOString();
  await deps.audit.record({
    action: 'mappings.resume', actor: request.actor, via: request.via, at, reason: request.reason,
    pairs: everything ? 'all' : resumed.flatMap((pause) => (pause.pair === 'all' ? [] : [pause.pair])),
    // The indexes as the config stands now (the pause kept those of its day).
    mappings: [...new Set(request.targets.filter((target) => everything || resumed.some((pause) => samePair(pause.pair, target.pair))).flatMap((target) => target.mappings))]
      .sort((a, b) => a - b),
  });
  for (const pause of resumed) await deps.pauses.remove(pause.pair);
  return { resumed, notPaused };
}
