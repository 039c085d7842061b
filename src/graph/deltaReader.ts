/**
 * DirectoryReader over Microsoft Graph delta queries (users/delta, groups/delta).
 * Pages stream: one HTTP response is read, parsed and yielded before the next is requested, so a
 * tenant of any size never sits in memory; the caller persists each page and its link before asking
 * for the next, and can resume from a saved nextLink after a crash.
 */
import type { TokenCredential } from '@azure/identity';
import type { EntraSourceConfig } from '../config/types';
import type { DeltaPage, DirectoryKind, GroupChange, UserChange } from '../sync/directory';
import type { DirectoryReader, ReadOptions } from '../sync/ports';
import { DeltaTokenExpiredError, GraphPermissionError, GraphRequestError } from './errors';
import { RETRIED_STATUSES, SourceGraphClient, describeRequest, graphRoot, GRAPH_API_VERSION } from './graphClient';
import { readMailboxTypes } from './mailboxTypes';
import { credentialExpiry } from './credentialExpiry';
import { readClientSecretExpiry } from './secretExpiry';
import { graphErrorOf, readBody, requestIdOf, retryAfterInMs } from './responses';
import { GROUP_SELECT, MalformedDeltaPageError, USER_SELECT, parseDeltaPage, parseGroupItem, parseUserItem } from './parseDeltaPage';

export interface GraphDirectoryReaderOptions {
  /** Objects per page, sent as `Prefer: odata.maxpagesize`; Graph may send fewer. Default 200 (the users/delta maximum). */
  pageSize?: number;
  /** Overrides the credential built from `source.auth`. */
  credential?: TokenCredential;
  /** Retries of a 429/503/504 (honouring Retry-After) before a GraphRequestError. Default 3, at most 10. */
  maxRetries?: number;
  /** Per HTTP attempt. Default 100 s. */
  requestTimeoutInMs?: number;
}

export interface GraphReaderStats {
  /** HTTP attempts to Graph, retries included (token requests not counted). */
  requests: number;
  /** Attempts answered 429, 503 or 504. */
  throttled: number;
  /** Pages yielded to the caller. */
  pages: number;
}

export type GraphDirectoryReader = DirectoryReader & { stats(): GraphReaderStats };

/** Error codes Graph uses when a delta or skip token can no longer be served (besides HTTP 410). */
const EXPIRED_TOKEN_CODES: ReadonlySet<string> = new Set(['syncStateNotFound', 'resyncRequired', 'syncStateInvalid']);

/** A bound on one round, far above any tenant (200 objects a page), so a Graph that loops cannot spin forever. */
const MAX_PAGES_PER_ROUND = 500_000;

export function createGraphDirectoryReader(
  source: EntraSourceConfig,
  options: GraphDirectoryReaderOptions = {},
): GraphDirectoryReader {
  const pageSize = options.pageSize ?? 200;
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError(`pageSize must be a positive integer, got ${pageSize}`);
  const stats: GraphReaderStats = { requests: 0, throttled: 0, pages: 0 };
  const graph = new SourceGraphClient(source, {
    ...(options.credential ? { credential: options.credential } : {}),
    ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
    ...(options.requestTimeoutInMs !== undefined ? { requestTimeoutInMs: options.requestTimeoutInMs } : {}),
    onAttempt: (status) => {
      stats.requests += 1;
      if (status !== undefined && RETRIED_STATUSES.has(status)) stats.throttled += 1;
    },
  });
  // return=minimal: an incremental round carries only the properties that changed (and nulls for cleared
  // ones), which the mirror merges; it does not change a full round.
  const headers = { Prefer: `odata.maxpagesize=${pageSize}, return=minimal` };
  const root = graphRoot(source);

  async function* readPages<TChange>(
    kind: DirectoryKind,
    firstUrl: string,
    parseItem: (item: unknown) => TChange,
    readOptions: ReadOptions | undefined,
  ): AsyncGenerator<DeltaPage<TChange>> {
    let url = firstUrl;
    for (let pageNumber = 1; pageNumber <= MAX_PAGES_PER_ROUND; pageNumber++) {
      readOptions?.abortSignal?.throwIfAborted();
      const response = await graph.get(url, headers, readOptions?.abortSignal);
      const body = await readBody(response, url);
      if (!response.ok) throw toGraphError(source, kind, response, body, url);
      let page: DeltaPage<TChange>;
      try {
        page = parseDeltaPage(body, parseItem);
      } catch (error) {
        if (!(error instanceof MalformedDeltaPageError)) throw error;
        throw new GraphRequestError(
          `Graph sent an unusable ${kind} delta page for source "${source.name}" (${describeRequest(url)}, page ${pageNumber}): ${error.message}`,
          { status: response.status, ...requestIdOf(response) },
          { cause: error },
        );
      }
      stats.pages += 1;
      yield page;
      if (page.deltaLink !== undefined || page.nextLink === undefined) return;
      if (page.nextLink === url) {
        throw new GraphRequestError(`Graph returned the requested ${kind} nextLink as the next one (${describeRequest(url)}); stopping to avoid a loop`);
      }
      url = page.nextLink;
    }
    throw new GraphRequestError(`The ${kind} delta round of source "${source.name}" exceeded ${MAX_PAGES_PER_ROUND} pages; stopping`);
  }

  return {
    userSelection: userSelectionOf(source),
    readUsers(resumeLink, readOptions) {
      const select = [...USER_SELECT, ...(source.extensionProperties ?? [])];
      const first = resumeLink ?? `${root}/${GRAPH_API_VERSION}/users/delta?$select=${select.join(',')}`;
      return readPages<UserChange>('users', first, parseUserItem, readOptions);
    },
    readGroups(resumeLink, readOptions) {
      const first = resumeLink ?? `${root}/${GRAPH_API_VERSION}/groups/delta?$select=${GROUP_SELECT.join(',')}`;
      return readPages<GroupChange>('groups', first, parseGroupItem, readOptions);
    },
    // Counted in stats.requests with the delta pages: the bench reports both per phase.
    readMailboxTypes: (userIds, readOptions) => readMailboxTypes(graph, root, userIds, readOptions),
    readCredentialExpiry: (now) => (source.auth.kind === 'clientSecret' ? readClientSecretExpiry(graph, source, now) : Promise.resolve(credentialExpiry(source.auth, now))),
    stats: () => ({ ...stats }),
  };
}

/**
 * What users/delta asks for beyond the fixed list: the configured directory extensions, sorted.
 * A delta or skip token keeps the $select of the round that issued it, so the pull starts a full
 * round when this differs from what the saved cursor was read with.
 */
export function userSelectionOf(source: Pick<EntraSourceConfig, 'extensionProperties'>): string {
  return [...new Set(source.extensionProperties ?? [])].sort().join(',');
}

function toGraphError(source: EntraSourceConfig, kind: DirectoryKind, response: Response, body: string, url: string): Error {
  const { code, message } = graphErrorOf(body);
  const status = response.status;
  // 410 Gone is the documented "start over"; an expired token may also come as a 400 with syncStateNotFound.
  if (status === 410 || (code !== undefined && EXPIRED_TOKEN_CODES.has(code))) {
    return new DeltaTokenExpiredError(kind, status, code);
  }
  if (status === 403) return new GraphPermissionError(source.name, kind, code);
  const retryAfter = retryAfterInMs(response);
  // Graph refuses a $select naming a property users do not have: with directory extensions, a
  // misspelt or deleted one in the config. Say where it comes from instead of leaving a bare 400.
  const unknownExtension = status === 400 ? /property named '(extension_[^']+)'/.exec(message ?? '')?.[1] : undefined;
  const hint = unknownExtension === undefined
    ? ''
    : `; remove or correct "${unknownExtension}" in EntraId.${source.name}.ExtensionProperties (\`s365-connector extensions list\` shows the names the tenant has)`;
  return new GraphRequestError(
    `Graph answered HTTP ${status}${code ? ` ${code}` : ''} to ${describeRequest(url)} for source "${source.name}"` +
      `${RETRIED_STATUSES.has(status) ? ' after the client retries' : ''}${message ? `: ${message.slice(0, 300)}` : ''}${hint}`,
    {
      status,
      ...(code ? { code } : {}),
      ...requestIdOf(response),
      ...(retryAfter !== undefined ? { retryAfterInMs: retryAfter } : {}),
    },
  );
}
