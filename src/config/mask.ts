import { X509Certificate } from 'node:crypto';
import { cloudOf } from './clouds';
import { destinationLabel, sourceLabel } from './names';
import { TOKEN_PREFIX } from './schema';
import type { ConnectorConfig, EntraSourceConfig, SourceAuth } from './types';

/**
 * A secret shown well enough to tell two apart, not to use: `idscl_Zx…0KU`. The public idscl_
 * prefix is kept; of the rest at most a quarter is shown (2 leading + 3 trailing characters at
 * most), and nothing of a short value.
 */
export function maskSecret(value: string): string {
  if (value === '') return '(empty)';
  const prefix = value.startsWith(TOKEN_PREFIX) ? TOKEN_PREFIX : '';
  const rest = value.slice(prefix.length);
  const budget = Math.floor(rest.length / 4);
  const tail = Math.min(3, budget);
  const head = Math.min(2, budget - tail);
  return `${prefix}${rest.slice(0, head)}…${tail === 0 ? '' : rest.slice(-tail)}`;
}

/** Every secret value the configuration holds, for a log scrubber to blank out. */
export function configSecrets(config: ConnectorConfig): string[] {
  const secrets: string[] = config.destinations.map((destination) => destination.token);
  for (const source of config.sources) {
    const auth = source.auth;
    if (auth.kind === 'clientSecret') secrets.push(auth.clientSecret);
    if (auth.kind === 'certificate') {
      secrets.push(auth.certificatePem);
      if (auth.certificatePassword !== undefined) secrets.push(auth.certificatePassword);
    }
  }
  return secrets.filter((secret) => secret !== '');
}

function describeThreshold(threshold: ConnectorConfig['options']['deleteThreshold'], max: number): string {
  switch (threshold.kind) {
    case 'off':
      return 'off (no limit; empty scopes and missing groups still hold deletions)';
    case 'count':
      return threshold.count === 0 ? '0 (every deletion needs approval)' : `${threshold.count} per 24 hours`;
    case 'percent':
      return `${threshold.percent}% of what the destination holds per 24 hours (at least 10, at most ${max})`;
  }
}

function certificateSummary(pem: string): string {
  try {
    const certificate = new X509Certificate(pem);
    // The SHA-1 thumbprint is what the app registration's "Certificates & secrets" page lists.
    const thumbprint = certificate.fingerprint.replace(/:/g, '');
    return `thumbprint ${thumbprint}, expires ${new Date(certificate.validTo).toISOString().slice(0, 10)}`;
  } catch {
    return 'unreadable certificate';
  }
}

function describeAuth(auth: SourceAuth): string {
  switch (auth.kind) {
    case 'clientSecret':
      return `client secret (client ${auth.clientId}, secret ${maskSecret(auth.clientSecret)})`;
    case 'certificate': {
      const chain = auth.sendCertificateChain ? ', sends chain' : '';
      return `certificate (client ${auth.clientId}, ${certificateSummary(auth.certificatePem)}${chain})`;
    }
    case 'managedIdentity':
      if (auth.clientId === undefined) return 'managed identity (system-assigned)';
      return auth.inferred === true
        ? `managed identity (user-assigned, client ${auth.clientId}; TenantId + ClientId without a secret or certificate, as the vendor's container deployment writes it)`
        : `managed identity (user-assigned, client ${auth.clientId})`;
  }
}

function describeCloud(source: EntraSourceConfig): string {
  const name = cloudOf(source);
  return name === undefined ? `custom (${source.authorityHost}, ${source.graphEndpoint})` : name;
}

/** Lists longer than this are counted, not listed: a config with 12,000 groups stays readable. */
const LISTED_AT_MOST = 10;

/** `groups a, b` or, for a long list, `LimitToGroups: 12,000 groups (a, b, c, ...)`. */
function list(label: string, key: string, values: readonly string[], noun: string): string {
  if (values.length <= LISTED_AT_MOST) return `${label} ${values.join(', ')}`;
  return `${key}: ${values.length.toLocaleString('en-US')} ${noun} (${values.slice(0, 3).join(', ')}, ...)`;
}

/** A summary for people (CLI, start-up log): what is read, written and how. No secret appears in clear. */
export function describeConfig(config: ConnectorConfig): string {
  const lines: string[] = [`Sources (${config.sources.length}):`];
  for (const source of config.sources) {
    lines.push(`  ${sourceLabel(config, source.name)}: tenant ${source.tenantId}, ${describeAuth(source.auth)}, cloud ${describeCloud(source)}`);
    const extensions = source.extensionProperties ?? [];
    if (extensions.length > 0) lines.push(`    ${list(`directory extensions read (${extensions.length}):`, 'ExtensionProperties', extensions, 'extensions')}`);
  }
  lines.push(`Destinations (${config.destinations.length}):`);
  for (const destination of config.destinations) {
    const tenant = destination.tenantId === undefined ? '' : `tenant ${destination.tenantId}, `;
    lines.push(`  ${destinationLabel(config, destination.name)}: ${tenant}token ${maskSecret(destination.token)}, endpoint ${destination.endpoint}`);
  }
  lines.push(`Mappings (${config.mappings.length}):`);
  for (const mapping of config.mappings) {
    const groups = mapping.limitToGroups.length === 0 ? 'whole source' : list('groups', 'LimitToGroups', mapping.limitToGroups, 'groups');
    const include = mapping.include.length === 0 ? '' : `; ${list('include', 'Include', mapping.include, 'users')}`;
    const exclude = mapping.exclude.length === 0 ? '' : `; ${list('exclude', 'Exclude', mapping.exclude, 'users or groups')}`;
    const filter = mapping.filter === null ? '' : `; filter ${mapping.filter.text}`;
    lines.push(`  [${mapping.index}] ${sourceLabel(config, mapping.source)} -> ${destinationLabel(config, mapping.destination)}: ${groups}${include}${exclude}${filter}`);
  }
  const options = config.options;
  lines.push(
    'Options:',
    `  DeltaIntervalMinutes ${options.deltaIntervalMinutes}, FullReconcileHours ${options.fullReconcileHours}, DeleteAfterDays ${options.deleteAfterDays}`,
    `  IncludeDisabledUsers ${String(options.includeDisabledUsers)}, IncludeGuests ${String(options.includeGuests)}, ` +
      `RequireMail ${String(options.requireMail)}, LicensedUsersOnly ${String(options.licensedUsersOnly)}, OnConflict ${options.onConflict}`,
    `  DeleteThreshold ${describeThreshold(options.deleteThreshold, options.deleteThresholdMax)}`,
  );
  return lines.join('\n');
}
