import { X509Certificate } from 'node:crypto';
import { cloudOf } from './clouds';
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
      return auth.clientId === undefined ? 'managed identity (system-assigned)' : `managed identity (user-assigned, client ${auth.clientId})`;
  }
}

function describeCloud(source: EntraSourceConfig): string {
  const name = cloudOf(source);
  return name === undefined ? `custom (${source.authorityHost}, ${source.graphEndpoint})` : name;
}

function list(values: readonly string[]): string {
  return values.length === 0 ? 'none' : values.join(', ');
}

/** A summary for people (CLI, start-up log): what is read, written and how. No secret appears in clear. */
export function describeConfig(config: ConnectorConfig): string {
  const lines: string[] = [`Sources (${config.sources.length}):`];
  for (const source of config.sources) {
    lines.push(`  EntraId:${source.name}: tenant ${source.tenantId}, ${describeAuth(source.auth)}, cloud ${describeCloud(source)}`);
  }
  lines.push(`Destinations (${config.destinations.length}):`);
  for (const destination of config.destinations) {
    const tenant = destination.tenantId === undefined ? '' : `tenant ${destination.tenantId}, `;
    lines.push(`  Signature365:${destination.name}: ${tenant}token ${maskSecret(destination.token)}, endpoint ${destination.endpoint}`);
  }
  lines.push(`Mappings (${config.mappings.length}):`);
  for (const mapping of config.mappings) {
    const groups = mapping.limitToGroups.length === 0 ? 'whole source' : `groups ${list(mapping.limitToGroups)}`;
    const include = mapping.include.length === 0 ? '' : `; include ${list(mapping.include)}`;
    const exclude = mapping.exclude.length === 0 ? '' : `; exclude ${list(mapping.exclude)}`;
    const filter = mapping.filter === null ? '' : `; filter ${mapping.filter.text}`;
    lines.push(`  [${mapping.index}] EntraId:${mapping.source} -> Signature365:${mapping.destination}: ${groups}${include}${exclude}${filter}`);
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
