export { TableMirrorStore, type TableStoreOptions } from './mirrorStore';
export { TableCursorStore } from './cursorStore';
export { TableLockStore, type LockStoreOptions } from './lockStore';
export { LockLostError, StorageError } from './errors';
export { SCHEMA_VERSION, TABLE_NAMES } from './entityCodec';
export { submitBatched, runWithConcurrency, type TableAccessOptions } from './tableBatch';
export {
  createBlobServiceClient, createQueueClient, createTableClient, queueName, tableName, type StorageTarget,
} from './storageAccount';
