/**
 * The DestinationClient over HTTPS, speaking the directory import API contract (see contract.ts).
 * src/signature365/ is the only place that knows this wire format: if the vendor's real API
 * differs, this folder is replaced and the engine, stores and fronts stay as they are.
 *
 * Built on @azure/core-rest-pipeline: its default HTTP client and its generic `retryPolicy` loop
 * (attempt count, abort-aware waits). Per attempt it runs one "Sign" policy of ours that sets the
 * bearer token and counts what goes over the wire. The decision to retry is our own RetryStrategy,
 * because the SDK's stock strategies differ from what the contract asks:
 * - throttlingRetryStrategy honours Retry-After on 429 and 503 only; the contract asks for it on
 *   500/502/504 as well;
 * - exponentialRetryStrategy retries every 5xx (and 408) but not a 429 without Retry-After;
 * - neither bounds the total time spent waiting, and a timeout (AbortError) is never retried.
 * So: 429/500/502/503/504, network resets and timeouts are retried; the wait is Retry-After when
 * given (seconds or HTTP date), otherwise exponential backoff with jitter; at most `maxRetries`
 * retries per request and `maxRetryDelayInMs` of waiting in total per call.
 */
import {
  createDefaultHttpClient,
  createEmptyPipeline,
  createHttpHeaders,
  createPipelineRequest,
  isRestError,
  retryPolicy,
  RestError,
  type HttpClient,
  type HttpMethods,
  type PipelinePolicy,
  type PipelineResponse,
  type RetryStrategy,
} from '@azure/core-rest-pipeline';
import { inspect } from 'node:util';
import type { z } from 'zod';
import type { DestinationConfig } from '../config/types';
import { jsonArrayElements } from './jsonArrayElements';
import { CONTRACT_BATCH_LIMITS, planBatches, serializeBatch, splitBatchInHalf, type Batch, type BatchLimits } from './batching';
import {
  DIRECTORY_API_PATHS,
  batchResponseSchema,
  connectionResponseSchema,
  errorResponseSchema,
  signature365GroupSchema,
  signature365UserSchema,
  type Signature365Group,
  type Signature365User,
} from './contract';
import type { ConnectionInfo, DestinationBatch, DestinationClient, ItemResult, SendOptions } from './destinationClient';
import {
  DestinationAuthError,
  DestinationNetworkError,
  DestinationRequestError,
  DestinationUnavailableError,
} from './errors';
import type { UploadSlots } from './uploadSlots';

export const DEFAULT_SIGNATURE365_ENDPOINT = 'https://app.signature365.com';

/** Something worth a log line; never carries the token or a record. */
export type DestinationEvent =
  | {
    type: 'retry';
    destination: string;
    method: string;
    path: string;
    /** 1 for the first retry. */
    retry: number;
    /** Status that caused the retry; null for a network error or timeout. */
    status: number | null;
    /** Network error code (ECONNRESET, ETIMEDOUT, ...) when there was no answer. */
    code: string | null;
    delayInMs: number;
    /** Where the delay came from. */
    delaySource: 'retryAfter' | 'backoff';
  }
  | {
    type: 'giveUp';
    destination: string;
    method: string;
    path: string;
    status: number | null;
    code: string | null;
    /** Why retrying stopped. */
    reason: 'maxRetries' | 'retryBudget';
    retryAfterInMs: number | null;
  }
  | {
    type: 'split';
    destination: string;
    path: string;
    /** 413: the batch was too large; 400: it was refused as a whole and the halves find the item that caused it. */
    status: 413 | 400;
    /** Items in the batch, and the sizes of the two halves sent instead. */
    items: number;
    bytes: number;
    into: [number, number];
  }
  | {
    type: 'itemRejected';
    destination: string;
    path: string;
    id: string;
    op: 'upsert' | 'delete';
    /** The destination's own words (token scrubbed), for the ledger and status. */
    error: string;
  }
  | {
    type: 'itemTooLarge';
    destination: string;
    path: string;
    id: string;
    op: 'upsert' | 'delete';
    bytes: number;
  };

export interface DestinationClientStats {
  /** HTTP requests put on the wire, retries included. */
  requests: number;
  /** Logical batch POSTs (each 413 half counts as one more). */
  batches: number;
  retries: number;
  /** Sum of the waits before retries. */
  retryWaitInMs: number;
  /** 429 answers received. */
  throttled: number;
  /** 5xx answers received. */
  serverErrors: number;
  /** Attempts that ended without an answer (network error or timeout). */
  networkErrors: number;
  timeouts: number;
  /** 413 answers that made the client split a batch in half. */
  splits: number;
  /** Whole-batch 400 answers that made the client split a batch in half. */
  rejectionSplits: number;
}

export interface HttpDestinationClientOptions {
  /** Retries per request after the first attempt. Default 5. */
  maxRetries?: number;
  /** First backoff step when the destination gives no Retry-After; doubles each retry, with jitter. Default 1000. */
  retryDelayInMs?: number;
  /** Cap on one backoff step (a Retry-After is not capped, only checked against the budget). Default 30000. */
  maxBackoffDelayInMs?: number;
  /**
   * Total budget of waiting between retries, per call (one sendUsers / sendGroups / list / test,
   * all its batches together). A wait that would overrun it is not made: the call fails with
   * DestinationUnavailableError carrying the destination's Retry-After. Default 60000.
   */
  maxRetryDelayInMs?: number;
  /** Per attempt; a timed-out attempt is retried like a network error. Default 100000. */
  requestTimeoutInMs?: number;
  /** Batches in flight at once within one call. Default 1. */
  concurrency?: number;
  /** Lower than the contract's 100 items / 1 MiB, e.g. for a cautious rollout; never higher. */
  batchLimits?: Partial<BatchLimits>;
  /** Trusted CA (PEM) replacing the system store, e.g. the fake server's CA in `npm run demo`. */
  caCertificatePem?: string;
  /** For retries, splits and give-ups; the engine logs them. */
  onEvent?: (event: DestinationEvent) => void;
  /** Defaults to core-rest-pipeline's createDefaultHttpClient(). */
  httpClient?: HttpClient;
  /** Bounds batch POSTs in flight to this destination, shared with every other client of it in the process. */
  uploadSlots?: UploadSlots;
}

const RETRIED_STATUSES = new Set([429, 500, 502, 503, 504]);
const RETRIED_NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'EPIPE', 'EAI_AGAIN']);
const ERROR_TEXT_LIMIT = 300;
/** Records per page handed out by listUsers / listGroups. */
const LIST_PAGE_RECORDS = 1_000;

/** Per public call: the retry budget is shared by all its requests. */
interface CallState {
  waitedInMs: number;
}

/** Per request: why its retries stopped, for the giveUp event. */
interface RequestRetryState {
  budgetExceeded: boolean;
}

/** What one request ended with, once retries are over (2xx or 413; everything else is thrown). */
interface Reply {
  status: number;
  bodyText: string;
}

export function createHttpDestinationClient(config: DestinationConfig, options: HttpDestinationClientOptions = {}): HttpDestinationClient {
  return new HttpDestinationClient(config, options);
}

export class HttpDestinationClient implements DestinationClient {
  readonly destination: string;
  readonly endpoint: string;
  readonly #settings: Required<Omit<HttpDestinationClientOptions, 'batchLimits' | 'caCertificatePem' | 'onEvent' | 'httpClient' | 'uploadSlots'>>;
  readonly #uploadSlots: UploadSlots | undefined;
  readonly #limits: BatchLimits;
  readonly #httpClient: HttpClient;
  readonly #wirePolicy: PipelinePolicy;
  readonly #redact: (text: string) => string;
  readonly #tlsSettings: { ca: string } | undefined;
  readonly #onEvent: (event: DestinationEvent) => void;
  readonly #stats: DestinationClientStats = {
    requests: 0, batches: 0, retries: 0, retryWaitInMs: 0, throttled: 0, serverErrors: 0, networkErrors: 0, timeouts: 0, splits: 0, rejectionSplits: 0,
  };

  constructor(config: DestinationConfig, options: HttpDestinationClientOptions = {}) {
    this.destination = config.name;
    this.endpoint = normalizeEndpoint(config);
    if (config.token.trim() === '') {
      throw new Error(`Signature365.${config.name}.Token is empty: copy the integration token (idscl_...) from the Signature 365 portal into config.json`);
    }
    this.#settings = {
      maxRetries: options.maxRetries ?? 5,
      retryDelayInMs: options.retryDelayInMs ?? 1_000,
      maxBackoffDelayInMs: options.maxBackoffDelayInMs ?? 30_000,
      maxRetryDelayInMs: options.maxRetryDelayInMs ?? 60_000,
      requestTimeoutInMs: options.requestTimeoutInMs ?? 100_000,
      concurrency: Math.max(1, Math.floor(options.concurrency ?? 1)),
    };
    this.#limits = {
      maxItems: Math.min(CONTRACT_BATCH_LIMITS.maxItems, options.batchLimits?.maxItems ?? Infinity),
      maxBytes: Math.min(CONTRACT_BATCH_LIMITS.maxBytes, options.batchLimits?.maxBytes ?? Infinity),
    };
    this.#httpClient = options.httpClient ?? createDefaultHttpClient();
    // One object for the client's life: the HTTP client caches its TLS agent per settings object.
    this.#tlsSettings = options.caCertificatePem ? { ca: options.caCertificatePem } : undefined;
    this.#onEvent = options.onEvent ?? (() => undefined);
    this.#uploadSlots = options.uploadSlots;
    // The token lives only in these two closures: not a property, so no JSON or inspect of the client shows it.
    this.#wirePolicy = createWirePolicy(config.token, this.#stats);
    const token = config.token;
    this.#redact = (text) => text.split(token).join('[redacted]');
  }

  stats(): DestinationClientStats {
    return { ...this.#stats };
  }

  async testConnection(options: SendOptions = {}): Promise<ConnectionInfo> {
    const reply = await this.#request('GET', DIRECTORY_API_PATHS.connection, undefined, { waitedInMs: 0 }, options);
    const body = this.#parse(reply, connectionResponseSchema, 'GET', DIRECTORY_API_PATHS.connection);
    return { tenant: body.tenant, tenantId: body.tenantId };
  }

  sendUsers(source: string, batch: DestinationBatch<Signature365User>, options: SendOptions = {}): Promise<ItemResult[]> {
    return this.#sendItems(DIRECTORY_API_PATHS.usersBatch, source, batch, options);
  }

  sendGroups(source: string, batch: DestinationBatch<Signature365Group>, options: SendOptions = {}): Promise<ItemResult[]> {
    return this.#sendItems(DIRECTORY_API_PATHS.groupsBatch, source, batch, options);
  }

  async *listUsers(source: string, options: SendOptions = {}): AsyncIterable<Signature365User[]> {
    // The contract answers with everything in one body; pages of it are handed out as they are parsed.
    const path = `${DIRECTORY_API_PATHS.users}?source=${encodeURIComponent(requireSource(source))}`;
    const reply = await this.#request('GET', path, undefined, { waitedInMs: 0 }, options);
    yield* this.#parseList(reply, signature365UserSchema, DIRECTORY_API_PATHS.users);
  }

  async *listGroups(source: string, options: SendOptions = {}): AsyncIterable<Signature365Group[]> {
    const path = `${DIRECTORY_API_PATHS.groups}?source=${encodeURIComponent(requireSource(source))}`;
    const reply = await this.#request('GET', path, undefined, { waitedInMs: 0 }, options);
    yield* this.#parseList(reply, signature365GroupSchema, DIRECTORY_API_PATHS.groups);
  }

  toJSON(): Record<string, unknown> {
    return { destination: this.destination, endpoint: this.endpoint };
  }

  [inspect.custom](): string {
    return `HttpDestinationClient ${JSON.stringify(this.toJSON())}`;
  }

  toString(): string {
    return `HttpDestinationClient(${this.destination} at ${this.endpoint})`;
  }

  async #sendItems<TRecord extends { id: string }>(
    path: string,
    source: string,
    input: DestinationBatch<TRecord>,
    options: SendOptions,
  ): Promise<ItemResult[]> {
    const batches = planBatches(requireSource(source), input.upserts, input.deletes, this.#limits);
    const results = new Array<ItemResult | undefined>(input.upserts.length + input.deletes.length);
    const call: CallState = { waitedInMs: 0 };
    await runBounded(batches, this.#settings.concurrency, async (batch) => {
      for (const { index, result } of await this.#postBatch(path, batch, call, options)) results[index] = result;
    });
    return results.map((result, index) => {
      if (result === undefined) throw new Error(`Internal error: no result for item ${index} sent to ${this.destination}`);
      return result;
    });
  }

  /** Sends each half of a batch the destination refused as a whole (413 or 400), in order. */
  async #postHalves(path: string, batch: Batch, status: 400 | 413, call: CallState, options: SendOptions): Promise<{ index: number; result: ItemResult }[]> {
    const halves = splitBatchInHalf(batch);
    this.#onEvent({
      type: 'split', destination: this.destination, path, status, items: batch.entries.length, bytes: batch.bytes,
      into: [halves[0].entries.length, halves[1].entries.length],
    });
    const first = await this.#postBatch(path, halves[0], call, options);
    const second = await this.#postBatch(path, halves[1], call, options);
    return [...first, ...second];
  }

  /**
   * Posts one batch; on 413 (too large) or a whole-batch 400 (one record the destination cannot
   * take spoils the request) sends each half instead, down to single items, so one bad record
   * costs its own item and about 2·log2(100) ≈ 14 extra requests, never the other 99. A single
   * item refused with 400 comes back as that item's failure, like a per-item 400.
   */
  async #postBatch(path: string, batch: Batch, call: CallState, options: SendOptions): Promise<{ index: number; result: ItemResult }[]> {
    this.#stats.batches += 1;
    let reply: Reply;
    try {
      reply = await this.#postSlot(() => this.#request('POST', path, serializeBatch(batch), call, options));
    } catch (error) {
      if (!(error instanceof DestinationRequestError) || error.status !== 400) throw error;
      const [only] = batch.entries;
      if (batch.entries.length === 1 && only) {
        const text = error.serverError ?? 'the destination refused the batch holding only this item (400)';
        this.#onEvent({ type: 'itemRejected', destination: this.destination, path, id: only.id, op: only.op, error: text });
        return [{ index: only.index, result: { id: only.id, op: only.op, ok: false, status: 400, error: `batch rejected: ${text}` } }];
      }
      this.#stats.rejectionSplits += 1;
      return this.#postHalves(path, batch, 400, call, options);
    }
    if (reply.status === 413) {
      const [only] = batch.entries;
      if (batch.entries.length === 1 && only) {
        this.#onEvent({ type: 'itemTooLarge', destination: this.destination, path, id: only.id, op: only.op, bytes: batch.bytes });
        const error = `The destination refused this item as too large (413) even alone; its batch was ${batch.bytes} bytes of JSON`;
        return [{ index: only.index, result: { id: only.id, op: only.op, ok: false, status: 413, error } }];
      }
      this.#stats.splits += 1;
      return this.#postHalves(path, batch, 413, call, options);
    }

    const { results } = this.#parse(reply, batchResponseSchema, 'POST', path);
    if (results.length !== batch.entries.length) {
      throw this.#contractBroken('POST', path, `${results.length} results for ${batch.entries.length} items`);
    }
    return batch.entries.map((entry, i) => {
      const answer = results[i];
      if (!answer || answer.id !== entry.id) {
        throw this.#contractBroken('POST', path, `result ${i} is for another id than item ${i}`);
      }
      const alreadyGone = entry.op === 'delete' && answer.status === 404;
      const ok = answer.status === 200 || alreadyGone;
      const result: ItemResult = { id: entry.id, op: entry.op, ok, status: answer.status };
      if (!ok) result.error = this.#redact(truncate(answer.error ?? `status ${answer.status}`));
      return { index: entry.index, result };
    });
  }

  /** A batch POST, in one of the destination's upload slots when it has them (retries included: a retry is still in flight). */
  #postSlot<T>(post: () => Promise<T>): Promise<T> {
    return this.#uploadSlots === undefined ? post() : this.#uploadSlots.run(post);
  }

  /** One request with retries. Returns a 2xx or 413 reply; throws the typed error for anything else. */
  async #request(method: HttpMethods, path: string, body: string | undefined, call: CallState, options: SendOptions): Promise<Reply> {
    const request = createPipelineRequest({
      url: `${this.endpoint}${path}`,
      method,
      headers: createHttpHeaders({ 'Content-Type': 'application/json', Accept: 'application/json' }),
      timeout: this.#settings.requestTimeoutInMs,
      ...(body === undefined ? {} : { body }),
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
      ...(this.#tlsSettings ? { tlsSettings: this.#tlsSettings } : {}),
    });
    const pathForLogs = path.split('?')[0] ?? path;
    const retryState: RequestRetryState = { budgetExceeded: false };
    let attempts = 0;
    const countAttempts: PipelinePolicy = {
      name: 'signature365CountAttempts',
      sendRequest: (req, next) => {
        attempts += 1;
        return next(req);
      },
    };
    const pipeline = createEmptyPipeline();
    pipeline.addPolicy(retryPolicy([this.#retryStrategy(method, pathForLogs, call, retryState)], { maxRetries: this.#settings.maxRetries }), { phase: 'Retry' });
    pipeline.addPolicy(countAttempts, { phase: 'Sign' });
    pipeline.addPolicy(this.#wirePolicy, { phase: 'Sign' });

    let response: PipelineResponse;
    try {
      response = await pipeline.sendRequest(this.#httpClient, request);
    } catch (error) {
      if (options.abortSignal?.aborted) throw error;
      if (!isRestError(error)) throw error;
      const code = error.code;
      this.#reportGiveUp(method, pathForLogs, null, code ?? null, retryState, undefined);
      throw new DestinationUnavailableError(
        `Signature 365 destination ${this.destination} could not be reached at ${this.endpoint} (${method} ${pathForLogs}): `
        + `${this.#redact(error.message)}${code ? ` [${code}]` : ''} after ${attempts} attempt(s). Check the Endpoint and the network; the operation can be retried later.`,
        { destination: this.destination, attempts, cause: new DestinationNetworkError(this.#redact(error.message), code) },
      );
    }

    const { status } = response;
    const bodyText = response.bodyAsText ?? '';
    if ((status >= 200 && status < 300) || status === 413) return { status, bodyText };

    const where = `${method} ${pathForLogs}`;
    const serverError = this.#serverErrorText(bodyText);
    const serverSays = serverError === undefined ? '' : `: ${serverError}`;
    const retryAfterInMs = parseRetryAfterInMs(response.headers.get('retry-after'));
    const errorOptions = { destination: this.destination, status, attempts, retryAfterInMs, serverError };
    if (status === 401 || status === 403) {
      throw new DestinationAuthError(
        `Signature 365 destination ${this.destination} refused the integration token (${status}) on ${where}${serverSays}. `
        + `Check Signature365.${this.destination}.Token in config.json against the token shown in the Signature 365 portal.`,
        errorOptions,
      );
    }
    if (RETRIED_STATUSES.has(status)) {
      this.#reportGiveUp(method, pathForLogs, status, null, retryState, retryAfterInMs);
      throw new DestinationUnavailableError(
        `Signature 365 destination ${this.destination} still answered ${status} on ${where} after ${attempts} attempt(s)${serverSays}. `
        + `The operation can be retried later${retryAfterInMs === undefined ? '' : `, no sooner than ${retryAfterInMs} ms`}.`,
        errorOptions,
      );
    }
    throw new DestinationRequestError(
      `Signature 365 destination ${this.destination} rejected ${where} with ${status}${serverSays}. Resending the same request will not help.`,
      errorOptions,
    );
  }

  #reportGiveUp(method: string, path: string, status: number | null, code: string | null, state: RequestRetryState, retryAfterInMs: number | undefined): void {
    if (status === null && (code === null || !RETRIED_NETWORK_CODES.has(code))) return; // not a retriable failure: nothing was given up
    this.#onEvent({
      type: 'giveUp', destination: this.destination, method, path, status, code,
      reason: state.budgetExceeded ? 'retryBudget' : 'maxRetries', retryAfterInMs: retryAfterInMs ?? null,
    });
  }

  #retryStrategy(method: string, path: string, call: CallState, state: RequestRetryState): RetryStrategy {
    const settings = this.#settings;
    return {
      name: 'signature365RetryStrategy',
      retry: ({ retryCount, response, responseError }) => {
        const status = response?.status ?? null;
        const code = response ? null : (responseError?.code ?? null);
        const retriable = status !== null ? RETRIED_STATUSES.has(status) : code !== null && RETRIED_NETWORK_CODES.has(code);
        // Skipping leaves the answer (or error) to #request, which maps it to a typed error.
        if (!retriable) return { skipStrategy: true };

        const retryAfterInMs = parseRetryAfterInMs(response?.headers.get('retry-after'));
        const delayInMs = retryAfterInMs ?? backoffDelayInMs(retryCount, settings.retryDelayInMs, settings.maxBackoffDelayInMs);
        // retryPolicy itself stops after maxRetries; the budget is ours.
        if (call.waitedInMs + delayInMs > settings.maxRetryDelayInMs) {
          state.budgetExceeded = true;
          return { skipStrategy: true };
        }
        call.waitedInMs += delayInMs;
        this.#stats.retries += 1;
        this.#stats.retryWaitInMs += delayInMs;
        this.#onEvent({
          type: 'retry', destination: this.destination, method, path, retry: retryCount + 1, status, code, delayInMs,
          delaySource: retryAfterInMs === undefined ? 'backoff' : 'retryAfter',
        });
        return { retryAfterInMs: delayInMs };
      },
    };
  }

  #parse<T>(reply: Reply, schema: z.ZodType<T>, method: string, path: string): T {
    let json: unknown;
    try {
      json = JSON.parse(reply.bodyText);
    } catch {
      throw this.#contractBroken(method, path, 'the body is not JSON');
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      // Paths only: the values may be user data.
      const where = parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ');
      throw this.#contractBroken(method, path, where);
    }
    return parsed.data;
  }

  /**
   * A list body's `value`, validated record by record and handed out in pages of LIST_PAGE_RECORDS:
   * a 100k-user body never becomes 100k objects at once (see jsonArrayElements.ts). A record that
   * breaks the contract throws after the pages before it were handed out.
   */
  *#parseList<T>(reply: Reply, schema: z.ZodType<T>, path: string): Generator<T[], void, undefined> {
    let page: T[] = [];
    let index = 0;
    const elements = jsonArrayElements(reply.bodyText, 'value');
    for (;;) {
      let next: IteratorResult<unknown, void>;
      try {
        next = elements.next();
      } catch (error) {
        throw this.#contractBroken('GET', path, `the body is not a JSON object with a "value" array (${error instanceof Error ? error.message : String(error)})`);
      }
      if (next.done === true) break;
      const parsed = schema.safeParse(next.value);
      if (!parsed.success) {
        // Paths only: the values may be user data.
        const where = parsed.error.issues.slice(0, 3).map((issue) => `value.${index}${issue.path.length > 0 ? `.${issue.path.join('.')}` : ''}: ${issue.message}`).join('; ');
        throw this.#contractBroken('GET', path, where);
      }
      page.push(parsed.data);
      index += 1;
      if (page.length === LIST_PAGE_RECORDS) {
        yield page;
        page = [];
      }
    }
    // An empty listing is one empty page, as before.
    if (page.length > 0 || index === 0) yield page;
  }

  #contractBroken(method: string, path: string, detail: string): DestinationRequestError {
    return new DestinationRequestError(
      `Signature 365 destination ${this.destination} answered ${method} ${path} with a body that breaks the directory API contract (${detail}).`,
      { destination: this.destination, status: 200 },
    );
  }

  #serverErrorText(bodyText: string): string | undefined {
    let json: unknown;
    try {
      json = JSON.parse(bodyText);
    } catch {
      return undefined;
    }
    const parsed = errorResponseSchema.safeParse(json);
    return parsed.success ? this.#redact(truncate(parsed.data.error)) : undefined;
  }
}

/**
 * Runs closest to the wire, once per attempt: sets the bearer token, counts what happens, bounds the
 * attempt, and turns a timed-out attempt (an abort the caller did not ask for) into a RestError the
 * retry strategy can retry.
 *
 * The attempt's time limit is ours, not the pipeline request's `timeout`: the SDK's Node HTTP client
 * arms a referenced timer of `timeout` ms per attempt and clears it only when an answer arrives, so
 * every refused, unresolvable or TLS-failed attempt left a 100-second timer behind and a CLI run
 * (test-connection with the network down) sat that long before exiting. AbortSignal.timeout keeps
 * no process alive.
 */
function createWirePolicy(token: string, stats: DestinationClientStats): PipelinePolicy {
  return {
    name: 'signature365Wire',
    async sendRequest(request, next) {
      const timeoutInMs = request.timeout;
      const callerSignal = request.abortSignal;
      if (timeoutInMs > 0) {
        const attemptSignal = AbortSignal.timeout(timeoutInMs);
        request.timeout = 0;
        request.abortSignal = callerSignal === undefined ? attemptSignal : AbortSignal.any([callerSignal as AbortSignal, attemptSignal]);
      }
      request.headers.set('Authorization', `Bearer ${token}`);
      stats.requests += 1;
      try {
        const response = await next(request);
        if (response.status === 429) stats.throttled += 1;
        if (response.status >= 500) stats.serverErrors += 1;
        return response;
      } catch (error) {
        stats.networkErrors += 1;
        const callerAborted = callerSignal?.aborted === true;
        if (!callerAborted && error instanceof Error && error.name === 'AbortError') {
          stats.timeouts += 1;
          throw new RestError(`no answer within ${timeoutInMs} ms`, { code: 'ETIMEDOUT' });
        }
        throw error;
      } finally {
        // The retry policy sends this same request again: restore what the caller set.
        request.timeout = timeoutInMs;
        request.abortSignal = callerSignal;
        // A RestError keeps the request object; leave no token on it. Each attempt signs afresh.
        request.headers.delete('Authorization');
      }
    },
  };
}

/** Retry-After in seconds or as an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfterInMs(value: string | undefined | null, now: number = Date.now()): number | undefined {
  if (value === undefined || value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  // An HTTP date names its month; without this, Date.parse would read "-5" as a year.
  if (!/[a-z]{3}/i.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/** Exponential backoff with jitter in [half, full] of the step, like the Azure SDK's. */
export function backoffDelayInMs(retryCount: number, baseInMs: number, maxInMs: number, random: () => number = Math.random): number {
  const step = Math.min(maxInMs, baseInMs * 2 ** retryCount);
  return Math.round(step / 2 + random() * (step / 2));
}

/** Runs `work` over items with at most `limit` in flight; stops taking new items after a failure and rethrows the first. */
async function runBounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next];
      next += 1;
      if (item === undefined) continue;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, () => worker()));
  if (failure !== undefined) throw failure.error;
}

function normalizeEndpoint(config: DestinationConfig): string {
  const raw = config.endpoint.trim() === '' ? DEFAULT_SIGNATURE365_ENDPOINT : config.endpoint.trim();
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`Signature365.${config.name}.Endpoint is not a URL: ${raw}`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new Error(`Signature365.${config.name}.Endpoint must be an https:// URL (the token travels with every request): ${raw}`);
  }
  return url.toString().replace(/\/+$/, '');
}

function requireSource(source: string): string {
  if (source.trim() === '') throw new RangeError('source (the Entra tenant id) must not be empty');
  return source;
}

function truncate(text: string): string {
  return text.length > ERROR_TEXT_LIMIT ? `${text.slice(0, ERROR_TEXT_LIMIT)}…` : text;
}
