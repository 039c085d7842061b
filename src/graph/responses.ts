/** Reading Graph responses: the body, the request id, the error code and message, Retry-After. */
import { GraphRequestError } from './errors';
import { describeRequest, type GraphMethod } from './graphClient';

export async function readBody(response: Response, url: string, method: GraphMethod = 'GET'): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    throw new GraphRequestError(`The response to ${describeRequest(url, method)} broke off while reading`, { status: response.status }, { cause: error });
  }
}

export function requestIdOf(response: Response): { requestId?: string } {
  const requestId = response.headers.get('request-id') ?? response.headers.get('client-request-id');
  return requestId ? { requestId } : {};
}

export interface GraphErrorBody {
  code?: string;
  message?: string;
}

export function graphErrorOf(body: string): GraphErrorBody {
  try {
    const json: unknown = JSON.parse(body);
    if (typeof json !== 'object' || json === null || !('error' in json)) return {};
    const error: unknown = json.error;
    if (typeof error !== 'object' || error === null) return {};
    const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
    const message = 'message' in error && typeof error.message === 'string' ? error.message : undefined;
    return { ...(code ? { code } : {}), ...(message ? { message } : {}) };
  } catch {
    return {};
  }
}

export function retryAfterInMs(response: Response): number | undefined {
  const header = response.headers.get('retry-after');
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

