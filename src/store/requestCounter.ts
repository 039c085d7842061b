/**
 * Counts the storage requests the connector makes: every Table request (through a pipeline policy
 * on each table client) and every queue send, by kind, and the entities the Table writes carried.
 * The bench reads it per phase; it costs a counter increment per request.
 */
import type { PipelinePolicy, PipelineRequest } from '@azure/core-rest-pipeline';

export interface StorageRequestCounts {
  /** Every request, of any kind. */
  total: number;
  tableReads: number;
  /** Single-entity writes (insert, update, merge, delete) and table creation. */
  tableWrites: number;
  /** Entity group transactions. */
  tableBatches: number;
  /** Entities in transactions plus single-entity writes. */
  entitiesWritten: number;
  queueRequests: number;
  /** Of `total`, the requests to the audit trail's day tables (what the audit trail costs a run). */
  auditTrailRequests: number;
}

export function emptyCounts(): StorageRequestCounts {
  return { total: 0, tableReads: 0, tableWrites: 0, tableBatches: 0, entitiesWritten: 0, queueRequests: 0, auditTrailRequests: 0 };
}

/** A multipart transaction body holds one HTTP request line per operation. */
function operationsInBatch(request: PipelineRequest): number {
  const body = request.body;
  if (typeof body !== 'string') return 0;
  return (body.match(/^(POST|PUT|PATCH|MERGE|DELETE) https?:\/\//gm) ?? []).length;
}

export class StorageRequestCounter {
  private counts = emptyCounts();

  readonly tablePolicy: PipelinePolicy = {
    name: 'storageRequestCounter',
    sendRequest: async (request, next) => {
      this.counts.total += 1;
      // A transaction names its table in the body only; other requests in the URL.
      if (/AuditTrail/.test(request.url) || (typeof request.body === 'string' && /\/[a-z0-9]*AuditTrail\d{8}/i.test(request.body))) this.counts.auditTrailRequests += 1;
      if (/\/\$batch(\?|$)/.test(request.url)) {
        this.counts.tableBatches += 1;
        this.counts.entitiesWritten += operationsInBatch(request);
      } else if (request.method === 'GET') {
        this.counts.tableReads += 1;
      } else {
        this.counts.tableWrites += 1;
        if (!/\/Tables(\(|\?|$)/.test(request.url)) this.counts.entitiesWritten += 1;
      }
      return next(request);
    },
  };

  countQueueRequest(): void {
    this.counts.total += 1;
    this.counts.queueRequests += 1;
  }

  snapshot(): StorageRequestCounts {
    return { ...this.counts };
  }
}

/** What happened between two snapshots. */
export function difference(after: StorageRequestCounts, before: StorageRequestCounts): StorageRequestCounts {
  const out = emptyCounts();
  for (const key of Object.keys(out) as (keyof StorageRequestCounts)[]) out[key] = after[key] - before[key];
  return out;
}
