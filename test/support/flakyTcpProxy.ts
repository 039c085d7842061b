/**
 * A TCP proxy on 127.0.0.1 in front of one port (an Azurite service), with outages on demand: an
 * outage cuts every open connection (requests in flight get a reset, whether or not the store
 * applied them) and refuses new ones until it ends. That is what a storage blip looks like to
 * the connector: the SDK retries, gives up, and the run or the message fails and is tried again.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface FlakyTcpProxy {
  readonly port: number;
  /** Cuts every open connection and refuses new ones for `ms` milliseconds. */
  outage(ms: number): void;
  /** Connections cut or refused so far. */
  readonly cut: () => number;
  close(): Promise<void>;
}

export async function startFlakyTcpProxy(targetPort: number): Promise<FlakyTcpProxy> {
  /** Client socket → its upstream. */
  const open = new Map<Socket, Socket>();
  let downUntil = 0;
  let cut = 0;
  const server: Server = createServer((client) => {
    if (Date.now() < downUntil) {
      cut += 1;
      client.destroy();
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    open.set(client, upstream);
    const end = () => {
      open.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');
  return {
    port: address.port,
    outage(ms) {
      downUntil = Math.max(downUntil, Date.now() + ms);
      for (const [client, upstream] of open) {
        cut += 1;
        client.resetAndDestroy();
        upstream.destroy();
      }
      open.clear();
    },
    cut: () => cut,
    close: () => new Promise<void>((resolve) => {
      for (const [client, upstream] of open) {
        client.destroy();
        upstream.destroy();
      }
      server.close(() => resolve());
    }),
  };
}
