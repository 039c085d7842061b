/**
 * Stands in for the Azure Functions host's HTTP front, so that something outside the test (the fake
 * Graph's validation handshake and notification delivery) can reach an in-process Functions handler
 * over real HTTP: a node:http server on 127.0.0.1 (a free port) that turns each request into an
 * `@azure/functions` HttpRequest (method, full URL with its query, headers, body bytes), calls the
 * handler routed at that path with a fresh InvocationContext, and writes the handler's answer back
 * (HttpResponseInit or HttpResponse: status, headers, body string/bytes or jsonBody), converted the
 * way the worker library converts it for the host.
 *
 * Like the host it buffers the whole body before the handler runs (up to `maxBodyBytes`, 413 above,
 * as the host answers above its own limit). Unknown paths get 404; a handler that throws gets 500
 * and the error is kept in `errors`. Every call is recorded in `calls` (path without the query,
 * which may carry the webhook key).
 */
import { readLimited } from '../../src/serve/httpServer';
import { HttpRequest, HttpResponse, InvocationContext, type HttpHandler } from '@azure/functions';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BridgeRoute {
  /** The function's name as registered with app.http (the InvocationContext carries it). */
  functionName: string;
  handler: HttpHandler;
}

export interface BridgeCall {
  functionName: string | undefined;
  method: string;
  /** Without the query. */
  path: string;
  status: number;
  ms: number;
}

export interface FunctionsHttpBridgeOptions {
  /** By path, e.g. `/api/graph/notifications` (no query; a trailing slash is ignored). */
  routes: Record<string, BridgeRoute>;
  /** Receives each line a handler logs through its InvocationContext. */
  log?: (line: string) => void;
  /** Bodies above this are answered 413 without calling the handler. Default 16 MiB. */
  maxBodyBytes?: number;
}

export interface FunctionsHttpBridge {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  calls: BridgeCall[];
  /** Messages of errors thrown by handlers (answered 500). */
  errors: string[];
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
/** Connection-level headers a handler cannot set for the host. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade']);


function headersOf(request: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function context(functionName: string, log: ((line: string) => void) | undefined): InvocationContext {
  return new InvocationContext({
    invocationId: randomUUID(),
    functionName,
    logHandler: (_level, ...args: unknown[]) => {
      log?.(args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '));
    },
  });
}

function sendPlain(response: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...extra });
  response.end(text);
}

async function writeAnswer(response: ServerResponse, answer: HttpResponse, method: string): Promise<void> {
  const body = Buffer.from(await answer.arrayBuffer());
  const headers: Record<string, string> = {};
  answer.headers.forEach((value, name) => {
    if (!HOP_BY_HOP.has(name.toLowerCase())) headers[name] = value;
  });
  headers['Content-Length'] = String(body.length);
  response.writeHead(answer.status, headers);
  response.end(method === 'HEAD' ? undefined : body);
}

export async function startFunctionsHttpBridge(options: FunctionsHttpBridgeOptions): Promise<FunctionsHttpBridge> {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const calls: BridgeCall[] = [];
  const errors: string[] = [];
  let origin = '';

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = request.method ?? 'GET';
    // Origin-form targets only: '//x' must not be read as a host.
    const target = request.url ?? '/';
    const url = new URL(target.startsWith('/') ? `${origin}${target}` : target, origin);
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    const route = Object.hasOwn(options.routes, path) ? options.routes[path] : undefined;
    const record = (status: number): void => {
      calls.push({ functionName: route?.functionName, method, path: url.pathname, status, ms: Math.round(performance.now() - started) });
    };
    if (route === undefined) {
      request.resume();
      sendPlain(response, 404, `no function at ${url.pathname}`);
      record(404);
      return;
    }
    const body = await readLimited(request, maxBodyBytes);
    if (body === undefined) {
      sendPlain(response, 413, 'request body too large', { Connection: 'close' });
      record(413);
      return;
    }
    let httpRequest: HttpRequest;
    try {
      httpRequest = new HttpRequest({ method, url: url.href, headers: headersOf(request), body: { bytes: body } });
    } catch (error) {
      // The worker library cannot represent it (e.g. TRACE): the host would not get this far either.
      sendPlain(response, 400, `the request cannot be handed to a function: ${error instanceof Error ? error.message : String(error)}`);
      record(400);
      return;
    }
    let answer: HttpResponse;
    try {
      const result = await route.handler(httpRequest, context(route.functionName, options.log));
      answer = result instanceof HttpResponse ? result : new HttpResponse(result);
    } catch (error) {
      errors.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      sendPlain(response, 500, 'the function threw');
      record(500);
      return;
    }
    await writeAnswer(response, answer, method);
    record(answer.status);
  }

  const server = createServer((request, response) => {
    serve(request, response).catch((error: unknown) => {
      errors.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      if (!response.headersSent) sendPlain(response, 500, 'bridge error');
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  return {
    url: origin,
    port,
    calls,
    errors,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
