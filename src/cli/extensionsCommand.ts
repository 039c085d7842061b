/**
 * `s365-connector extensions list`: the directory (schema) extension properties each Entra source
 * can read on users, with the exact name to put in EntraId.<Name>.ExtensionProperties, and which of
 * the configured ones were not found. Needs the optional Application.Read.All; without it, says so
 * (the configured ones are read all the same). Reads Graph only: no storage, nothing sent.
 */
import type { EntraSourceConfig } from '../config/types';
import { createGraphClient } from '../graph';
import { applicationIdOf, discoverExtensionProperties, DEFAULT_MAX_APPLICATIONS, type ExtensionDiscovery } from '../graph/extensionProperties';
import { processScrubber } from '../setup/secretScrubber';
import { EXIT, loadConfigForCli, type CliIo } from './syncCommand';

export interface ExtensionsListOptions {
  config?: string;
  source: string[];
  app: string[];
  maxApplications?: number;
  json?: boolean;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Configured names the discovery did not find, and why that may be. */
export function configuredNotFound(source: EntraSourceConfig, discovery: Extract<ExtensionDiscovery, { kind: 'listed' }>): string[] {
  const found = new Set(discovery.properties.map((property) => property.name));
  return (source.extensionProperties ?? []).filter((name) => !found.has(name));
}

/** The advice for a source whose app lacks Application.Read.All. */
export function permissionMissingText(source: EntraSourceConfig, permission: string): string {
  const configured = source.extensionProperties?.length ?? 0;
  return (
    `cannot list extension properties: the app lacks the optional application permission ${permission}. ` +
    (configured > 0 ? `The ${configured} configured in ExtensionProperties are read all the same (reading values needs only User.Read.All). ` : '') +
    `Grant ${permission} (with admin consent) to discover them, or copy the names from the Entra admin center.`
  );
}

function formatDiscovery(source: EntraSourceConfig, discovery: Extract<ExtensionDiscovery, { kind: 'listed' }>): string {
  const configured = new Set(source.extensionProperties ?? []);
  const lines = [
    `EntraId:${source.name} (tenant ${source.tenantId}): ${discovery.properties.length} extension propert${discovery.properties.length === 1 ? 'y' : 'ies'} ` +
      `on users in ${discovery.applicationsSearched} app registration(s) searched`,
  ];
  for (const property of discovery.properties) {
    const traits = [
      property.dataType + (property.isMultiValued ? ' (multi-valued)' : ''),
      property.appDisplayName === '' ? `app ${property.appId}` : `"${property.appDisplayName}"`,
      ...(property.isSyncedFromOnPremises ? ['synced from on-premises'] : []),
      ...(configured.has(property.name) ? ['configured'] : []),
    ];
    lines.push(`  ${property.name}  ${traits.join(', ')}`);
  }
  if (discovery.truncated) {
    lines.push(`  Only the first app registrations were searched; name the owning application with --app <appId> to search it.`);
  }
  for (const appId of discovery.applicationsNotFound) {
    lines.push(`  No app registration with application id ${appId} in this tenant (an extension of a multi-tenant app is registered in its home tenant; naming it in ExtensionProperties still reads it).`);
  }
  const missing = configuredNotFound(source, discovery);
  if (missing.length > 0) {
    lines.push(`  Configured in ExtensionProperties but not found: ${missing.join(', ')}; check the spelling against the list above.`);
  }
  if (discovery.properties.length > 0 && configured.size === 0) {
    lines.push(`  To send one, list it under EntraId.${source.name}.ExtensionProperties, e.g. "ExtensionProperties": ["${discovery.properties[0]?.name ?? ''}"].`);
  }
  return lines.join('\n');
}

export async function runExtensionsListCommand(options: ExtensionsListOptions, io: CliIo): Promise<number> {
  const config = await loadConfigForCli(options, io);
  if (config === undefined) return EXIT.badConfig;
  const badApp = options.app.find((app) => !GUID.test(app));
  if (badApp !== undefined) {
    io.err(`--app ${JSON.stringify(badApp)} is not an application id; give the Application (client) ID GUID of the app registration that owns the extensions.\n`);
    return EXIT.badConfig;
  }
  const unknownSource = options.source.find((name) => !config.sources.some((source) => source.name === name));
  if (unknownSource !== undefined) {
    io.err(`--source ${JSON.stringify(unknownSource)} is not defined under EntraId; defined: ${config.sources.map((source) => source.name).join(', ')}\n`);
    return EXIT.badConfig;
  }
  const sources = options.source.length === 0 ? config.sources : config.sources.filter((source) => options.source.includes(source.name));
  let exitCode: number = EXIT.ok;
  const json: Record<string, unknown> = {};
  for (const source of sources) {
    try {
      const graph = createGraphClient(source, { maxRetries: 2 });
      const discovery = await discoverExtensionProperties(graph, source, {
        ...(options.app.length > 0 ? { applicationIds: options.app } : {}),
        maxApplications: options.maxApplications ?? DEFAULT_MAX_APPLICATIONS,
      });
      json[source.name] = discovery.kind === 'listed' ? { ...discovery, configuredNotFound: configuredNotFound(source, discovery) } : discovery;
      if (discovery.kind === 'permissionMissing') {
        exitCode = EXIT.failed;
        if (options.json !== true) io.out(`EntraId:${source.name}: ${permissionMissingText(source, discovery.permission)}\n`);
      } else if (options.json !== true) {
        io.out(`${formatDiscovery(source, discovery)}\n`);
      }
    } catch (error) {
      exitCode = EXIT.failed;
      const message = error instanceof Error ? error.message : String(error);
      json[source.name] = { kind: 'failed', error: processScrubber.scrub(message) };
      if (options.json !== true) io.out(processScrubber.scrub(`EntraId:${source.name}: listing extension properties failed: ${message}\n`));
    }
  }
  if (options.json === true) io.out(`${processScrubber.scrub(JSON.stringify(json, null, 2))}\n`);
  return exitCode;
}

/** The application ids the configured extension names belong to (for test-connection's check). */
export function configuredApplicationIds(source: EntraSourceConfig): string[] {
  return [...new Set((source.extensionProperties ?? []).map(applicationIdOf).filter((id): id is string => id !== undefined))];
}
