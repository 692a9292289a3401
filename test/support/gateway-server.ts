/**
 * A real HTTP gateway on 127.0.0.1 for the delivery valves' tests. It records every request (method, path,
 * headers, raw body) and answers as told, request by request: `ok` (200), a status such as 500, `hang`
 * (never answers), or `reset` (drops the connection without an answer, as a crashed gateway does).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type GatewayAnswer = 'ok' | 'hang' | 'reset' | number;

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface GatewayServer {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Connections accepted, including ones reset before a request was read. */
  connections: number;
  /** Answers for the next requests, in order; afterwards `fallback` (default `ok`). */
  answer(...answers: GatewayAnswer[]): void;
  fallback: GatewayAnswer;
  close(): Promise<void>;
}

export async function startGatewayServer(): Promise<GatewayServer> {
  const queue: GatewayAnswer[] = [];
  const state: GatewayServer = {
    url: '',
    port: 0,
    requests: [],
    connections: 0,
    answer: (...answers) => void queue.push(...answers),
    fallback: 'ok',
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = queue.shift() ?? state.fallback;
      if (answer === 'hang') return;
      if (answer === 'reset') {
        req.socket.destroy();
        return;
      }
      const status = answer === 'ok' ? 200 : answer;
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(status < 300 ? { sid: 'SM123', status: 'queued' } : { error: 'gateway says no', secret: 'do-not-leak' }));
    });
  });
  server.on('connection', () => {
    state.connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  state.port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

/** A port on 127.0.0.1 where nothing listens (bound once, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
