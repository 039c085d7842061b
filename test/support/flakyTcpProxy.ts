/**
 * A TCP proxy on 127.0.0.1 in front of one port (an Azurite service), with outages on demand: an
 * outage cuts every open connection (requests in flight get a reset, whether or not the store
 * applied them) and refuses new ones until it ends. That is what a storage blip looks like to
 * the connector: the SDK retries, gives up, and the run or the message fails and is tried again.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface FlakyTcpProxy {
  readonly port: number;
  /** Cuts every open connection and refuses new ones for `ms` milliseconds (Infinity: until `restore`). */
  outage(ms: number): void;
  /** Ends an outage now. */
  restore(): void;
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
    restore() {
      downUntil = 0;
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

export interface RelayedStorage {
  /** The connection string with every 127.0.0.1 endpoint pointing at its proxy. */
  readonly connectionString: string;
  readonly proxies: readonly FlakyTcpProxy[];
  /** Cuts and refuses every endpoint for `ms` (Infinity: until `restore`). */
  outage(ms: number): void;
  restore(): void;
  close(): Promise<void>;
}

/** A flaky proxy in front of each 127.0.0.1 endpoint of an Azurite connection string. */
export async function relayStorage(connectionString: string): Promise<RelayedStorage> {
  const proxies = new Map<number, FlakyTcpProxy>();
  for (const m of connectionString.matchAll(/http:\/\/127\.0\.0\.1:(\d+)/g)) {
    const port = Number(m[1]);
    if (!proxies.has(port)) proxies.set(port, await startFlakyTcpProxy(port));
  }
  const relayed = connectionString.replace(/(http:\/\/127\.0\.0\.1:)(\d+)/g, (_whole, base: string, port: string) => `${base}${proxies.get(Number(port))?.port ?? port}`);
  const all = [...proxies.values()];
  return {
    connectionString: relayed,
    proxies: all,
    outage: (ms) => { for (const proxy of all) proxy.outage(ms); },
    restore: () => { for (const proxy of all) proxy.restore(); },
    close: async () => { for (const proxy of all) await proxy.close(); },
  };
}
