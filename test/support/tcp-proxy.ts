/**
 * A TCP proxy on loopback between an app and a Redis server, for network faults in tests (issue 25): it forwards
 * both ways until `stall()` (bytes are held, connections stay open: a server that stops answering), `dropAll()`
 * (every connection is destroyed: a network that fails) and `resume()` (forwarding again, new connections too).
 */
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface StallProxy {
  readonly port: number;
  stall(): void;
  dropAll(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startStallProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<StallProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let stalled = false;
  const server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => { pairs.delete(pair); client.destroy(); upstream.destroy(); };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
    if (stalled) { client.pause(); upstream.pause(); }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const dropAll = (): void => {
    for (const [a, b] of [...pairs]) { a.destroy(); b.destroy(); }
    pairs.clear();
  };
  return {
    port,
    dropAll,
    stall() {
      stalled = true;
      for (const [a, b] of pairs) { a.pause(); b.pause(); }
    },
    resume() {
      stalled = false;
      for (const [a, b] of pairs) { a.resume(); b.resume(); }
    },
    async close() {
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
