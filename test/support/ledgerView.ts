/** The upload ledger as tests look at it: entries by object id, whatever bucket holds them. */
import type { LedgerEntry, LedgerStore, UploadKind } from '../../src/sync/ports';

export async function ledgerEntries(ledger: LedgerStore, destination: string, source: string, kind: UploadKind): Promise<Map<string, LedgerEntry>> {
  const read = await ledger.read({ destination, source, kind }, 'all');
  const out = new Map<string, LedgerEntry>();
  for (const entries of read.buckets.values()) for (const [id, entry] of entries) out.set(id, entry);
  return out;
}

export async function ledgerEntry(ledger: LedgerStore, destination: string, source: string, kind: UploadKind, id: string): Promise<LedgerEntry | undefined> {
  return (await ledgerEntries(ledger, destination, source, kind)).get(id);
}
