/**
 * Paused mappings, pure: which (source, destination) pairs a pause stops, and which pairs an
 * administrator's `--mapping`, `--destination` or `--all` names. The planner, the reconcile, the
 * upload worker and status all ask `pauseOf`, so they agree on what is paused.
 *
 * What is paused is a pair, not a mapping: the planner works per source and destination, and a
 * pair's objects are one ledger whichever mappings put them there. Leaving one mapping of a shared
 * pair planned would make the users only the paused mapping holds look out of scope, and they would
 * be staged for deletion; so pausing one mapping pauses every mapping between the same source and
 * destination, and the commands say so.
 */
import type { ConnectorConfig } from '../config/types';
import type { MappingPause, PausedPair } from './ports';

/** The pause that stops a pair: the global one, else the pair's own; undefined when it runs. */
export function pauseOf(pauses: readonly MappingPause[], source: string, destination: string): MappingPause | undefined {
  return pauses.find((pause) => pause.pair === 'all')
    ?? pauses.find((pause) => pause.pair !== 'all' && pause.pair.source === source && pause.pair.destination === destination);
}

/** The destinations among `destinations` that are paused for `source`, with the pause of each. */
export function pausedDestinations(pauses: readonly MappingPause[], source: string, destinations: readonly string[]): Map<string, MappingPause> {
  const paused = new Map<string, MappingPause>();
  for (const destination of destinations) {
    const pause = pauseOf(pauses, source, destination);
    if (pause !== undefined) paused.set(destination, pause);
  }
  return paused;
}

/** What a pause or resume acts on: a pair (or every pair) and the mappings that join it now. */
export interface PauseTarget {
  pair: 'all' | PausedPair;
  /** Mappings indexes (0-based) between the pair's source and destination, ascending; every index for `all`. */
  mappings: number[];
}

export interface PauseSelection {
  /** A Mappings index as typed (0-based, as `validate` numbers them). */
  mapping?: string;
  /** A Signature365 name as written, or its storage key. */
  destination?: string;
  all?: boolean;
}

export type ResolvedSelection = { ok: true; targets: PauseTarget[] } | { ok: false; error: string };

/** How each front names the selection in its errors: the CLI's flags, or the HTTP body's fields. */
const FIELD_NAMES = {
  cli: { mapping: '--mapping', destination: '--destination', choice: '--mapping <index>, --destination <name> or --all' },
  http: { mapping: 'mapping', destination: 'destination', choice: '"mapping", "destination" or "all": true' },
} as const;

/** The Mappings indexes (0-based, ascending) between a pair's source and destination. */
export function mappingsBetween(config: Pick<ConnectorConfig, 'mappings'>, pair: PausedPair): number[] {
  return config.mappings.filter((m) => m.source === pair.source && m.destination === pair.destination).map((m) => m.index).sort((a, b) => a - b);
}

/**
 * The pairs a selection names. `--mapping N`: the pair of Mappings[N]; `--destination NAME`: the pair
 * of every source with that destination (a pair without a mapping holds what a removed mapping sent,
 * and its deletions are paused too); `--all`: every pair, including those of mappings added later.
 */
export function resolvePauseSelection(
  config: Pick<ConnectorConfig, 'mappings' | 'sources' | 'destinations'>, selection: PauseSelection, front: keyof typeof FIELD_NAMES = 'cli',
): ResolvedSelection {
  const names = FIELD_NAMES[front];
  const given = [selection.mapping !== undefined, selection.destination !== undefined, selection.all === true].filter(Boolean).length;
  if (given !== 1) return { ok: false, error: `give exactly one of ${names.choice}` };
  if (selection.all === true) return { ok: true, targets: [{ pair: 'all', mappings: config.mappings.map((m) => m.index).sort((a, b) => a - b) }] };
  if (selection.mapping !== undefined) {
    const count = config.mappings.length;
    if (count === 0) return { ok: false, error: `${names.mapping}: the configuration has no Mappings; there is nothing to pause` };
    const text = selection.mapping.trim();
    const index = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    const mapping = config.mappings.find((m) => m.index === index);
    if (mapping === undefined) {
      return {
        ok: false,
        error: `${names.mapping}: "${selection.mapping}" is not a mapping; give a Mappings index from 0 to ${count - 1} ` +
          '(0-based, as `s365-connector validate` numbers them: Mappings[0] is the first entry)',
      };
    }
    const pair = { source: mapping.source, destination: mapping.destination };
    return { ok: true, targets: [{ pair, mappings: mappingsBetween(config, pair) }] };
  }
  const asked = selection.destination ?? '';
  const destination = config.destinations.find((d) => d.name === asked || d.displayName === asked);
  if (destination === undefined) {
    const known = config.destinations.map((d) => d.displayName ?? d.name).join(', ');
    return { ok: false, error: `${names.destination}: "${asked}" is not a Signature365 entry of the configuration; the configured ones are: ${known || 'none'}` };
  }
  return {
    ok: true,
    targets: config.sources.map((source) => {
      const pair = { source: source.name, destination: destination.name };
      return { pair, mappings: mappingsBetween(config, pair) };
    }),
  };
}

/** Appended to the plan's configHash: the paused destinations of a source, sorted (empty: nothing appended). */
export function pausedHashPart(paused: ReadonlyMap<string, MappingPause>): string[] {
  return [...paused.keys()].sort();
}
