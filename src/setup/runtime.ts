/**
 * The composition root: builds the adapters once per process (a Functions worker or a CLI run)
 * and hands the core the ports it needs. Nothing here decides anything; it only wires.
 */
import type { ConnectorConfig } from '../config/types';
import { createGraphDirectoryReader, type GraphDirectoryReader, type GraphDirectoryReaderOptions } from '../graph';
import { createSubscriptionsApi } from '../graph/subscriptionsApi';
import type { NotificationEndpoints } from '../realtime/notificationEndpoints';
import type { SubscriptionsApi } from '../realtime/ports';
import { SubscriptionLookup } from '../realtime/subscriptionLookup';
import { SubscriptionManager } from '../realtime/subscriptionManager';
import { newWebhookCounters, type WebhookCounters } from '../realtime/webhookCounters';
import type { WebhookDependencies } from '../realtime/webhookHandler';
import type { PullCoalescerDeps } from '../realtime/pullCoalescer';
import { TablePullGateStore } from '../store/pullGateStore';
import { TableSubscriptionStore } from '../store/subscriptionStore';
import { createHttpDestinationClient, type HttpDestinationClientOptions } from '../signature365/httpDestinationClient';
import { uploadSlotsFor } from '../signature365/uploadSlots';
import type { DestinationClient as HttpDestination } from '../signature365/destinationClient';
import { TableAuditStore } from '../store/auditStore';
import { TableObjectAuditLog } from '../store/objectAuditStore';
import { TableCredentialCheckStore } from '../store/credentialCheckStore';
import { CredentialWatch } from '../sync/credentialWatch';
import { TableConflictStore } from '../store/conflictStore';
import { TableDeletionStateStore } from '../store/deletionStore';
import { ConnectorQueues } from '../store/connectorQueues';
import { PoisonQueues } from '../store/poisonQueues';
import { TableDestinationHealthStore } from '../store/destinationHealthStore';
import { TableCursorStore, TableLockStore, TableMirrorStore } from '../store';
import { TableChangeJournal } from '../store/journalStore';
import { TableLedgerStore } from '../store/ledgerStore';
import { TableOutboxStore } from '../store/outboxStore';
import { TablePauseStore } from '../store/pauseStore';
import { TableReportsIndex } from '../store/reportsIndex';
import { TableRunHistoryStore } from '../store/runHistoryStore';
import type { StorageRequestCounter } from '../store/requestCounter';
import type { StorageTarget } from '../store/storageAccount';
import { InProcessUploadExecutor } from '../sync/inProcessUploads';
import type { SyncProgress } from '../sync/syncProgress';
import type { Logger } from '../sync/logger';
import type { UploadDependencies } from '../sync/processUpload';
import { QueueUploadExecutor } from '../sync/queueUploads';
import type { SyncDependencies } from '../sync/runSync';
import type { UploadExecutor } from '../sync/uploadWork';
import { readUploadConcurrencyPerDestination } from './appSettings';
import { startEmbeddedAzurite, type EmbeddedAzurite } from './embeddedAzurite';
import { localHolderPrefix } from './localHolder';
import { storageTargetFromSettings } from './storageTarget';
import { processScrubber } from './secretScrubber';
import { LOCKED_PULL_RETRY_DELAY_IN_SECONDS } from '../sync/lockedPullRetry';

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
  /** Counts every storage request (the bench). */
  requestCounter?: StorageRequestCounter;
  /** Notified pulls of a source start at least this far apart (default 10 s; tests shorten it). */
  minMsBetweenNotifiedPulls?: number;
  /** How long a requested pull that found its source locked waits on the queue before it tries again (default 60 s; tests shorten it). */
  lockedPullRetryDelayInSeconds?: number;
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
  readonly journal: TableChangeJournal;
  readonly ledger: TableLedgerStore;
  readonly outbox: TableOutboxStore;
  readonly reports: TableReportsIndex;
  readonly health: TableDestinationHealthStore;
  readonly conflicts: TableConflictStore;
  readonly deletions: TableDeletionStateStore;
  readonly audit: TableAuditStore;
  /** The audit trail: a row per write or skip decision per object and destination. */
  readonly auditTrail: TableObjectAuditLog;
  /** The last reading of each source's credential end date (client secrets are read through Graph). */
  readonly credentialChecks: TableCredentialCheckStore;
  /** The administrator's paused mappings (`pause`, `resume`), read by plans, the reconcile, the upload worker and status. */
  readonly pauses: TablePauseStore;
  /** Each source's last runs (the status page's trends). */
  readonly runHistory: TableRunHistoryStore;
  readonly queues: ConnectorQueues;
  /** Depths of the queues and their poison queues (status), re-drive and clear (`queues` command). */
  readonly poisonQueues: PoisonQueues;
  readonly subscriptions: TableSubscriptionStore;
  readonly pullGates: TablePullGateStore;
  /** What this process's webhook saw (serve shows it in /api/status). */
  readonly webhookCounters: WebhookCounters;
  /** The coalescing gate of notified pulls, as every user of it must see it (same spacing). */
  readonly pullCoalescing: PullCoalescerDeps;
  /** See RuntimeOptions.lockedPullRetryDelayInSeconds. */
  readonly lockedPullRetryDelayInSeconds: number;
  /** Who holds locks taken by this process. */
  readonly holder: string;
  readerFor(sourceName: string): GraphDirectoryReader;
  destination(name: string): HttpDestination | undefined;
  syncDependencies(executor: UploadExecutor): SyncDependencies;
  /** Sends uploads from this process (the CLI, `serve`). */
  inProcessExecutor(options?: { concurrency?: number; progress?: SyncProgress }): InProcessUploadExecutor;
  /** Hands uploads to the uploads queue (the Functions app, `sync --queues`). */
  queueExecutor(options?: { progress?: SyncProgress }): QueueUploadExecutor;
  /** What the upload worker (queue path) needs. */
  uploadDependencies(): UploadDependencies;
  subscriptionsApiFor(sourceName: string): SubscriptionsApi;
  /** What the webhook needs; `webhookKey`: the `code` every request must carry, when set. */
  webhookDependencies(options: { webhookKey?: string | undefined }): WebhookDependencies;
  subscriptionManager(endpoints: NotificationEndpoints | { unavailable: string }): SubscriptionManager;
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
  // Read before anything starts, so a bad value fails the run with a message naming the setting.
  const uploadConcurrency = readUploadConcurrencyPerDestination(env);
  const counter = options.requestCounter;
  const access = { additionalPolicies: counter === undefined ? [] : [counter.tablePolicy] };
  const mirror = new TableMirrorStore(storage, access);
  const cursors = new TableCursorStore(storage, access);
  const locks = new TableLockStore(storage, access);
  const journal = new TableChangeJournal(storage, access);
  const ledger = new TableLedgerStore(storage, access);
  const outbox = new TableOutboxStore(storage, access);
  const reports = new TableReportsIndex(storage, access);
  const health = new TableDestinationHealthStore(storage, access);
  const conflicts = new TableConflictStore(storage, access);
  const deletions = new TableDeletionStateStore(storage, access);
  const audit = new TableAuditStore(storage, access);
  const auditTrail = new TableObjectAuditLog(storage, access);
  // Rows in the Health table, which `health.initialize()` creates: no initialize of its own.
  const credentialChecks = new TableCredentialCheckStore(storage, access);
  const credentialWatch = new CredentialWatch(credentialChecks);
  const pauses = new TablePauseStore(storage, access);
  const runHistory = new TableRunHistoryStore(storage, access);
  const queues = new ConnectorQueues(storage, counter === undefined ? {} : { onRequest: () => counter.countQueueRequest() });
  const subscriptions = new TableSubscriptionStore(storage, access);
  const pullGates = new TablePullGateStore(storage, access);
  try {
    await Promise.all([
      mirror.initialize(), cursors.initialize(), locks.initialize(), journal.initialize(), ledger.initialize(), outbox.initialize(),
      reports.initialize(), health.initialize(), conflicts.initialize(), deletions.initialize(), audit.initialize(), auditTrail.initialize(), pauses.initialize(), queues.initialize(),
      subscriptions.initialize(), pullGates.initialize(), runHistory.initialize(),
    ]);
  } catch (error) {
    await embedded?.stop();
    throw error;
  }

  const readers = new Map<string, GraphDirectoryReader>();
  const subscriptionApis = new Map<string, SubscriptionsApi>();
  const destinations = new Map<string, HttpDestination>();
  const subscriptionLookup = new SubscriptionLookup(subscriptions);
  const webhookCounters = newWebhookCounters();
  const sourceConfig = (name: string) => config.sources.find((source) => source.name === name);

  const runtime: ConnectorRuntime = {
    config, storage, embeddedStorage: embedded !== undefined, logger: options.logger,
    mirror, cursors, locks, journal, ledger, outbox, reports, health, conflicts, deletions, audit, auditTrail, credentialChecks, pauses, runHistory, queues, subscriptions, pullGates,
    poisonQueues: new PoisonQueues(storage),
    webhookCounters,
    pullCoalescing: {
      gates: pullGates, queue: queues,
      ...(options.minMsBetweenNotifiedPulls !== undefined ? { minIntervalMs: options.minMsBetweenNotifiedPulls } : {}),
    },
    lockedPullRetryDelayInSeconds: options.lockedPullRetryDelayInSeconds ?? LOCKED_PULL_RETRY_DELAY_IN_SECONDS,
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
        const log = options.logger.child({ destination: name, ...(destination.displayName === undefined ? {} : { destinationName: destination.displayName }) });
        client = createHttpDestinationClient(destination, {
          ...options.destinations,
          uploadSlots: uploadSlotsFor(name, uploadConcurrency),
          onEvent: (event) => log.info(`destination.${event.type}`, { ...event }),
        });
        destinations.set(name, client);
      }
      return client;
    },
    syncDependencies(executor) {
      return {
        config, mirror, cursors, locks, journal, ledger, reports, conflicts, planState: cursors, dispatches: cursors, health, deletions, pauses, executor,
        logger: options.logger, readerFor: (name) => runtime.readerFor(name), credentialWatch, runHistory,
        destinationListing: (name) => runtime.destination(name), audit: auditTrail,
      };
    },
    inProcessExecutor(executorOptions = {}) {
      return new InProcessUploadExecutor({
        ledger, health, deletions, audit: auditTrail,
        destination: (name) => runtime.destination(name),
        sourceKey: (name) => sourceConfig(name)?.tenantId,
      }, executorOptions);
    },
    queueExecutor(executorOptions = {}) {
      return new QueueUploadExecutor({ ledger, outbox, queue: queues, dispatches: cursors }, executorOptions);
    },
    uploadDependencies() {
      return {
        ledger, outbox, health, deletions, pauses, audit: auditTrail, logger: options.logger, deleteAfterDays: config.options.deleteAfterDays,
        destination: (name) => runtime.destination(name),
        sourceKey: (name) => sourceConfig(name)?.tenantId,
      };
    },
    subscriptionsApiFor(sourceName) {
      let api = subscriptionApis.get(sourceName);
      if (api === undefined) {
        const source = sourceConfig(sourceName);
        if (source === undefined) throw new Error(`EntraId.${sourceName} is not in the configuration`);
        const graph = options.graph ?? {};
        api = createSubscriptionsApi(source, {
          ...(graph.credential !== undefined ? { credential: graph.credential } : {}),
          ...(graph.maxRetries !== undefined ? { maxRetries: graph.maxRetries } : {}),
          ...(graph.requestTimeoutInMs !== undefined ? { requestTimeoutInMs: graph.requestTimeoutInMs } : {}),
        });
        subscriptionApis.set(sourceName, api);
      }
      return api;
    },
    webhookDependencies({ webhookKey }) {
      processScrubber.register(webhookKey);
      return {
        ...runtime.pullCoalescing, lookup: subscriptionLookup, counters: webhookCounters, logger: options.logger,
        tenantOf: (name) => sourceConfig(name)?.tenantId,
        ...(webhookKey !== undefined ? { webhookKey } : {}),
      };
    },
    subscriptionManager(endpoints) {
      return new SubscriptionManager({
        store: subscriptions, apiFor: (name) => runtime.subscriptionsApiFor(name), sources: config.sources.map((s) => s.name),
        ...runtime.pullCoalescing, endpoints, locks, holder: runtime.holder, deltaIntervalMinutes: config.options.deltaIntervalMinutes,
        logger: options.logger, lookup: subscriptionLookup, registerSecret: (value) => processScrubber.register(value),
      });
    },
    async close() {
      await embedded?.stop();
    },
  };
  return runtime;
}
