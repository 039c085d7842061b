/**
 * A loopback HTTP proxy in front of Azurite's blob endpoint that records every request, so a test
 * can count the storage reads the connector makes through its real clients (no mock of the SDK or
 * of storage). Tables and queues keep going straight to Azurite.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';

export interface BlobRequestRecord {
  method: string;
  /** Path without the query (which may carry a SAS). */
  path: string;
  status: number;
}

export interface CountingBlobProxy {
  /** `connectionString` with its BlobEndpoint pointing at the proxy. */
  readonly connectionString: string;
  readonly requests: BlobRequestRecord[];
  close(): Promise<void>;
}

export async function startCountingBlobProxy(connectionString: string): Promise<CountingBlobProxy> {
  const blobEndpoint = /BlobEndpoint=([^;]+)/.exec(connectionString)?.[1];
  if (blobEndpoint === undefined) throw new Error('the connection string has no BlobEndpoint');
  const target = new URL(blobEndpoint);
  if (target.protocol !== 'http:' || target.hostname !== '127.0.0.1') throw new Error('the proxy only forwards to a loopback http Azurite');
  const requests: BlobRequestRecord[] = [];
  const server: Server = createServer((incoming, outgoing) => {
    const forwarded = httpRequest(
      { host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: target.host } },
      (answer) => {
        requests.push({ method: incoming.method ?? '', path: (incoming.url ?? '').split('?')[0] ?? '', status: answer.statusCode ?? 0 });
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const proxied = `http://127.0.0.1:${port}${target.pathname}`;
  return {
    connectionString: connectionString.replace(/BlobEndpoint=[^;]+/, `BlobEndpoint=${proxied}`),
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
