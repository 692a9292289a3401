/**
 * The peer of issue 26: better-auth's phone-number plugin verifying a wrong code (bench/peers/, its own package.json
 * and lockfile, installed by `npm run bench:peers`, never by the root `npm ci`), run as its own process beside the
 * bench server and measured in the same rounds as `start`, so "start / peer" is a ratio of one run.
 *
 * The measured request: `POST /api/auth/phone-number/verify {"phoneNumber", "code": "000000"}` on numbers the peer
 * prepared (a pending OTP each, none of them 000000), round robin over PEER_NUMBERS numbers so that no two requests
 * in flight share one (better-auth's check of one number is a get, then a getAndDelete and a set: two at once
 * could see each other's step). Every answer must be 400 INVALID_OTP: the code was compared and counted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { BENCH_DIR, HTTP_PARAMS, freePort } from './http-bench.js';

export const PEER_DIR = path.join(BENCH_DIR, 'peers');
const PEER_SERVER = path.join(PEER_DIR, 'better-auth-server.mjs');
/** Numbers prepared: far more than the connections, so a number is never checked twice at once. */
const PEER_NUMBERS = 2000;
export const PEER_EVALUATED = '400 INVALID_OTP';

export interface PeerSlice {
  reqPerSec: number;
  p50: number;
  p99: number;
  responses: number;
  errors: number;
  /** Answers by `<status> <error code>`: all PEER_EVALUATED when every code was evaluated. */
  answers: Record<string, number>;
  cpuPerResponse: number;
}

export interface Peer {
  name: string;
  version: string;
  slice(seconds: number): Promise<PeerSlice>;
  stop(): Promise<void>;
}

/** Why the peer cannot run here (not installed), or null. */
export function peerMissing(): string | null {
  if (!existsSync(path.join(PEER_DIR, 'node_modules', 'better-auth', 'package.json'))) return 'better-auth is not installed in bench/peers (`npm run bench:peers` installs it)';
  return null;
}

export async function startPeer(): Promise<Peer> {
  const port = await freePort();
  // PEER_STATS=0: the peer does no bookkeeping of its own per request; the answers are counted here.
  const child: ChildProcess = spawn(process.execPath, [PEER_SERVER], { cwd: PEER_DIR, env: { ...process.env, PEER_PORT: String(port), PEER_STATS: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the peer did not start in 30 s: ${stderr}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('READY')) { clearTimeout(timer); resolve(); } });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the peer exited (${code}): ${stderr}`)); });
  });
  child.removeAllListeners('exit');
  const base = `http://127.0.0.1:${port}`;
  const prepared = await (await fetch(`${base}/peer/prepare`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ from: 0, n: PEER_NUMBERS }) })).json() as { prepared: number; first: string; wrongCode: string };
  if (prepared.prepared !== PEER_NUMBERS) throw new Error(`the peer prepared ${JSON.stringify(prepared)}`);
  const numbers = Array.from({ length: PEER_NUMBERS }, (_, i) => `+4670100${String(i).padStart(4, '0')}`);
  let next = 0;
  const cpu = async () => ((await (await fetch(`${base}/peer/stats`)).json()) as { cpuMicros: number }).cpuMicros;
  const { version } = JSON.parse(readFileSync(path.join(PEER_DIR, 'node_modules', 'better-auth', 'package.json'), 'utf8')) as { version: string };

  const run = (seconds: number, answers: Record<string, number> | null) => autocannon({
    url: base,
    connections: HTTP_PARAMS.connections,
    pipelining: HTTP_PARAMS.pipelining,
    duration: seconds,
    timeout: 10,
    requests: [{
      method: 'POST',
      path: '/api/auth/phone-number/verify',
      setupRequest: (req: autocannon.Request) => {
        const phoneNumber = numbers[next]!;
        next = (next + 1) % numbers.length;
        return { ...req, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phoneNumber, code: prepared.wrongCode }) } as autocannon.Request;
      },
      onResponse: (status: number, body: string) => {
        if (answers === null) return;
        const kind = `${status} ${/"code":"([A-Z_]+)"/.exec(String(body))?.[1] ?? ''}`.trim();
        answers[kind] = (answers[kind] ?? 0) + 1;
      },
    }],
  });
  await run(HTTP_PARAMS.warmupSeconds, null);

  return {
    name: 'better-auth',
    version,
    async slice(seconds) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const answers: Record<string, number> = {};
      const before = await cpu();
      const r = await run(seconds, answers);
      const used = (await cpu()) - before;
      return { reqPerSec: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, responses: r.requests.total, errors: r.errors, answers, cpuPerResponse: used / Math.max(1, r.requests.total) };
    },
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => { clearTimeout(timer); resolve(); });
      child.kill('SIGTERM');
    }),
  };
}
