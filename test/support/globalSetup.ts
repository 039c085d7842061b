import type { TestProject } from 'vitest/node' with { 'resolution-mode': 'import' };
import { startEmbeddedAzurite, type EmbeddedAzurite } from '../../src/setup/embeddedAzurite';

let azurite: EmbeddedAzurite | undefined;

/** One real Azurite (in memory, free ports) for the whole run; tests isolate by table/queue prefix. */
export async function setup(project: TestProject): Promise<void> {
  azurite = await startEmbeddedAzurite();
  project.provide('storageConnectionString', azurite.connectionString);
  process.env.TEST_STORAGE_CONNECTION_STRING = azurite.connectionString;
}

export async function teardown(): Promise<void> {
  await azurite?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    storageConnectionString: string;
  }
}
