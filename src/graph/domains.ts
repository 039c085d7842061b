/**
 * The tenant's domains (GET /domains, Domain.Read.All). A user whose mail address is in a domain
 * the tenant has not verified is a common reason for a signature not matching; status and
 * test-connection report it. Read on demand only: never on the pull or plan path.
 */
import type { EntraSourceConfig } from '../config/types';
import { readCollection } from './collectionReader';
import type { SourceGraphClient } from './graphClient';
import { GRAPH_PERMISSION } from './permissions';

export interface TenantDomain {
  /** The domain name, lower case. */
  name: string;
  isVerified: boolean;
  isDefault: boolean;
}

export type DomainsRead =
  | { kind: 'listed'; domains: TenantDomain[] }
  | { kind: 'permissionMissing'; permission: typeof GRAPH_PERMISSION.domainReadAll };

export async function readTenantDomains(graph: SourceGraphClient, source: EntraSourceConfig, abortSignal?: AbortSignal): Promise<DomainsRead> {
  const read = await readCollection(graph, source, 'domains?$select=id,isVerified,isDefault', abortSignal);
  if (read.kind === 'forbidden') return { kind: 'permissionMissing', permission: GRAPH_PERMISSION.domainReadAll };
  const entries = read.kind === 'read' ? read.entries : [];
  const domains = entries
    .filter((entry) => typeof entry.id === 'string' && entry.id.length > 0)
    .map((entry) => ({ name: String(entry.id).toLowerCase(), isVerified: entry.isVerified === true, isDefault: entry.isDefault === true }));
  return { kind: 'listed', domains };
}

/** The verified domain names, lower case: what `unverifiedMailDomains` checks mail against. */
export function verifiedDomainNames(domains: readonly TenantDomain[]): Set<string> {
  return new Set(domains.filter((domain) => domain.isVerified).map((domain) => domain.name));
}
