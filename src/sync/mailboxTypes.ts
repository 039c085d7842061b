/**
 * Mailbox types (shared, room, equipment, user), read lazily by the plan. Delta cannot carry
 * them, and reading one costs a Graph request per user, so the plan reads only:
 * 1. users it places at some destination (in scope), never the others;
 * 2. whose type was never read (a new user, or one that came into scope), in any plan;
 * 3. all of them again only in a plan that follows a full round (the daily reconcile), which is
 *    when a mailbox converted to shared is picked up. An incremental change to a user whose type
 *    is known costs nothing here: the no-op and title-change paths make no extra request.
 * Without MailboxSettings.Read the first refusal stops the reads for the rest of the plan, types
 * never read are stored as "unknown" (so later change-driven plans ask nothing), one warning is
 * logged per plan that was refused (`graph.mailboxSettingsDenied`), and nothing fails.
 * Under dry run nothing is read (the plan writes nothing, and the mirror is where types live).
 */
import type { MirrorUser } from './directory';
import type { Logger } from './logger';
import type { DirectoryReader, MirrorStore } from './ports';

export interface MailboxTypeReads {
  reader: Pick<DirectoryReader, 'readMailboxTypes'>;
  mirror: Pick<MirrorStore, 'putMailboxTypes'>;
  source: string;
  /** The plan follows a full round: read every placed user's type again. */
  refreshAll: boolean;
  logger: Logger;
  /** Set by the first refusal; later calls in the same plan then ask nothing. */
  denied: boolean;
  /** Users asked for in this plan (one Graph request each). */
  asked: number;
}

/** Which of the placed users need their type read (rules 2 and 3 of the header). */
export function usersNeedingMailboxType(placed: readonly MirrorUser[], refreshAll: boolean): MirrorUser[] {
  return refreshAll ? [...placed] : placed.filter((user) => user.mailboxType === null);
}

/** Reads, stores and sets (on the given objects) the mailbox type of the placed users that need it. */
export async function fillMailboxTypes(placed: readonly MirrorUser[], reads: MailboxTypeReads | undefined): Promise<void> {
  if (reads?.reader.readMailboxTypes === undefined) return;
  const wanted = usersNeedingMailboxType(placed, reads.refreshAll);
  if (wanted.length === 0) return;
  const before = new Map(wanted.map((user) => [user.id, user.mailboxType]));
  let types = new Map<string, MirrorUser['mailboxType']>();
  if (!reads.denied) {
    const result = await reads.reader.readMailboxTypes(wanted.map((user) => user.id));
    reads.asked += wanted.length;
    types = result.types;
    if (result.failed > 0) reads.logger.warn('graph.mailboxTypesFailed', { users: result.failed, action: 'read again the next time these users are planned' });
    if (result.denied) {
      reads.denied = true;
      reads.logger.warn('graph.mailboxSettingsDenied', {
        permission: 'MailboxSettings.Read',
        action:
          'mailboxType is sent as "unknown"; grant the optional application permission MailboxSettings.Read (admin consent): ' +
          'the types are read at the next full reconcile (or sync --full)',
      });
    }
  }
  // Refused: a type never read is stored as "unknown", which is what is sent anyway, so the next
  // change-driven plan asks nothing; the full reconcile asks again (rule 3).
  if (reads.denied) for (const user of wanted) if (!types.has(user.id) && user.mailboxType === null) types.set(user.id, 'unknown');
  const changed = new Map<string, NonNullable<MirrorUser['mailboxType']>>();
  for (const [id, type] of types) if (type !== null && before.get(id) !== type) changed.set(id, type);
  if (changed.size > 0) await reads.mirror.putMailboxTypes(reads.source, changed);
  for (const user of wanted) user.mailboxType = changed.get(user.id) ?? user.mailboxType;
}
