/**
 * Reads users' mailbox types: `GET /users/{id}/mailboxSettings/userPurpose`, which answers
 * `{ "value": "shared" }`. Delta queries cannot carry mailboxSettings, so this costs one request
 * per user; the plan asks only for users in scope, and only when their type was never read or a
 * full round asks for all of them again (src/sync/mailboxTypes.ts).
 *
 * - 403: MailboxSettings.Read (optional) is not granted. The reader stops asking (every other
 *   request would be refused too) and reports `denied`; nothing fails.
 * - 404: the user has no Exchange Online mailbox (Graph says MailboxNotEnabledForRESTAPI or
 *   ResourceNotFound): "unknown".
 * - anything else after the client's retries: that user is left unread (counted in `failed`) and
 *   is asked for again the next time it is planned.
 */
import type { MailboxType } from '../signature365/contract';
import type { MailboxTypeRead, ReadOptions } from '../sync/ports';
import { GRAPH_API_VERSION, type SourceGraphClient } from './graphClient';

/**
 * Requests in flight at once. Exchange throttles mailbox requests per app *and mailbox* (a few
 * concurrent requests each), and every request here is for a different mailbox, so the bound is
 * about this process and Graph's per-tenant limits, not Exchange's. At 16 and ~100 ms a request,
 * 100,000 users take about 10 minutes (see docs/architecture.md, Performance).
 */
export const MAILBOX_READ_CONCURRENCY = 16;

/**
 * Graph's userPurpose → the contract's mailboxType. `linked` is a person's mailbox linked to an
 * account in another forest: a user. `others` and values added later say nothing usable.
 */
export function mailboxTypeOfPurpose(purpose: unknown): MailboxType {
  switch (purpose) {
    case 'user':
    case 'linked':
      return 'user';
    case 'shared':
    case 'room':
    case 'equipment':
      return purpose;
    default:
      return 'unknown';
  }
}

export async function readMailboxTypes(
  graph: SourceGraphClient,
  root: string,
  userIds: readonly string[],
  options: ReadOptions = {},
): Promise<MailboxTypeRead> {
  const result: MailboxTypeRead = { types: new Map(), denied: false, failed: 0 };
  let next = 0;
  /** Takes the next user until `until` users were taken (or a refusal). */
  const worker = async (until: number): Promise<void> => {
    while (!result.denied && next < until) {
      options.abortSignal?.throwIfAborted();
      const id = userIds[next] ?? '';
      next += 1;
      let response: Response;
      try {
        response = await graph.get(`${root}/${GRAPH_API_VERSION}/users/${encodeURIComponent(id)}/mailboxSettings/userPurpose`, {}, options.abortSignal);
      } catch (error) {
        if (options.abortSignal?.aborted === true) throw error;
        result.failed += 1;
        continue;
      }
      const body = await response.text().catch(() => '');
      if (response.status === 403) {
        result.denied = true;
      } else if (response.status === 404) {
        result.types.set(id, 'unknown');
      } else if (response.ok) {
        let value: unknown;
        try {
          value = (JSON.parse(body) as { value?: unknown }).value;
        } catch {
          value = undefined;
        }
        result.types.set(id, mailboxTypeOfPurpose(value));
      } else {
        result.failed += 1;
      }
    }
  };
  // The first request goes alone: without the permission it is the only one refused.
  await worker(1);
  const rest = userIds.length - next;
  if (rest > 0) await Promise.all(Array.from({ length: Math.min(MAILBOX_READ_CONCURRENCY, rest) }, () => worker(userIds.length)));
  return result;
}
