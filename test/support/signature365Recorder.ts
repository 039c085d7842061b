/**
 * An HTTPS pass-through in front of the fake Signature 365 that keeps what the fake's own log
 * leaves out: the records of every batch, as a hash per record. With it a fault test can count
 * how often the destination received (and applied) the very same record, across killed runs and
 * reruns, without changing the fake.
 *
 * The CLI is configured with the recorder's endpoint. A request is forwarded once its whole body
 * has arrived, whatever happens to the client afterwards: a client killed while waiting for the
 * answer has still delivered its batch, exactly as on a real network.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, createServer, request as httpsRequest, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { FAKE_TLS_DIR } from '../fakes/graph';

export interface RecordedRecord {
  id: string;
  /** SHA-256 of the record's canonical JSON (keys sorted), so an identical resend hashes the same. */
  hash: string;
}

export interface RecordedRequest {
  /** 1-based, in arrival order (of complete bodies). */
  seq: number;
  method: string;
  path: string;
  kind: 'users' | 'groups' | null;
  upserts: RecordedRecord[];
  deletes: string[];
  /** SHA-256 of the raw body: a retry of the same batch has the same one. */
  bodyHash: string;
  /** Free label set by the test (e.g. which run sent it). */
  label: string;
  /** When the whole body had arrived (ms since epoch). */
  receivedAt: number;
  /** When the fake's answer came back (ms since epoch); 0 until then. */
  answeredAt: number;
  /** The fake's status; 0 until it answered, -1 when forwarding failed. */
  status: number;
  retryAfter: string | null;
}

export interface Signature365Recorder {
  /** https://127.0.0.1:<port>: put this in the config instead of the fake's endpoint. */
  readonly endpoint: string;
  /** Every request forwarded so far, oldest first (a live array). */
  readonly requests: RecordedRequest[];
  /** Batch POSTs only. */
  batches(): RecordedRequest[];
  /** Requests recorded from now on carry this label. */
  setLabel(label: string): void;
  /** Settles once every forwarded request has its answer (bounded). */
  settled(timeoutInMs?: number): Promise<void>;
  close(): Promise<void>;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, canonical(v)]));
  }
  return value;
}

export function recordHash(record: unknown): string {
  return createHash('sha256').update(JSON.stringify(canonical(record))).digest('hex');
}

function readBatch(body: Buffer): { upserts: RecordedRecord[]; deletes: string[] } {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { upserts?: unknown; deletes?: unknown };
    const upserts = Array.isArray(parsed.upserts)
      ? parsed.upserts.map((record: unknown) => ({ id: String((record as { id?: unknown }).id), hash: recordHash(record) }))
      : [];
    const deletes = Array.isArray(parsed.deletes) ? parsed.deletes.map(String) : [];
    return { upserts, deletes };
  } catch {
    return { upserts: [], deletes: [] };
  }
}

export async function startSignature365Recorder(target: string): Promise<Signature365Recorder> {
  const upstream = new URL(target);
  // The fake's CA given here too, so the recorder works outside vitest (which sets NODE_EXTRA_CA_CERTS).
  const agent = new Agent({ keepAlive: true, ca: readFileSync(join(FAKE_TLS_DIR, 'ca.pem')) });
  const requests: RecordedRequest[] = [];
  let label = '';
  let inFlight = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'https://recorder.invalid').pathname;
    const kind = /\/users\/batch$/.test(path) ? 'users' : /\/groups\/batch$/.test(path) ? 'groups' : null;
    const record: RecordedRequest = {
      seq: requests.length + 1, method, path, kind, ...(kind !== null ? readBatch(body) : { upserts: [], deletes: [] }),
      bodyHash: createHash('sha256').update(body).digest('hex'), label, receivedAt: Date.now(), answeredAt: 0, status: 0, retryAfter: null,
    };
    requests.push(record);
    inFlight += 1;
    try {
      const answer = await new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>((resolve, reject) => {
        const forward = httpsRequest({
          protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port, method, path: req.url, agent,
          headers: { ...req.headers, host: upstream.host, 'content-length': String(body.length) },
        }, (response) => {
          const parts: Buffer[] = [];
          response.on('data', (part: Buffer) => parts.push(part));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(parts) }));
          response.on('error', reject);
        });
        forward.on('error', reject);
        forward.end(body);
      });
      record.status = answer.status;
      record.answeredAt = Date.now();
      const retryAfter = answer.headers['retry-after'];
      record.retryAfter = typeof retryAfter === 'string' ? retryAfter : null;
      const headers: Record<string, string> = { 'content-type': String(answer.headers['content-type'] ?? 'application/json'), 'content-length': String(answer.body.length) };
      if (record.retryAfter !== null) headers['retry-after'] = record.retryAfter;
      // The client may be dead by now (killed while it waited); its batch was delivered all the same.
      if (!res.destroyed) {
        res.writeHead(answer.status, headers);
        res.end(answer.body);
      }
    } catch (error) {
      record.status = -1;
      record.answeredAt = Date.now();
      if (!res.destroyed && !res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: `recorder could not reach the fake: ${error instanceof Error ? error.message : String(error)}` }));
      }
    } finally {
      inFlight -= 1;
    }
  }

  const server: Server = createServer(
    { cert: readFileSync(join(FAKE_TLS_DIR, 'server.pem')), key: readFileSync(join(FAKE_TLS_DIR, 'server.key')) },
    (req, res) => {
      res.on('error', () => undefined);
      req.on('error', () => undefined);
      handle(req, res).catch(() => res.destroy());
    },
  );
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    requests,
    batches: () => requests.filter((r) => r.kind !== null),
    setLabel: (next) => { label = next; },
    async settled(timeoutInMs = 10_000) {
      const deadline = Date.now() + timeoutInMs;
      while (inFlight > 0) {
        if (Date.now() > deadline) throw new Error(`the Signature 365 recorder still had ${inFlight} request(s) in flight after ${timeoutInMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      agent.destroy();
      server.close(() => resolve());
    }),
  };
}
