/**
 * Writes audit trail rows without ever failing or holding back the sync: called after the ledger
 * holds what the rows describe, so a lost row never loses a send or a ledger update; a storage
 * error is logged (`audit.writeFailed`, a warning) and the run goes on. The rows are lost then:
 * the audit trail is a record for people, not state the sync depends on.
 */
import { errorFields, type Logger } from './logger';
import type { ObjectAuditLog, ObjectAuditRow } from './ports';

export async function recordAudit(audit: ObjectAuditLog | undefined, rows: readonly ObjectAuditRow[], logger: Logger): Promise<void> {
  if (audit === undefined || rows.length === 0) return;
  try {
    await audit.recordMany(rows);
  } catch (error) {
    logger.warn('audit.writeFailed', { ...errorFields(error), rows: rows.length });
  }
}
