// A TCP proxy to put between an agent and its collector, that can turn into a network
// partition: bytes stop flowing both ways, and no side sees a reset or a close.
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Connections accepted so far, and when each was accepted and closed by the client (Date.now()). */
  connections: Array<{ openedAt: number; closedAt: number | undefined }>;
  /** Every byte the clients sent, as it crossed the wire. */
  sent(): Buffer;
  /** From now on, every connection, open or new, forwards nothing (until `heal`). */
  partition(): void;
  heal(): void;
  close(): void;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let cut = false;
  const pairs = new Set<[net.Socket, net.Socket]>();
  const connections: TcpProxy['connections'] = [];
  const fromClients: Buffer[] = [];
  const forward = (from: net.Socket, to: net.Socket) => from.on('data', (d: Buffer) => { if (!cut) to.write(d); });
  const server = net.createServer((client) => {
    const entry = { openedAt: Date.now(), closedAt: undefined as number | undefined };
    connections.push(entry);
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    // While cut, bytes are read and thrown away, as a partition loses packets.
    forward(client, upstream);
    client.on('data', (d: Buffer) => fromClients.push(d));
    forward(upstream, client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => { entry.closedAt ??= Date.now(); if (!cut) end(); });
    upstream.on('close', () => { if (!cut) end(); });
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    connections,
    sent: () => Buffer.concat(fromClients),
    partition: () => { cut = true; },
    heal: () => { cut = false; },
    close: () => {
      for (const [a, b] of pairs) { a.destroy(); b.destroy(); }
      server.close();
    },
  };
}
