/**
 * Warnings drawn from the configuration alone (no mirror, no storage): things that work but are
 * probably not what the administrator meant. They never stop the connector; `validate --strict`
 * treats them as errors.
 *
 * 1. Overlap: two mappings of one source reach different destinations with the whole source, or
 *    with a group both list. A user in both reaches two Signature 365 tenants, and Signature 365
 *    uses the FIRST matching tenant for signatures (the vendor's caution). Nested groups are not
 *    known here; `validate` with storage reports the users actually in two tenants.
 * 2. Repeat: a mapping with the same source, destination, groups, Include and Exclude as an
 *    earlier one adds nothing.
 *
 * Plain-text secrets and tokens without the idscl_ prefix are found while resolving (resolve.ts),
 * where the written form is still known.
 */
import type { ConfigIssue } from './errors';
import type { ConnectorConfig, MappingConfig } from './types';
import { destinationLabel, sourceLabel } from './names';

/** How many group ids a warning names before it says "and N more". */
const GROUPS_NAMED = 3;

export function configWarnings(config: ConnectorConfig): ConfigIssue[] {
  return [...overlapWarnings(config), ...repeatWarnings(config)];
}

function overlapWarnings(config: ConnectorConfig): ConfigIssue[] {
  const warnings: ConfigIssue[] = [];
  const { mappings } = config;
  // One warning per later mapping (its first overlap), so three overlapping mappings give two lines, not three.
  for (let j = 1; j < mappings.length; j++) {
    const later = mappings[j];
    if (later === undefined) continue;
    for (let i = 0; i < j; i++) {
      const earlier = mappings[i];
      if (earlier === undefined || earlier.source !== later.source || earlier.destination === later.destination) continue;
      const shared = sharedScope(earlier, later);
      if (shared === undefined) continue;
      warnings.push({
        path: `Mappings[${later.index}]`,
        message:
          `${shared} of ${sourceLabel(config, later.source)} goes to ${destinationLabel(config, earlier.destination)} (Mappings[${earlier.index}]) ` +
          `and to ${destinationLabel(config, later.destination)} (here). A user in both is in two Signature 365 tenants, and Signature 365 uses ` +
          `the FIRST matching tenant for signatures. ${onConflictSentence(config)} Keep each user in one tenant's groups (Exclude helps), ` +
          'or set Options.OnConflict to "FirstMapping"',
      });
      break;
    }
  }
  return warnings;
}

function onConflictSentence(config: ConnectorConfig): string {
  return config.options.onConflict === 'All'
    ? 'With Options.OnConflict "All" (the default) such a user is sent to both.'
    : 'With Options.OnConflict "FirstMapping" such a user is sent only to the earlier mapping\'s tenant.';
}

/** What two mappings of one source both cover, in words; undefined when they share no group and neither is the whole source. */
function sharedScope(a: MappingConfig, b: MappingConfig): string | undefined {
  if (a.limitToGroups.length === 0 || b.limitToGroups.length === 0) {
    return a.limitToGroups.length === 0 && b.limitToGroups.length === 0 ? 'The whole source' : 'Every user of the narrower mapping\'s groups';
  }
  const inB = new Set(b.limitToGroups);
  const shared = a.limitToGroups.filter((group) => inB.has(group));
  if (shared.length === 0) return undefined;
  const named = shared.slice(0, GROUPS_NAMED).join(', ');
  const more = shared.length > GROUPS_NAMED ? ` and ${shared.length - GROUPS_NAMED} more` : '';
  return `Group${shared.length === 1 ? '' : 's'} ${named}${more}`;
}

function repeatWarnings(config: ConnectorConfig): ConfigIssue[] {
  const firstBySignature = new Map<string, number>();
  const warnings: ConfigIssue[] = [];
  for (const mapping of config.mappings) {
    const signature = JSON.stringify([
      mapping.source, mapping.destination, [...mapping.limitToGroups].sort(), [...mapping.include].sort(), [...mapping.exclude].sort(),
    ]);
    const first = firstBySignature.get(signature);
    if (first === undefined) {
      firstBySignature.set(signature, mapping.index);
      continue;
    }
    warnings.push({
      path: `Mappings[${mapping.index}]`,
      message: `repeats Mappings[${first}] (same From, To, LimitToGroups, Include and Exclude) and adds nothing; remove one of them`,
    });
  }
  return warnings;
}
