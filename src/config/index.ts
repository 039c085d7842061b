export type * from './types';
export { ConfigError, formatPath, type ConfigIssue } from './errors';
export { CLOUDS, CLOUD_NAMES, DEFAULT_CLOUD, cloudOf, type CloudEndpoints, type CloudName } from './clouds';
export {
  APP_SETTING_REFERENCE,
  DEFAULT_SIGNATURE365_ENDPOINT,
  NAME_PATTERN,
  TOKEN_PREFIX,
  buildConfigJsonSchema,
  configFileSchema,
  type ConfigFile,
  type ConfigFileInput,
} from './schema';
export { resolveConfig, resolveConfigReport, type ResolveOptions, type ResolvedConfigReport } from './resolve';
export { storageKeyOf } from './storageKey';
export { destinationLabel, displayNameOf, sourceLabel } from './names';
export { loadConfig, type BlobAccess, type ConfigOrigin, type LoadConfigDeps, type LoadedConfig } from './load';
export { findDuplicateKeys, locateJsonError, parseConfigText, type DuplicateKey, type JsonSyntaxProblem, type TextPosition } from './jsonText';
export { configSecrets, describeConfig, maskSecret } from './mask';
