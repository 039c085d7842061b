/**
 * The resolved configuration the rest of the connector uses. `config.json` keeps the vendor's
 * spelling (EntraId / Signature365 / Mappings, PascalCase keys); src/config/schema.ts parses it
 * and src/config/resolve.ts turns it into these types.
 */
import type { FilterExpression } from './userFilter';

export type SourceAuth =
  | { kind: 'clientSecret'; clientId: string; clientSecret: string }
  | { kind: 'certificate'; clientId: string; certificatePem: string; certificatePassword?: string; sendCertificateChain: boolean }
  | {
      kind: 'managedIdentity';
      clientId?: string;
      /**
       * True when the config gave TenantId + ClientId and no method (the vendor's container shape):
       * the ClientId is taken as a user-assigned managed identity. Only changes how it is described.
       */
      inferred?: boolean;
    };

export interface EntraSourceConfig {
  /**
   * The storage key of the name under EntraId (src/config/storageKey.ts): the name itself when it
   * is letters, digits, "-" and "_" (e.g. "Default"). Every store, lock and queue message uses it.
   */
  name: string;
  /** The name as written under EntraId, for people (absent: the same as `name`). */
  displayName?: string;
  tenantId: string;
  auth: SourceAuth;
  /** Token authority, e.g. https://login.microsoftonline.com (Global), https://login.microsoftonline.us (USGov). */
  authorityHost: string;
  /** Graph root without version, e.g. https://graph.microsoft.com. */
  graphEndpoint: string;
  /**
   * Directory extension properties read on users (`extension_<appId>_<name>`), from
   * EntraId.<Name>.ExtensionProperties; absent or empty: none.
   */
  extensionProperties?: readonly string[];
}

export interface DestinationConfig {
  /**
   * The storage key of the name under Signature365 (src/config/storageKey.ts): "Tenant1" stays
   * "Tenant1", "Contoso Ltd" becomes "Contoso_Ltd.<hash>". Every store and queue message uses it.
   */
  name: string;
  /** The name as written under Signature365, e.g. "Contoso Ltd", for people (absent: the same as `name`). */
  displayName?: string;
  /** The idscl_ integration token. Never logged; use maskSecret() for display. */
  token: string;
  tenantId?: string;
  /** Defaults to https://app.signature365.com */
  endpoint: string;
}

export interface MappingConfig {
  /** Position in the Mappings array (0-based), used in messages as Mappings[i]. */
  index: number;
  /** The source's storage key (EntraSourceConfig.name), not the name as written. */
  source: string;
  /** The destination's storage key (DestinationConfig.name), not the name as written. */
  destination: string;
  /** Entra group object ids (lower-case GUIDs); empty = the whole source. */
  limitToGroups: string[];
  /** User object ids, UPNs or group ids excluded from this mapping. */
  exclude: string[];
  /** User object ids or UPNs added even when outside LimitToGroups. */
  include: string[];
  /** Mappings[i].Filter as written and parsed (src/config/userFilter.ts), or null when absent. */
  filter: { text: string; expression: FilterExpression } | null;
}

export type ConflictPolicy = 'All' | 'FirstMapping';

export interface ConnectorOptions {
  /** How often the timer pulls deltas, minutes. Default 15. */
  deltaIntervalMinutes: number;
  /** A full (reconcile) round is run when the last completed one is older than this, hours. Default 24. */
  fullReconcileHours: number;
  includeDisabledUsers: boolean;
  includeGuests: boolean;
  requireMail: boolean;
  /** Only users with at least one assigned license (assignedLicenses not empty) are candidates. Default false. */
  licensedUsersOnly: boolean;
  onConflict: ConflictPolicy;
  /** Grace period before a user who left scope is deleted at the destination. Default 7. */
  deleteAfterDays: number;
  /** Most deletions per destination and kind within 24 hours before they wait for approval. Default 20%. */
  deleteThreshold: DeleteThreshold;
  /** Upper bound of a percentage threshold. Default 500. */
  deleteThresholdMax: number;
  /** Days the audit trail is kept (whole UTC days are dropped after this). Default 30. */
  auditRetentionDays: number;
}

/**
 * Options.DeleteThreshold resolved: a fixed count (0 = every deletion needs approval), a
 * percentage of what the destination holds, or off (no limit; the empty-scope guard still holds).
 */
export type DeleteThreshold =
  | { kind: 'count'; count: number }
  | { kind: 'percent'; percent: number }
  | { kind: 'off' };

export interface ConnectorConfig {
  sources: EntraSourceConfig[];
  destinations: DestinationConfig[];
  mappings: MappingConfig[];
  options: ConnectorOptions;
}
