/**
 * Discovery of directory (schema) extension properties: what `extensions list` and
 * `test-connection` show, so an administrator can copy the exact `extension_<appId>_<name>` into
 * EntraId.<Name>.ExtensionProperties.
 *
 * Graph offers two ways. `POST /directoryObjects/getAvailableExtensionProperties` needs read
 * access to the whole directory (far more than this connector reads) and Microsoft documents that it answers
 * empty in tenants with more than 1,000 service principals. `GET /applications/{id}/extensionProperties`
 * needs Application.Read.All (the permission the vendor asks for "extension attributes"), so that
 * is the one used: per application named by the config or by `--app`, or else per app registration
 * of the tenant (Entra Connect keeps its synced attributes on one, "Tenant Schema Extension App").
 * An extension owned by a multi-tenant app registered in another tenant is not listed this way;
 * naming it in the config still reads it, since reading values needs only User.Read.All.
 */
import type { EntraSourceConfig } from '../config/types';
import { readCollection } from './collectionReader';
import type { SourceGraphClient } from './graphClient';
import { GRAPH_PERMISSION } from './permissions';

export interface DiscoveredExtensionProperty {
  /** extension_<appId without dashes>_<name>: what the config lists. */
  name: string;
  appId: string;
  appDisplayName: string;
  dataType: string;
  isMultiValued: boolean;
  isSyncedFromOnPremises: boolean;
  targetObjects: string[];
}

export type ExtensionDiscovery =
  | {
    kind: 'listed';
    /** On users (targetObjects has User), sorted by name. */
    properties: DiscoveredExtensionProperty[];
    applicationsSearched: number;
    /** Application ids asked for that the tenant has no app registration for. */
    applicationsNotFound: string[];
    /** More app registrations than `maxApplications`: the rest were not searched. */
    truncated: boolean;
  }
  | { kind: 'permissionMissing'; permission: typeof GRAPH_PERMISSION.applicationReadAll };

/** How many app registrations a search without named applications looks into (one request each). */
export const DEFAULT_MAX_APPLICATIONS = 500;

const APP_ID_IN_NAME = /^extension_([0-9a-f]{32})_/;

/** The application id (a GUID with dashes) an extension name carries. */
export function applicationIdOf(extensionName: string): string | undefined {
  const hex = APP_ID_IN_NAME.exec(extensionName)?.[1];
  if (hex === undefined) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function toProperty(entry: Record<string, unknown>, appId: string): DiscoveredExtensionProperty {
  return {
    name: text(entry.name),
    appId,
    appDisplayName: text(entry.appDisplayName),
    dataType: text(entry.dataType),
    isMultiValued: entry.isMultiValued === true,
    isSyncedFromOnPremises: entry.isSyncedFromOnPremises === true,
    targetObjects: Array.isArray(entry.targetObjects) ? entry.targetObjects.filter((target): target is string => typeof target === 'string') : [],
  };
}

const PROPERTY_SELECT = '$select=name,appDisplayName,dataType,isMultiValued,isSyncedFromOnPremises,targetObjects';

/**
 * Lists the user extension properties of the given applications (ids with dashes), or, when none
 * is given, of every app registration of the tenant up to `maxApplications`.
 * Costs one request per application searched (plus the listing of applications when none is given).
 */
export async function discoverExtensionProperties(
  graph: SourceGraphClient,
  source: EntraSourceConfig,
  options: { applicationIds?: readonly string[]; maxApplications?: number; abortSignal?: AbortSignal } = {},
): Promise<ExtensionDiscovery> {
  const missing = { kind: 'permissionMissing', permission: GRAPH_PERMISSION.applicationReadAll } as const;
  const wanted = [...new Set((options.applicationIds ?? []).map((id) => id.toLowerCase()))];
  let targets: { path: string; appId: string }[];
  let truncated = false;
  if (wanted.length > 0) {
    targets = wanted.map((appId) => ({ path: `applications(appId='${encodeURIComponent(appId)}')/extensionProperties?${PROPERTY_SELECT}`, appId }));
  } else {
    const applications = await readCollection(graph, source, 'applications?$select=id,appId,displayName&$top=999', options.abortSignal);
    if (applications.kind === 'forbidden') return missing;
    const listed = applications.kind === 'read' ? applications.entries : [];
    const max = options.maxApplications ?? DEFAULT_MAX_APPLICATIONS;
    truncated = listed.length > max;
    targets = listed.slice(0, max).map((app) => ({ path: `applications/${encodeURIComponent(text(app.id))}/extensionProperties?${PROPERTY_SELECT}`, appId: text(app.appId) }));
  }
  const properties: DiscoveredExtensionProperty[] = [];
  const applicationsNotFound: string[] = [];
  for (const target of targets) {
    const read = await readCollection(graph, source, target.path, options.abortSignal);
    if (read.kind === 'forbidden') return missing;
    if (read.kind === 'notFound') {
      applicationsNotFound.push(target.appId);
      continue;
    }
    for (const entry of read.entries) {
      const property = toProperty(entry, target.appId);
      if (property.targetObjects.length === 0 || property.targetObjects.includes('User')) properties.push(property);
    }
  }
  properties.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { kind: 'listed', properties, applicationsSearched: targets.length, applicationsNotFound, truncated };
}
