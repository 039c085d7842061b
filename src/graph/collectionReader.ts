/**
 * Reads a small Graph collection (applications, extension properties, domains) page by page over
 * @odata.nextLink. These are directory metadata, not users: tens to a few thousand entries, so the
 * entries are returned together. A 403 is an answer of its own (the optional permission is not
 * granted), not an error: the callers turn it into "feature off, grant X".
 */
import type { EntraSourceConfig } from '../config/types';
import { GraphRequestError } from './errors';
import { describeRequest, graphRoot, GRAPH_API_VERSION, type SourceGraphClient } from './graphClient';
import { graphErrorOf, readBody, requestIdOf } from './responses';

export type CollectionRead =
  | { kind: 'read'; entries: Record<string, unknown>[] }
  | { kind: 'forbidden'; code: string | undefined }
  | { kind: 'notFound' };

/** A bound far above any tenant's domains or extension properties, so a Graph that loops cannot spin forever. */
const MAX_PAGES = 1_000;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The JSON of a successful Graph answer; a GraphRequestError naming the request, the status and
 * Graph's error code otherwise, or when the body is not JSON.
 */
export function jsonAnswer(response: Response, body: string, url: string, source: EntraSourceConfig): unknown {
  if (!response.ok) {
    const { code, message } = graphErrorOf(body);
    throw new GraphRequestError(
      `Graph answered HTTP ${response.status}${code ? ` ${code}` : ''} to ${describeRequest(url)} for source "${source.name}"${message ? `: ${message.slice(0, 300)}` : ''}`,
      { status: response.status, ...(code ? { code } : {}), ...requestIdOf(response) },
    );
  }
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new GraphRequestError(`Graph sent a body that is not JSON to ${describeRequest(url)} (${body.length} characters)`, { status: response.status });
  }
}

/** `path` is under the version root, e.g. `domains?$select=id,isVerified`. */
export async function readCollection(graph: SourceGraphClient, source: EntraSourceConfig, path: string, abortSignal?: AbortSignal): Promise<CollectionRead> {
  let url: string | undefined = `${graphRoot(source)}/${GRAPH_API_VERSION}/${path}`;
  const entries: Record<string, unknown>[] = [];
  for (let page = 0; url !== undefined && page < MAX_PAGES; page += 1) {
    const response = await graph.get(url, {}, abortSignal);
    const body = await readBody(response, url);
    if (response.status === 403) return { kind: 'forbidden', code: graphErrorOf(body).code };
    if (response.status === 404) return { kind: 'notFound' };
    const json = jsonAnswer(response, body, url, source);
    if (!isObject(json) || !Array.isArray(json.value)) throw new GraphRequestError(`Graph sent no value list to ${describeRequest(url)}`, { status: response.status });
    for (const entry of json.value) if (isObject(entry)) entries.push(entry);
    const next = json['@odata.nextLink'];
    url = typeof next === 'string' && next.length > 0 && next !== url ? next : undefined;
  }
  return { kind: 'read', entries };
}
