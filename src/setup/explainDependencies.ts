/**
 * What `explain` needs, from a runtime: the stores it reads and, per source, Graph for UPN and
 * mail lookups. The same for the CLI, serve and the Functions app.
 */
import { createGraphClient } from '../graph';
import { createUserKeyDirectory } from '../graph/userLookup';
import type { ExplainDependencies } from '../sync/explain';
import { pauseOf } from '../sync/pauses';
import type { UserKeyDirectory } from '../sync/ports';
import type { ConnectorRuntime } from './runtime';

/** A lookup is a convenience: a slow or failing Graph falls back to a mirror scan soon, not after the sync's retry budget. */
const LOOKUP_RETRIES = 1;
const LOOKUP_TIMEOUT_IN_MS = 15_000;

type ExplainRuntime = Pick<ConnectorRuntime, 'config' | 'mirror' | 'ledger' | 'deletions' | 'health' | 'pauses'>;

/** One set per runtime, so the Graph clients (and their tokens) are reused across requests of a worker. */
const built = new WeakMap<ExplainRuntime, ExplainDependencies>();

export function explainDependencies(runtime: ExplainRuntime): ExplainDependencies {
  const cached = built.get(runtime);
  if (cached !== undefined) return cached;
  const directories = new Map<string, UserKeyDirectory>();
  const dependencies: ExplainDependencies = {
    config: runtime.config, mirror: runtime.mirror, ledger: runtime.ledger, deletions: runtime.deletions, health: runtime.health,
    pauses: {
      // Read per answer (one query), so a pause made a second ago shows.
      async pauseOf(source, mappingIndex) {
        const mapping = runtime.config.mappings.find((candidate) => candidate.index === mappingIndex);
        if (mapping === undefined) return undefined;
        const pause = pauseOf(await runtime.pauses.list(), source, mapping.destination);
        return pause === undefined ? undefined : { since: pause.pausedAt, by: pause.pausedBy, reason: pause.reason };
      },
    },
    directoryFor(name) {
      let directory = directories.get(name);
      if (directory === undefined) {
        const source = runtime.config.sources.find((candidate) => candidate.name === name);
        if (source === undefined) return undefined;
        directory = createUserKeyDirectory(createGraphClient(source, { maxRetries: LOOKUP_RETRIES, requestTimeoutInMs: LOOKUP_TIMEOUT_IN_MS }), source);
        directories.set(name, directory);
      }
      return directory;
    },
  };
  built.set(runtime, dependencies);
  return dependencies;
}
