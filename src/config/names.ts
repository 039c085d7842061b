/**
 * Names for people. Sources and destinations are keyed by their storage key (`name`), which for a
 * name such as "Contoso Ltd" is not what the administrator wrote; messages, summaries and status
 * show the name as written, in the config's own spelling ("Signature365:Contoso Ltd").
 */
import { DESTINATION_PREFIX, SOURCE_PREFIX } from './schema';
import type { ConnectorConfig } from './types';

/** The name as written in the config. */
export function displayNameOf(entry: { name: string; displayName?: string }): string {
  return entry.displayName ?? entry.name;
}

/** `EntraId:<name as written>` for a source's storage key (the key itself when the config does not know it). */
export function sourceLabel(config: Pick<ConnectorConfig, 'sources'>, key: string): string {
  const source = config.sources.find((candidate) => candidate.name === key);
  return `${SOURCE_PREFIX}${source === undefined ? key : displayNameOf(source)}`;
}

/** `Signature365:<name as written>` for a destination's storage key. */
export function destinationLabel(config: Pick<ConnectorConfig, 'destinations'>, key: string): string {
  const destination = config.destinations.find((candidate) => candidate.name === key);
  return `${DESTINATION_PREFIX}${destination === undefined ? key : displayNameOf(destination)}`;
}

/** The destination's name as written, for a storage key (the key itself when unknown). */
export function destinationDisplayName(config: Pick<ConnectorConfig, 'destinations'>, key: string): string {
  const destination = config.destinations.find((candidate) => candidate.name === key);
  return destination === undefined ? key : displayNameOf(destination);
}

/** The source's name as written, for a storage key (the key itself when unknown). */
export function sourceDisplayName(config: Pick<ConnectorConfig, 'sources'>, key: string): string {
  const source = config.sources.find((candidate) => candidate.name === key);
  return source === undefined ? key : displayNameOf(source);
}
