/**
 * The Microsoft Graph client for one source: @microsoft/microsoft-graph-client with a token from the
 * source's TokenCredential, pointed at the source's Graph endpoint (Global, a national cloud or the
 * local fake), with the SDK's RetryHandler for 429/503/504.
 */
import {
  AuthenticationHandler,
  AuthenticationHandlerOptions,
  Client,
  HTTPMessageHandler,
  RedirectHandler,
  RedirectHandlerOptions,
  ResponseType,
  RetryHandler,
  RetryHandlerOptions,
  TelemetryHandler,
  type AuthenticationProvider,
  type Context,
  type Middleware,
} from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials';
import type { TokenCredential } from '@azure/identity';
import type { EntraSourceConfig } from '../config/types';
import { createSourceCredential } from './credential';
import { GraphAuthenticationError, GraphRequestError } from './errors';

export const GRAPH_API_VERSION = 'v1.0';
/** Statuses the SDK's RetryHandler retries (honouring Retry-After); also what the stats count as throttled. */
export const RETRIED_STATUSES: ReadonlySet<number> = new Set([429, 503, 504]);
/** RetryHandlerOptions rejects more than 10. */
const MAX_RETRIES_LIMIT = 10;

export interface GraphClientOptions {
  /** Overrides the credential built from `source.auth` (tests, or a shared credential). */
  credential?: TokenCredential;
  /** Retries of a throttled/unavailable request (429/503/504). Default 3, at most 10. */
  maxRetries?: number;
  /** Seconds to wait before a retry when the response carries no Retry-After. Default 3. */
  retryDelayInSeconds?: number;
  /** Per attempt, so a Retry-After wait does not eat into it. Default 100 s (Graph's own gateway timeout). */
  requestTimeoutInMs?: number;
  /** Called once per HTTP attempt, retries included, with the status (undefined when no response came). */
  onAttempt?: (status: number | undefined) => void;
}

/** Graph root without a trailing slash, e.g. https://graph.microsoft.com. */
export function graphRoot(source: EntraSourceConfig): string {
  return source.graphEndpoint.replace(/\/+$/, '');
}

export function graphScope(source: EntraSourceConfig): string {
  return `${graphRoot(source)}/.default`;
}

/**
 * Sets a per-attempt timeout on each request, chained to the caller's abort signal, and reports each attempt.
 * It sits after the RetryHandler so every retry is an attempt of its own.
 */
class AttemptMiddleware implements Middleware {
  private next: Middleware | undefined;
  private readonly callerSignals = new WeakMap<Context, AbortSignal | undefined>();

  constructor(
    private readonly timeoutInMs: number,
    private readonly onAttempt: ((status: number | undefined) => void) | undefined,
  ) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    if (!this.next) throw new Error('AttemptMiddleware must not be the last middleware');
    if (!this.callerSignals.has(context)) this.callerSignals.set(context, context.options?.signal ?? undefined);
    const callerSignal = this.callerSignals.get(context);
    const timeout = AbortSignal.timeout(this.timeoutInMs);
    context.options = { ...context.options, signal: callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout };
    try {
      await this.next.execute(context);
    } catch (error) {
      this.onAttempt?.(undefined);
      throw error;
    }
    this.onAttempt?.(context.response?.status);
  }
}

/** One source's Graph client. `get` returns the raw response of any status; parsing is the reader's job. */
export class SourceGraphClient {
  readonly client: Client;
  private readonly tokenProvider: TokenCredentialAuthenticationProvider;
  private readonly timeoutInMs: number;

  constructor(
    private readonly source: EntraSourceConfig,
    options: GraphClientOptions = {},
  ) {
    const maxRetries = options.maxRetries ?? 3;
    if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > MAX_RETRIES_LIMIT) {
      throw new RangeError(`maxRetries must be an integer from 0 to ${MAX_RETRIES_LIMIT}, got ${maxRetries}`);
    }
    this.timeoutInMs = options.requestTimeoutInMs ?? 100_000;
    const credential = options.credential ?? createSourceCredential(source);
    this.tokenProvider = new TokenCredentialAuthenticationProvider(credential, { scopes: [graphScope(source)] });

    const root = new URL(graphRoot(source));
    // The same chain as MiddlewareFactory.getDefaultMiddlewareChain, with our retry budget and the attempt hook.
    const chain: Middleware[] = [
      new AuthenticationHandler(this.tokenProvider),
      new RetryHandler(new RetryHandlerOptions(options.retryDelayInSeconds ?? 3, maxRetries)),
      new RedirectHandler(new RedirectHandlerOptions()),
      new TelemetryHandler(),
      new AttemptMiddleware(this.timeoutInMs, options.onAttempt),
      new HTTPMessageHandler(),
    ];
    this.client = Client.initWithMiddleware({
      middleware: chain,
      baseUrl: root.origin + root.pathname.replace(/\/+$/, ''),
      defaultVersion: GRAPH_API_VERSION,
      // The SDK attaches the bearer token only to the hosts it knows (graph.microsoft.com and the national
      // clouds) plus these; a custom endpoint (or the local fake) must be listed or its requests go unauthenticated.
      customHosts: new Set([root.hostname]),
    });
  }

  /**
   * GETs an absolute Graph URL (or a path under the endpoint) and returns the response as it came,
   * after the SDK's retries. Throws GraphAuthenticationError when no token could be had, and
   * GraphRequestError when no response arrived; an abort by the caller's signal rethrows its reason.
   */
  async get(url: string, headers: Record<string, string>, abortSignal?: AbortSignal): Promise<Response> {
    return this.request('GET', url, { headers, ...(abortSignal !== undefined ? { abortSignal } : {}) });
  }

  /** Any method, JSON body optional; same retries and errors as `get` (subscriptions use POST, PATCH, DELETE). */
  async request(
    method: GraphMethod,
    url: string,
    options: { headers?: Record<string, string>; body?: unknown; abortSignal?: AbortSignal } = {},
  ): Promise<Response> {
    let authenticationFailure: unknown;
    const recordingProvider: AuthenticationProvider = {
      getAccessToken: async () => {
        try {
          return await this.tokenProvider.getAccessToken();
        } catch (error) {
          authenticationFailure = error;
          throw error;
        }
      },
    };
    let request = this.client
      .api(url)
      .headers(options.headers ?? {})
      .middlewareOptions([new AuthenticationHandlerOptions(recordingProvider)])
      .responseType(ResponseType.RAW);
    if (options.abortSignal) request = request.option('signal', options.abortSignal);
    try {
      const response: unknown = await sendWith(request, method, options.body);
      if (!(response instanceof Response)) {
        throw new GraphRequestError(`Graph client returned no HTTP response for ${describeRequest(url, method)}`);
      }
      return response;
    } catch (error) {
      if (authenticationFailure !== undefined) throw this.toAuthenticationError(authenticationFailure);
      if (options.abortSignal?.aborted) throw options.abortSignal.reason;
      if (error instanceof GraphRequestError) throw error;
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || /TimeoutError/.test(String((error as { code?: unknown }).code)));
      throw new GraphRequestError(
        timedOut
          ? `Graph did not answer ${describeRequest(url, method)} within ${this.timeoutInMs} ms`
          : `Could not reach Graph for ${describeRequest(url, method)}: ${error instanceof Error ? error.message : String(error)}`,
        {},
        { cause: error },
      );
    }
  }

  private toAuthenticationError(failure: unknown): GraphAuthenticationError {
    const raw = failure instanceof Error ? failure.message : String(failure);
    const aadCode = /AADSTS\d+/.exec(raw)?.[0];
    // Entra does not echo secrets, but the description is free text: make sure ours never passes through.
    const auth = this.source.auth;
    const secret = auth.kind === 'clientSecret' ? auth.clientSecret : auth.kind === 'certificate' ? auth.certificatePassword : undefined;
    const detail = (secret ? raw.split(secret).join('***') : raw).split('\n')[0]?.slice(0, 400) ?? '';
    const who =
      auth.kind === 'managedIdentity'
        ? `managed identity${auth.clientId ? ` ${auth.clientId}` : ''}`
        : `app ${auth.clientId} (${auth.kind === 'clientSecret' ? 'client secret' : 'certificate'})`;
    const hint =
      aadCode === 'AADSTS7000215'
        ? ' Check the client secret: use the secret value, not its id, and make sure it has not expired.'
        : aadCode === 'AADSTS700027'
          ? ' Check that the certificate is the one uploaded to the app registration.'
          : auth.kind === 'managedIdentity' && auth.inferred === true
            ? ' ClientId without ClientSecret or Certificate is taken as a user-assigned managed identity: attach the identity with that' +
              ' client id to this app (container or Function), or add ClientSecret or Certificate if it is an app registration.'
            : '';
    return new GraphAuthenticationError(
      `Could not get a Microsoft Graph token for source "${this.source.displayName ?? this.source.name}" (tenant ${this.source.tenantId}, ${who}, ` +
        `authority ${this.source.authorityHost}): ${detail}${hint}`,
      aadCode,
      { cause: failure },
    );
  }
}

export type GraphMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

type RawRequest = ReturnType<Client['api']>;

function sendWith(request: RawRequest, method: GraphMethod, body: unknown): Promise<unknown> {
  switch (method) {
    case 'GET': return request.get() as Promise<unknown>;
    case 'POST': return request.post(body ?? {}) as Promise<unknown>;
    case 'PATCH': return request.patch(body ?? {}) as Promise<unknown>;
    case 'DELETE': return request.delete() as Promise<unknown>;
  }
}

/** Method and path only: the query of a delta link carries the sync state and does not belong in messages. */
export function describeRequest(url: string, method: GraphMethod = 'GET'): string {
  try {
    return `${method} ${new URL(url).pathname}`;
  } catch {
    return `${method} ${url.split('?')[0] ?? ''}`;
  }
}

export function createGraphClient(source: EntraSourceConfig, options: GraphClientOptions = {}): SourceGraphClient {
  return new SourceGraphClient(source, options);
}
