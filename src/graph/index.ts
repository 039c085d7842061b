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
export { GROUP_SELECT, USER_SELECT, parseDeltaPage, parseGroupItem, parseUserItem, MalformedDeltaPageError } from './parseDeltaPage';
