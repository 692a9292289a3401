import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';

/**
 * A real listening server and a raw HTTP client for fuzzing: any method token, any path bytes the client allows,
 * repeated headers, any body bytes, no client-side JSON handling. One keep-alive agent, so thousands of requests
 * do not each pay for a connection.
 */
export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body?: Buffer;
}

export interface RawServer {
  port: number;
  send(req: RawRequest): Promise<RawAnswer>;
  close(): Promise<void>;
}

export async function listen(app: RequestListener): Promise<RawServer> {
  const server = http.createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  return {
    port,
    send(r) {
      return new Promise((resolve, reject) => {
        // Node's client frames a body of GET, DELETE, OPTIONS ... neither by length nor chunked unless told: say the length.
        const headers = r.body === undefined ? r.headers : { ...r.headers, 'content-length': String(r.body.length) };
        const req = http.request({ host: '127.0.0.1', port, method: r.method, path: r.path, headers, agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        });
        req.setTimeout(10_000, () => req.destroy(new Error(`no answer within 10 s: ${r.method} ${r.path}`)));
        req.on('error', reject);
        req.end(r.body);
      });
    },
    async close() {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
