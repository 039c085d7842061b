import {
  AzureAuthorityHosts,
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  type TokenCredential,
} from '@azure/identity';
import type { EntraSourceConfig } from '../config/types';

const WELL_KNOWN_AUTHORITY_HOSTS: ReadonlySet<string> = new Set(
  [
    AzureAuthorityHosts.AzurePublicCloud,
    AzureAuthorityHosts.AzureGovernment,
    AzureAuthorityHosts.AzureChina,
  ].map((url) => new URL(url).host.toLowerCase()),
);

/**
 * MSAL validates an authority against Entra's instance-discovery endpoint unless told not to; that call
 * only works for the clouds Entra knows. Any other host (a sovereign deployment MSAL does not list, or the
 * local fake used in tests and the demo) is trusted as configured.
 */
export function isWellKnownAuthorityHost(authorityHost: string): boolean {
  return WELL_KNOWN_AUTHORITY_HOSTS.has(new URL(authorityHost).host.toLowerCase());
}

/** One TokenCredential per source, built from its resolved auth settings. */
export function createSourceCredential(source: EntraSourceConfig): TokenCredential {
  const common = {
    authorityHost: source.authorityHost,
    disableInstanceDiscovery: !isWellKnownAuthorityHost(source.authorityHost),
  };
  const auth = source.auth;
  switch (auth.kind) {
    case 'clientSecret':
      return new ClientSecretCredential(source.tenantId, auth.clientId, auth.clientSecret, common);
    case 'certificate':
      return new ClientCertificateCredential(
        source.tenantId,
        auth.clientId,
        auth.certificatePassword === undefined
          ? { certificate: auth.certificatePem }
          : { certificate: auth.certificatePem, certificatePassword: auth.certificatePassword },
        { ...common, sendCertificateChain: auth.sendCertificateChain },
      );
    case 'managedIdentity':
      // The managed identity endpoint issues tokens for the cloud the Function runs in; authorityHost does not apply.
      return auth.clientId === undefined
        ? new ManagedIdentityCredential()
        : new ManagedIdentityCredential({ clientId: auth.clientId });
  }
}
