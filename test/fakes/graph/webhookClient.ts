/**
 * The fake Graph's outbound side: one POST to a subscriber's endpoint (validation handshake, change or
 * lifecycle notification), with an overall deadline. No keep-alive, so nothing stays open between calls
 * or after close(); redirects are not followed, so requests only ever reach the URL a subscription names.
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';

/** What came back; `status` is undefined when there was no answer (timeout, refused, reset). */
export interface PostResult {
  status: number | undefined;
  contentType: string | undefined;
  body: string;
  /** Why there was no (complete) answer. */
  error?: string;
  /** From sending to the end of the answer (or the failure). */
  ms: number;
}

/** Subscribers answer with a token or an acknowledgement; anything longer is not read. */
const MAX_ANSWER_BYTES = 64 * 1024;

export class WebhookClient {
  private readonly httpAgent = new HttpAgent({ keepAlive: false });
  // Graph checks the subscriber's certificate; here the public roots plus the repo's test CA are trusted.
  private readonly httpsAgent = new HttpsAgent({
    keepAlive: false,
    ca: [...rootCertificates, readFileSync(join(__dirname, '..', 'tls', 'ca.pem'), 'utf8')],
  });
  private readonly inFlight = new Set<ClientRequest>();
  private closed = false;

  post(url: string, options: { body: string; contentType: string; timeoutMs: number }): Promise<PostResult> {
    const started = performance.now();
    if (this.closed) return Promise.resolve({ status: undefined, contentType: undefined, body: '', error: 'fake Graph closed', ms: 0 });
    const target = new URL(url);
    const https = target.protocol === 'https:';
    return new Promise<PostResult>((resolve) => {
      let settled = false;
      const finish = (result: Omit<PostResult, 'ms'>): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inFlight.delete(request);
        request.destroy();
        resolve({ ...result, ms: performance.now() - started });
      };
      const fail = (error: string) => finish({ status: undefined, contentType: undefined, body: '', error });
      const request = (https ? httpsRequest : httpRequest)(
        target,
        {
          method: 'POST',
          agent: https ? this.httpsAgent : this.httpAgent,
          headers: { 'Content-Type': options.contentType, 'Content-Length': Buffer.byteLength(options.body) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= MAX_ANSWER_BYTES) chunks.push(chunk);
          });
          response.on('end', () => finish({ status: response.statusCode, contentType: response.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') }));
          response.on('error', (error) => fail(error.message));
        },
      );
      const timer = setTimeout(() => fail(`no answer within ${options.timeoutMs} ms`), options.timeoutMs);
      request.on('error', (error) => fail(error.message));
      this.inFlight.add(request);
      request.end(options.body);
    });
  }

  /** Aborts every request still waiting (they resolve with an error) and releases the agents. */
  close(): void {
    this.closed = true;
    for (const request of [...this.inFlight]) request.destroy(new Error('fake Graph closed'));
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** The URL as logged: scheme, host, port and path, without a query that may carry secrets (e.g. ?code=). */
export function withoutQuery(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}
