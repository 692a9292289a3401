/**
 * Processes for the issue-10 Redis suites: free ports, a private redis-server, the demo server as a child process,
 * and a small fetch client with a cookie jar that can talk to several servers at once (supertest's agent cannot).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tryConnect } from './redis.js';

const ROOT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A port nothing listens on right now (listen on 0, close). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until it is true; throws after `ms`. Answers how long it took. */
export async function eventually(check: () => Promise<boolean> | boolean, ms: number, what = 'condition', everyMs = 50): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(everyMs);
  }
}

/** A private redis-server on `port`, no persistence; resolves once it answers PING. */
export async function startRedisServer(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i += 1) {
    if (child.exitCode !== null) break;
    const c = await tryConnect(`redis://127.0.0.1:${port}`, 200);
    if (c !== null) {
      await c.close();
      return child;
    }
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not start on port ${port}`);
}

/** Stops a child with `signal` and waits until it has exited. */
export async function stopProcess(child: ChildProcess | null | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

/** The demo server (`src/server.ts`) as a child process of this test, started from the repository root. */
export interface DemoProcess {
  child: ChildProcess;
  port: number;
  base: string;
  /** What it wrote to stderr so far (for failure messages). */
  stderr(): string;
}

export function spawnDemo(root: string, env: Record<string, string>, port: number): DemoProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'development', ...env, PORT: String(port) },
    // stdout carries the console events and outbox lines: not read, so not piped (a full pipe would block the child).
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => { err += d; });
  return { child, port, base: `http://127.0.0.1:${port}`, stderr: () => err };
}

/** Waits until `GET /healthz` answers 200 on the demo process. */
export async function waitHealthy(p: DemoProcess, ms = 20_000): Promise<void> {
  await eventually(async () => {
    if (p.child.exitCode !== null) throw new Error(`demo on port ${p.port} exited ${p.child.exitCode}: ${p.stderr()}`);
    try {
      const res = await fetch(`${p.base}/healthz`);
      return res.status === 200;
    } catch {
      return false;
    }
  }, ms, `demo on port ${p.port} healthy`, 100);
}

/** One browser: a cookie jar carried by hand across any number of servers (same host, so the same cookies). */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) < Date.now()) || attrs.some((a) => /^\s*max-age=0\b/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  get(name: string): string | undefined {
    return this.cookies.get(name);
  }
}

export interface JsonAnswer {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

/** A request with the jar's cookies; the answer's cookies go back into the jar unless `keepCookies` is false. */
export async function call(jar: CookieJar, url: string, init: { method?: string; json?: unknown; csrf?: string; accept?: string; keepCookies?: boolean } = {}): Promise<JsonAnswer> {
  const headers: Record<string, string> = { Accept: init.accept ?? 'application/json' };
  const cookie = jar.header();
  if (cookie) headers.Cookie = cookie;
  if (init.csrf) headers['X-CSRF-Token'] = init.csrf;
  if (init.json !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url, { method: init.method ?? (init.json === undefined ? 'GET' : 'POST'), headers, redirect: 'manual', ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}) });
  if (init.keepCookies !== false) jar.take(res);
  const text = await res.text();
  let body: unknown = null;
  try { body = JSON.parse(text); } catch { /* HTML or empty */ }
  return { status: res.status, headers: res.headers, body, text };
}

/** JSON lines of a file (missing file: none). */
export function jsonLines(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').flatMap((l) => {
    try { return [JSON.parse(l) as Record<string, unknown>]; } catch { return []; }
  });
}

/** The six-digit codes the outbox file holds for `to`, oldest first. */
export function outboxCodes(outbox: string, to: string): string[] {
  return jsonLines(outbox).filter((m) => m.to === to).map((m) => /\b(\d{6})\b/.exec(String(m.text))?.[1] ?? '');
}

/** The events `id` of `who` (CUSTOMER_IDENTIFIER) in the processes' event files. */
export function eventsOf(files: readonly string[], id: string, who: string): Record<string, unknown>[] {
  return files.flatMap((f) => jsonLines(f)).filter((e) => e.event_id === id && e.CUSTOMER_IDENTIFIER === who);
}

/** Waits until the number of lines matching `pick` in `files` stops changing for `quietMs`; answers the lines. */
export async function settledLines(files: readonly string[], pick: (e: Record<string, unknown>) => boolean, quietMs = 400, maxMs = 10_000): Promise<Record<string, unknown>[]> {
  const start = Date.now();
  let last = -1;
  let since = Date.now();
  for (;;) {
    const lines = files.flatMap((f) => jsonLines(f)).filter(pick);
    if (lines.length !== last) { last = lines.length; since = Date.now(); }
    else if (Date.now() - since >= quietMs) return lines;
    if (Date.now() - start > maxMs) return lines;
    await sleep(100);
  }
}

/** Two demo processes on one store, with their config, outbox and event files in a temp folder. */
export interface DemoPair {
  a: DemoProcess;
  b: DemoProcess;
  dir: string;
  outbox: string;
  eventsFiles: string[];
  stop(): Promise<void>;
}

/**
 * Starts two demo servers (`src/server.ts`) on the demo's config as `change` leaves it (pipes from the repository,
 * no console events), with `env` added: REDIS_URL and REDIS_PREFIX for one server, or a config `store` block of a
 * Cluster or a Sentinel group set by `change`. Waits until both answer /healthz.
 */
export async function startDemoPair(name: string, env: Record<string, string>, change: (config: Record<string, any>) => void = () => undefined): Promise<DemoPair> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `otp-${name}-`));
  const outbox = path.join(dir, 'outbox.jsonl');
  const config = JSON.parse(readFileSync(path.join(ROOT_DIR, 'config', 'default.json'), 'utf8')) as Record<string, any>;
  delete config.$schema;
  config.pipes = `@include:${path.join(ROOT_DIR, 'pipes')}`;
  config.logging.events.console = false;
  change(config);
  const configFile = path.join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  copyFileSync(path.join(ROOT_DIR, 'config', 'demo-users.json'), path.join(dir, 'demo-users.json'));
  const eventsFiles: string[] = [];
  const envOf = (who: string): Record<string, string> => {
    const events = path.join(dir, `events-${who}.jsonl`);
    eventsFiles.push(events);
    // REDIS_URL and REDIS_PREFIX only as `env` gives them: one the runner has (CI sets REDIS_URL) would make the demo
    // replace a Cluster or Sentinel store block with that one server, whose keys outlive the run.
    return { OTP_CONFIG: configFile, OUTBOX_FILE: outbox, EVENTS_FILE: events, OTP_SECRET: `${name}-otp-secret`, SESSION_SECRET: `${name}-session-secret`, REDIS_URL: '', REDIS_PREFIX: '', ...env };
  };
  const [portA, portB] = [await freePort(), await freePort()];
  const a = spawnDemo(ROOT_DIR, envOf('a'), portA);
  const b = spawnDemo(ROOT_DIR, envOf('b'), portB);
  const stop = async () => { await Promise.all([stopProcess(a.child, 'SIGKILL'), stopProcess(b.child, 'SIGKILL')]); };
  try {
    await Promise.all([waitHealthy(a), waitHealthy(b)]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { a, b, dir, outbox, eventsFiles, stop };
}
