import { TableClient, TableServiceClient } from '@azure/data-tables';
import { QueueClient } from '@azure/storage-queue';
import { BlobServiceClient } from '@azure/storage-blob';
import type { TokenCredential } from '@azure/core-auth';

/**
 * Where the connector keeps its state. Either a connection string (Azurite, local runs,
 * on-premises) or an account reached with a token credential (managed identity in Azure,
 * where shared keys are switched off).
 */
export type StorageTarget =
  | { kind: 'connectionString'; connectionString: string; prefix: string }
  | { kind: 'identity'; tableEndpoint: string; queueEndpoint: string; blobEndpoint: string; credential: TokenCredential; prefix: string };

/** Table and queue names carry a prefix so several deployments (or test cases) share one account safely. */
export function tableName(target: StorageTarget, base: string): string {
  return `${target.prefix}${base}`;
}

export function queueName(target: StorageTarget, base: string): string {
  return `${target.prefix}-${base}`.toLowerCase();
}

export function isLoopback(connectionString: string): boolean {
  return /Endpoint=https?:\/\/(127\.0\.0\.1|localhost|\[::1\])/i.test(connectionString) || /UseDevelopmentStorage=true/i.test(connectionString);
}

export function createTableClient(target: StorageTarget, base: string): TableClient {
  const name = tableName(target, base);
  if (target.kind === 'connectionString') {
    return TableClient.fromConnectionString(target.connectionString, name, {
      allowInsecureConnection: isLoopback(target.connectionString),
    });
  }
  return new TableClient(target.tableEndpoint, name, target.credential);
}

/** The account's table service: listing and deleting whole tables (the audit trail's day tables). */
export function createTableServiceClient(target: StorageTarget): TableServiceClient {
  if (target.kind === 'connectionString') {
    return TableServiceClient.fromConnectionString(target.connectionString, { allowInsecureConnection: isLoopback(target.connectionString) });
  }
  return new TableServiceClient(target.tableEndpoint, target.credential);
}

export function createQueueClient(target: StorageTarget, base: string): QueueClient {
  const name = queueName(target, base);
  if (target.kind === 'connectionString') {
    return new QueueClient(target.connectionString, name);
  }
  return new QueueClient(`${target.queueEndpoint.replace(/\/$/, '')}/${name}`, target.credential);
}

export function createBlobServiceClient(target: StorageTarget): BlobServiceClient {
  if (target.kind === 'connectionString') {
    return BlobServiceClient.fromConnectionString(target.connectionString);
  }
  return new BlobServiceClient(target.blobEndpoint, target.credential);
}
