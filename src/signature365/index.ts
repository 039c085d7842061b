/**
 * The Signature 365 destination. This folder is the only place that knows the directory API's wire
 * format (contract.ts, httpDestinationClient.ts); the rest of the connector sees DestinationClient,
 * the record types, ItemResult and the typed errors. Replace the implementation here if the
 * vendor's real API differs.
 */
export type { ConnectionInfo, DestinationBatch, DestinationClient, ItemResult, SendOptions } from './destinationClient';
export {
  DIRECTORY_API_PATHS,
  MAX_BATCH_BYTES,
  MAX_BATCH_ITEMS,
  signature365GroupSchema,
  signature365UserSchema,
  type MailboxType,
  type Signature365Group,
  type Signature365Manager,
  type Signature365User,
} from './contract';
export {
  DestinationAuthError,
  DestinationError,
  DestinationNetworkError,
  DestinationRequestError,
  DestinationUnavailableError,
  isDestinationError,
} from './errors';
export {
  DEFAULT_SIGNATURE365_ENDPOINT,
  HttpDestinationClient,
  createHttpDestinationClient,
  type DestinationClientStats,
  type DestinationEvent,
  type HttpDestinationClientOptions,
} from './httpDestinationClient';
export { CONTRACT_BATCH_LIMITS, planBatches, type Batch, type BatchEntry, type BatchLimits } from './batching';
