/**
 * A TCP relay in front of the shared test Azurite's table and queue endpoints, so a test can take
 * storage away from the connector (connections refused, open ones cut) and bring it back on the
 * same ports, without touching the Azurite every other test file shares.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface StorageOutage {
  /** The Azurite connection string with table and queue endpoints pointing at the relay. */
  readonly connectionString: string;
  /** Storage is unreachable until `restore`. */
  begin(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

interface Relay {
  port: number;
  server: Server | undefined;
  sockets: Set<Socket>;
  target: number;
}

function listen(relay: Relay): Promise<void> {
  const server = createServer((client) => {
    const upstream = connect(relay.target, '127.0.0.1');
    relay.sockets.add(client).add(upstream);
    const drop = () => { client.destroy(); upstream.destroy(); relay.sockets.delete(client); relay.sockets.delete(upstream); };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  relay.server = server;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(relay.port, '127.0.0.1', () => {
      const address = server.address();
      if (typeof address === 'object' && address !== null) relay.port = address.port;
      resolve();
    });
  });
}

async function shut(relay: Relay): Promise<void> {
  const server = relay.server;
  relay.server = undefined;
  for (const socket of relay.sockets) socket.destroy();
  relay.sockets.clear();
  if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
}

export async function startStorageOutage(connectionString: string): Promise<StorageOutage> {
  const portOf = (name: string) => Number(new RegExp(`${name}=http://127\\.0\\.0\\.1:(\\d+)/`).exec(connectionString)?.[1] ?? Number.NaN);
  const relays = new Map<string, Relay>();
  for (const name of ['TableEndpoint', 'QueueEndpoint']) {
    const target = portOf(name);
    if (!Number.isFinite(target)) throw new Error(`no ${name} on 127.0.0.1 in the test connection string`);
    const relay: Relay = { port: 0, server: undefined, sockets: new Set(), target };
    await listen(relay);
    relays.set(name, relay);
  }
  let relayed = connectionString;
  for (const [name, relay] of relays) relayed = relayed.replace(new RegExp(`${name}=http://127\\.0\\.0\\.1:\\d+/`), `${name}=http://127.0.0.1:${relay.port}/`);
  return {
    connectionString: relayed,
    begin: async () => { for (const relay of relays.values()) await shut(relay); },
    restore: async () => { for (const relay of relays.values()) if (relay.server === undefined) await listen(relay); },
    close: async () => { for (const relay of relays.values()) await shut(relay); },
  };
}
