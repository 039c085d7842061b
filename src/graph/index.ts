export { createSourceCredential, isWellKnownAuthorityHost } from './credential';
export {
  createGraphClient, graphRoot, graphScope, SourceGraphClient, GRAPH_API_VERSION, type GraphClientOptions,
} from './graphClient';
export {
  createGraphDirectoryReader, type GraphDirectoryReader, type GraphDirectoryReaderOptions, type GraphReaderStats,
} from './deltaReader';
export {
  DeltaTokenExpiredError, GraphAuthenticationError, GraphPermissionError, GraphRequestError, REQUIRED_PERMISSIONS,
} from './errors';
export { readTenantDomains, verifiedDomainNames, type DomainsRead, type TenantDomain } from './domains';
export {
  applicationIdOf, discoverExtensionProperties, DEFAULT_MAX_APPLICATIONS, type DiscoveredExtensionProperty, type ExtensionDiscovery,
} from './extensionProperties';
export { GROUP_SELECT, USER_SELECT, parseDeltaPage, parseGroupItem, parseUserItem, MalformedDeltaPageError } from './parseDeltaPage';
