/**
 * The CLI's sync (pull, plan, in-process uploads) run inside the test process, for fault tests
 * that need a client option the CLI does not expose (Graph's per-request timeout) or that look
 * at the run summary. Each sync builds a fresh runtime, as a new CLI process would: nothing is
 * carried in memory from one run to the next, only what storage holds.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../src/config/load';
import type { ConnectorConfig } from '../../src/config/types';
import type { GraphDirectoryReaderOptions } from '../../src/graph';
import { createRuntime } from '../../src/setup/runtime';
import { TableLedgerStore } from '../../src/store/ledgerStore';
import type { StorageTarget } from '../../src/store/storageAccount';
import { totalUploads } from '../../src/cli/syncCommand';
import { silentLogger } from '../../src/sync/logger';
import { runSync, type SyncRunSummary } from '../../src/sync/runSync';
import { emptyExecutionSummary, type ExecutionSummary } from '../../src/sync/uploadWork';

export interface InProcessSyncResult {
  summary: SyncRunSummary;
  uploads: ExecutionSummary;
}

export interface InProcessConnector {
  readonly config: ConnectorConfig;
  readonly storage: StorageTarget;
  sync(options?: { forceFull?: boolean; reconcileDestinations?: boolean; dryRun?: boolean; sources?: string[] }): Promise<InProcessSyncResult>;
  readonly ledger: TableLedgerStore;
}

/** `rawConfig` as in config.json (secrets as "@AppSetting(NAME)"), `settings` the app settings it refers to. */
export async function inProcessConnector(
  rawConfig: Record<string, unknown>,
  settings: Record<string, string>,
  storage: StorageTarget,
  graph: GraphDirectoryReaderOptions = {},
  pull: { batchObjects?: number } = {},
): Promise<InProcessConnector> {
  const { config } = await loadConfig({ ...settings, CONNECTOR_CONFIG: JSON.stringify(rawConfig) });
  const ledger = new TableLedgerStore(storage);
  await ledger.initialize();
  return {
    config,
    storage,
    ledger,
    async sync(options = {}) {
      const runtime = await createRuntime({ config, logger: silentLogger, storage, graph });
      try {
        const runId = randomUUID();
        const summary = await runSync(runtime.syncDependencies(runtime.inProcessExecutor()), {
          runId, holder: `test:${runId}`, forceFull: options.forceFull ?? false, ...(pull.batchObjects !== undefined ? { batchObjects: pull.batchObjects } : {}),
          ...(options.reconcileDestinations === true ? { reconcileDestinations: true } : {}), ...(options.dryRun === true ? { dryRun: true } : {}),
          ...(options.sources !== undefined ? { sources: options.sources } : {}),
        });
        return { summary, uploads: totalUploads(summary) ?? emptyExecutionSummary() };
      } finally {
        await runtime.close();
      }
    },
  };
}
