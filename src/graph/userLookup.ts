/**
 * A user's object id from a UPN or a mail address, asked of Graph itself (User.Read.All, which the
 * connector has anyway): `explain` then reads the mirror by id, and the mirror needs no index by
 * UPN or mail (an index would cost a write per user on every change to either).
 *
 * - `GET /users/{userPrincipalName}?$select=id`: Graph takes a UPN where it takes an id. A UPN
 *   that starts with `$` must be written `/users('$…')` instead (Graph would read `/users/$…` as
 *   a system segment), its quotes doubled.
 * - 404 (or 400: not shaped like a UPN): `GET /users?$filter=mail eq '…'&$select=id`, an equality
 *   filter on mail, which Graph serves without advanced query parameters.
 * - Anything else (no token, no network, a refusal, an error after the client's retries) is
 *   `unreachable`: the caller falls back to scanning the mirror and says so.
 */
import type { EntraSourceConfig } from '../config/types';
import type { ReadOptions, UserKeyDirectory, UserKeyLookup } from '../sync/ports';
import { GRAPH_API_VERSION, graphRoot, type SourceGraphClient } from './graphClient';
import { graphErrorOf, readBody } from './responses';

function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

type Probe = { kind: 'ids'; ids: string[] } | { kind: 'absent' } | { kind: 'failed'; error: string };

async function probe(graph: SourceGraphClient, url: string, what: string, options: ReadOptions): Promise<Probe> {
  try {
    const response = await graph.get(url, {}, options.abortSignal);
    const body = await readBody(response, url);
    if (response.status === 404 || response.status === 400) return { kind: 'absent' };
    if (!response.ok) {
      const { code } = graphErrorOf(body);
      return { kind: 'failed', error: `Graph answered HTTP ${response.status}${code !== undefined ? ` ${code}` : ''} to ${what}` };
    }
    const json = JSON.parse(body) as { id?: unknown; value?: unknown };
    if (typeof json.id === 'string') return { kind: 'ids', ids: [json.id.toLowerCase()] };
    if (Array.isArray(json.value)) {
      const ids = json.value.map((entry: unknown) => (typeof entry === 'object' && entry !== null && 'id' in entry && typeof entry.id === 'string' ? entry.id.toLowerCase() : undefined));
      return { kind: 'ids', ids: ids.filter((id): id is string => id !== undefined) };
    }
    return { kind: 'failed', error: `Graph sent no id for ${what}` };
  } catch (error) {
    if (options.abortSignal?.aborted === true) throw error;
    return { kind: 'failed', error: error instanceof Error ? error.message : String(error) };
  }
}

export function createUserKeyDirectory(graph: SourceGraphClient, source: EntraSourceConfig): UserKeyDirectory {
  const base = `${graphRoot(source)}/${GRAPH_API_VERSION}`;
  return {
    async findUserId(key: string, options: ReadOptions = {}): Promise<UserKeyLookup> {
      const path = key.startsWith('$') ? `users(${encodeURIComponent(odataString(key))})` : `users/${encodeURIComponent(key)}`;
      const byUpn = await probe(graph, `${base}/${path}?$select=id`, 'a user lookup by userPrincipalName', options);
      if (byUpn.kind === 'failed') return { kind: 'unreachable', error: byUpn.error };
      if (byUpn.kind === 'ids' && byUpn.ids[0] !== undefined) return { kind: 'found', id: byUpn.ids[0], by: 'userPrincipalName' };
      const filter = encodeURIComponent(`mail eq ${odataString(key)}`);
      const byMail = await probe(graph, `${base}/users?$filter=${filter}&$select=id`, 'a user lookup by mail', options);
      if (byMail.kind === 'failed') return { kind: 'unreachable', error: byMail.error };
      if (byMail.kind === 'ids' && byMail.ids[0] !== undefined) return { kind: 'found', id: byMail.ids[0], by: 'mail' };
      return { kind: 'notFound' };
    },
  };
}
