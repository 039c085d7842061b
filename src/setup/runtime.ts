/**
 * The composition root: builds the adapters once per process (a Functions worker or a CLI run)
 * and hands the core the ports it needs. Nothing here decides anything; it only wires.
 */
import type { ConnectorConfig } from '../config/types';
import { createGraphDirectoryReader, type GraphDirectoryReader, type GraphDirectoryReaderOptions } from '../graph';
import { createHttpDestinationClient, type HttpDestinationClientOptions } from '../signature365/httpDestinationClient';
import type { DestinationClient as HttpDestination } from '../signature365/destinationClient';
import { TableAuditStore } from '../store/auditStore';
import { TableConflictStore } from '../store/conflictStore';
import { TableDeletionStateStore } from '../store/deletionStore';
import { ConnectorQueues } from '../store/connectorQueues';
import { TableDestinationHealthStore } from '../store/destinationHealthStore';
import { TableCursorStore, TableLockStore, TableMirrorStore } from '../store';
import type { StorageTarget } from '../store/storageAccount';
import { TableUploadStateStore } from '../store/uploadStateStore';
import type { Logger } from '../sync/logger';
import type { UploadDispatcher } from '../sync/ports';
import type { UploadDependencies } from '../sync/processUpload';
import type { SyncDependencies } from '../sync/runSync';
import { startEmbeddedAzurite, type EmbeddedAzurite } from './embeddedAzurite';
import { localHolderPrefix } from './localHolder';
import { storageTargetFromSettings } from './storageTarget';

export interface RuntimeOptions {
  config: ConnectorConfig;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** Overrides the storage from app settings (tests, demo). */
  storage?: StorageTarget;
  /** Start an Azurite when no storage is configured (the CLI's embedded default): in memory, or persisted to `folder`. */
  embeddedStorageWhenUnset?: boolean | { folder: string };
  graph?: GraphDirectoryReaderOptions;
  destinations?: HttpDestinationClientOptions;
}

export interface ConnectorRuntime {
  readonly config: ConnectorConfig;
  readonly storage: StorageTarget;
  /** True when this runtime started its own Azurite (the CLI says so: nothing persists). */
  readonly embeddedStorage: boolean;
  readonly logger: Logger;
  readonly mirror: TableMirrorStore;
  readonly cursors: TableCursorStore;
  readonly locks: TableLockStore;
  readonly ledger: TableUploadStateStore;
  readonly health: TableDestinationHealthStore;
  readonly conflicts: TableConflictStore;
  readonly deletions: TableDeletionStateStore;
  readonly audit: TableAuditStore;
  readonly queues: ConnectorQueues;
  /** Who holds locks taken by this process. */
  readonly holder: string;
  readerFor(sourceName: string): GraphDirectoryReader;
  destination(name: string): HttpDestination | undefined;
  syncDependencies(dispatcher: UploadDispatcher): SyncDependencies;
  uploadDependencies(): UploadDependencies;
  close(): Promise<void>;
}

export async function createRuntime(options: RuntimeOptions): Promise<ConnectorRuntime> {
  const env = options.env ?? process.env;
  let embedded: EmbeddedAzurite | undefined;
  let storage = options.storage ?? storageTargetFromSettings(env);
  if (storage === undefined) {
    const embeddedOption = options.embeddedStorageWhenUnset;
    if (embeddedOption === undefined || embeddedOption === false) {
      throw new Error('No storage configured: set AzureWebJobsStorage (a connection string) or AzureWebJobsStorage__accountName (managed identity).');
    }
    const folder = typeof embeddedOption === 'object' ? embeddedOption.folder : undefined;
    embedded = await startEmbeddedAzurite(folder !== undefined ? { location: folder } : {});
    storage = { kind: 'connectionString', connectionString: embedded.connectionString, prefix: 's365' };
    options.logger.info('storage.embedded', { persistedTo: folder ?? 'memory (nothing persists after this run)' });
  }
  const config = options.config;
  const mirror = new TableMirrorStore(storage);
  const cursors = new TableCursorStore(storage);
  const locks = new TableLockStore(storage);
  const ledger = new TableUploadStateStore(storage);
  const health = new TableDestinationHealthStore(storage);
  const conflicts = new TableConflictStore(storage);
  const deletions = new TableDeletionStateStore(storage);
  const audit = new TableAuditStore(storage);
  const queues = new ConnectorQueues(storage);
  try {
    await Promise.all([
      mirror.initialize(), cursors.initialize(), locks.initialize(), ledger.initialize(), health.initialize(), conflicts.initialize(),
      deletions.initialize(), audit.initialize(), queues.initialize(),
    ]);
  } catch (error) {
    await embedded?.stop();
    throw error;
  }

  const readers = new Map<string, GraphDirectoryReader>();
  const destinations = new Map<string, HttpDestination>();
  const sourceConfig = (name: string) => config.sources.find((source) => source.name === name);

  const runtime: ConnectorRuntime = {
    config, storage, embeddedStorage: embedded !== undefined, logger: options.logger,
    mirror, cursors, locks, ledger, health, conflicts, deletions, audit, queues,
    holder: localHolderPrefix(),
    readerFor(sourceName) {
      let reader = readers.get(sourceName);
      if (reader === undefined) {
        const source = sourceConfig(sourceName);
        if (source === undefined) throw new Error(`EntraId.${sourceName} is not in the configuration`);
        reader = createGraphDirectoryReader(source, options.graph);
        readers.set(sourceName, reader);
      }
      return reader;
    },
    destination(name) {
      let client = destinations.get(name);
      if (client === undefined) {
        const destination = config.destinations.find((d) => d.name === name);
        if (destination === undefined) return undefined;
        const log = options.logger.child({ destination: name });
        client = createHttpDestinationClient(destination, { ...options.destinations, onEvent: (event) => log.info(`destination.${event.type}`, { ...event }) });
        destinations.set(name, client);
      }
      return client;
    },
    syncDependencies(dispatcher) {
      return { config, mirror, cursors, locks, ledger, health, conflicts, deletions, dispatcher, logger: options.logger, readerFor: (name) => runtime.readerFor(name) };
    },
    uploadDependencies() {
      return {
        ledger, health, deletions, logger: options.logger,
        destination: (name) => runtime.destination(name),
        sourceKey: (name) => sourceConfig(name)?.tenantId,
      };
    },
    async close() {
      await embedded?.stop();
    },
  };
  return runtime;
}
