/**
 * Keeps track of when each source's credential ends, for the warnings of every run, `status` and
 * the status page. A certificate's end date is in the config (its PEM), so it costs nothing. A
 * client secret's is on the app registration: it is read through Graph at most every
 * RECHECK_HOURS per source, stored (so `status` in another process sees it) and remembered in this
 * process (so a run every minute costs no storage request for it).
 */
import { credentialExpiry, type CredentialExpiry } from '../graph/credentialExpiry';
import type { EntraSourceConfig } from '../config/types';
import type { Logger } from './logger';
import type { CredentialCheckStore, DirectoryReader } from './ports';

/** A secret's end date rarely changes; a new secret shows within this many hours (or at once in test-connection). */
export const RECHECK_HOURS = 6;
const RECHECK_MS = RECHECK_HOURS * 3_600_000;

export class CredentialWatch {
  private readonly remembered = new Map<string, { checkedAt: number; expiry: CredentialExpiry }>();

  constructor(private readonly checks: CredentialCheckStore | undefined) {}

  /**
   * The credential's expiry as of `now`. Never throws: a failed read (storage or Graph) is logged
   * and answered with the last reading, or `unknown`.
   */
  async current(source: EntraSourceConfig, reader: Pick<DirectoryReader, 'readCredentialExpiry'> | undefined, now: Date, logger: Logger): Promise<CredentialExpiry> {
    if (source.auth.kind !== 'clientSecret') return credentialExpiry(source.auth, now);
    const fresh = (checkedAt: number) => now.getTime() - checkedAt < RECHECK_MS;
    const memo = this.remembered.get(source.name);
    if (memo !== undefined && fresh(memo.checkedAt)) return memo.expiry;
    let last = memo;
    try {
      const stored = await this.checks?.get(source.name);
      if (stored !== undefined) {
        last = { checkedAt: Date.parse(stored.checkedAt), expiry: stored.expiry };
        if (fresh(last.checkedAt)) {
          this.remembered.set(source.name, last);
          return last.expiry;
        }
      }
      if (reader?.readCredentialExpiry === undefined) return last?.expiry ?? credentialExpiry(source.auth, now);
      const expiry = await reader.readCredentialExpiry(now);
      this.remembered.set(source.name, { checkedAt: now.getTime(), expiry });
      await this.checks?.put({ source: source.name, checkedAt: now.toISOString(), expiry }).catch((error: unknown) => {
        logger.info('credential.checkNotStored', { source: source.name, error: error instanceof Error ? error.message : String(error) });
      });
      return expiry;
    } catch (error) {
      logger.info('credential.checkFailed', { source: source.name, error: error instanceof Error ? error.message : String(error), action: `tried again within ${RECHECK_HOURS} hours` });
      // Not asked again at every run while Graph or storage fails: the next try comes with the recheck.
      const answer = last?.expiry ?? credentialExpiry(source.auth, now);
      this.remembered.set(source.name, { checkedAt: now.getTime(), expiry: answer });
      return answer;
    }
  }
}
