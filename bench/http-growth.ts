/**
 * `start` latency over HTTP against a store holding few vs many pending transactions (issue 12, item 3):
 *   npx tsx bench/http-growth.ts [--sizes 1000,1000000] [--pairs 40] [--per-slice 375] [--warmup 2000]
 * prints the figures as one JSON line last (progress on stderr). bench/growth.ts times the store's own step in
 * isolation; this times the real thing: POST /authn/otp {"type":"start"} with a wrong code (INVALID_OTP) against
 * bench/server.ts (memory store).
 *
 * Two servers run at once, each filled before it listens (BENCH_FILL, bench/server.ts) so that with the bench
 * sessions it holds exactly `size` pending transactions. The machine's CPU speed drifts by ±30 % over seconds, so
 * runs minutes apart are not compared: short slices alternate between the servers (A B, then B A, to cancel order
 * effects), one request at a time on one keep-alive socket (latency, not throughput), and each slice gives a median.
 * Slices are short (~0.35 s) because pairs of 1.5 s slices tracked the drift worse (per-pair ratios spread 0.66-1.63,
 * against 0.95-1.15 for the middle 80 % with 0.35 s, in the same conditions). A slice is a fixed number of requests,
 * not a fixed time, so the sessions needed are known in advance: a session serves exactly STARTS_PER_SESSION wrong
 * codes, each evaluated, and the small store must hold all of its sessions.
 */
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer, type AddressInfo, type Server as NetServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { OTP_PATH, STARTS_PER_SESSION } from './bench-config.js';
import { BENCH_DIR, ROOT, createSessions, type BenchSession, type Server } from './http-bench.js';

export interface HttpGrowthSide {
  /** Pending transactions held: `filled` through the store plus one per bench session (opened by its first GET). */
  size: number;
  /** Inserted by BENCH_FILL (and how long that took, ms); bench sessions, each made over HTTP. */
  filled: number; fillMs: number; sessions: number;
  /** The server's heapUsed (/bench/stats, not after a GC) after the warm-up, and after the last slice. */
  heapUsedBefore: number; heapUsedAfter: number;
  /** Median latency (ms) of each of this server's slices, in the order run. */
  sliceMedianMs: number[];
  /** The median of sliceMedianMs; p99 and mean over all measured requests (ms). */
  medianMs: number; p99Ms: number; meanMs: number;
  requests: number;
  /** Answers whose error.code was INVALID_OTP (must equal requests). */
  invalidOtp: number;
  /** Events the server emitted over the measured slices: WEB_100020 (a wrong entry evaluated) must equal requests. */
  events: Record<string, number>;
  /** The server's CPU time (µs, user + system, all threads) and its main thread's GC pauses (µs) over the measured slices, per request. */
  cpuPerRequestUs: number; gcPausePerRequestUs: { minor: number; major: number };
}

export interface HttpGrowthFigures {
  sizes: [number, number];
  pairs: number; requestsPerSlice: number; warmupRequests: number;
  /** Median wall time of one slice (s), both servers. */
  sliceSeconds: number;
  small: HttpGrowthSide; large: HttpGrowthSide;
  /** large.medianMs / small.medianMs. */
  ratio: number;
  /** The median of the per-pair ratios (large / small slice median of one pair, adjacent in time): the figure. */
  pairRatioMedian: number;
  /** The per-pair ratios' quartiles: how precise pairRatioMedian is. */
  pairRatioIqr: [number, number];
  p99Ratio: number;
  /** Every measured answer INVALID_OTP and every one evaluated (WEB_100020), no other event. */
  verified: boolean;
  /** 1.10: pass = verified and pairRatioMedian ≤ target. */
  target: number;
  pass: boolean;
}

interface GrowthServer extends Server { fillMs: number; agent: Agent }

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

/** Like http-bench.ts's startServer (memory store), with BENCH_FILL, a large heap and time enough for the fill. */
async function spawnFilled(fill: number, tag: string, port: number): Promise<GrowthServer> {
  const outbox = path.join(os.tmpdir(), `otp-bench-outbox-${process.pid}-growth-${tag}-${Date.now()}.jsonl`);
  const serverArgs = process.env.BENCH_SERVER_JS ? [process.env.BENCH_SERVER_JS] : ['--import', 'tsx', path.join(BENCH_DIR, 'server.ts')];
  const child = spawn(process.execPath, ['--max-old-space-size=8192', ...serverArgs], {
    cwd: ROOT,
    env: { ...process.env, BENCH_PORT: String(port), BENCH_STORE: 'memory', BENCH_OUTBOX: outbox, BENCH_FILL: String(fill), NODE_ENV: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = () => new Promise<void>((resolve) => {
    const done = () => { if (existsSync(outbox)) rmSync(outbox); resolve(); };
    if (child.exitCode !== null || child.signalCode !== null) return done();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => { clearTimeout(timer); done(); });
    child.kill('SIGTERM');
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server ${tag} not ready in 180 s: ${err}`)), 180_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('READY')) { clearTimeout(timer); resolve(); }
      });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server ${tag} exited (${code}): ${err}`)); });
    });
    child.removeAllListeners('exit');
    const fillMs = Number(/FILLED \d+ in (\d+) ms/.exec(out)?.[1] ?? 0);
    return { base: `http://127.0.0.1:${port}`, port, outbox, child, stop, fillMs, agent: new Agent({ keepAlive: true, maxSockets: 1 }) };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function getJson<T>(url: string, method = 'GET'): Promise<T> {
  const res = await fetch(url, { method });
  return (await res.json()) as T;
}

/** One wrong-code start on the server's single keep-alive socket: the latency (ms) and the answer's error.code. */
function start(server: GrowthServer, headers: Record<string, string>, body: string): Promise<{ ms: number; code: string }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = request({ host: '127.0.0.1', port: server.port, path: OTP_PATH, method: 'POST', agent: server.agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        const text = Buffer.concat(chunks).toString();
        resolve({ ms, code: /"code":"([A-Z_]+)"/.exec(text)?.[1] ?? `HTTP ${res.statusCode}` });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Two free loopback ports, both held open while asked for so they differ. */
async function freePorts(): Promise<[number, number]> {
  const held = await Promise.all([0, 1].map(() => new Promise<NetServer>((resolve, reject) => {
    const srv = createServer().once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  })));
  const ports = held.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(held.map((s) => new Promise((resolve) => s.close(resolve))));
  return [ports[0]!, ports[1]!];
}

/** One server under test and its sessions: each serves exactly STARTS_PER_SESSION wrong codes, then the next. */
interface Side { server: GrowthServer; sessions: BenchSession[]; next: number; used: number; times: number[]; sliceMedians: number[]; invalid: number }

/** Sends `n` starts one at a time; the latencies (ms) and how many were answered INVALID_OTP. */
async function run(side: Side, n: number): Promise<{ times: number[]; invalid: number }> {
  const times: number[] = new Array(n);
  let invalid = 0;
  let s = side.sessions[Math.max(0, side.next - 1)];
  let body = '';
  let headers: Record<string, string> = {};
  const prepare = (x: BenchSession) => {
    body = `{"type":"start","data":{"otp":"${x.wrong}"}}`;
    headers = { 'content-type': 'application/json', accept: 'application/json', cookie: x.cookie, 'x-csrf-token': x.csrf, 'content-length': String(Buffer.byteLength(body)) };
  };
  if (s && side.used < STARTS_PER_SESSION) prepare(s);
  for (let k = 0; k < n; k += 1) {
    if (side.used >= STARTS_PER_SESSION) {
      s = side.sessions[side.next++];
      if (!s) throw new Error('session pool exhausted');
      side.used = 0;
      prepare(s);
    }
    side.used += 1;
    const r = await start(side.server, headers, body);
    times[k] = r.ms;
    if (r.code === 'INVALID_OTP') invalid += 1;
  }
  return { times, invalid };
}

export async function benchHttpGrowth(opts: { sizes: [number, number]; log: (line: string) => void; pairs?: number; perSlice?: number; warmup?: number }): Promise<HttpGrowthFigures> {
  const { sizes, log } = opts;
  const pairs = opts.pairs ?? 40;
  const perSlice = opts.perSlice ?? 375;
  const warmup = opts.warmup ?? 2000;
  // Every start is evaluated only while its session has attempts left, so the sessions are counted, not guessed.
  const sessionsEach = Math.ceil((warmup + pairs * perSlice) / STARTS_PER_SESSION);
  if (sessionsEach > Math.min(...sizes)) throw new Error(`the smaller size must hold the ${sessionsEach} bench sessions: lower --pairs, --per-slice or --warmup`);
  const [portA, portB] = await freePorts();
  const started: GrowthServer[] = [];
  const launch = (fill: number, tag: string, port: number) => spawnFilled(fill, tag, port).then((s) => { started.push(s); return s; });
  try {
    log(`  http-growth: starting two servers, filling ${sizes[0] - sessionsEach} and ${sizes[1] - sessionsEach} (+${sessionsEach} bench sessions each)`);
    const settled = await Promise.allSettled([launch(sizes[0] - sessionsEach, 'small', portA), launch(sizes[1] - sessionsEach, 'large', portB)]);
    for (const r of settled) if (r.status === 'rejected') throw r.reason;
    const [a, b] = settled.map((r) => (r as PromiseFulfilledResult<GrowthServer>).value) as [GrowthServer, GrowthServer];
    log(`  http-growth: filled in ${a.fillMs} ms and ${b.fillMs} ms; making the sessions`);
    const tag = `growth-${Date.now()}-`;
    const [poolA, poolB] = await Promise.all([createSessions(a, 0, sessionsEach, `${tag}a`), createSessions(b, 0, sessionsEach, `${tag}b`)]);
    const side = (server: GrowthServer, sessions: BenchSession[]): Side => ({ server, sessions, next: 0, used: STARTS_PER_SESSION, times: [], sliceMedians: [], invalid: 0 });
    const sides: [Side, Side] = [side(a, poolA), side(b, poolB)];
    // JIT warm-up on each (not counted), then the counters reset so the events seen are the measured ones.
    for (const side of sides) await run(side, warmup);
    const heapBefore = await Promise.all(sides.map((s) => getJson<{ memory: NodeJS.MemoryUsage }>(`${s.server.base}/bench/stats`)));
    await Promise.all(sides.map((s) => getJson(`${s.server.base}/bench/reset`, 'POST')));
    log(`  http-growth: ${pairs} pairs of slices of ${perSlice} starts`);
    const durations: number[] = [];
    const pairRatios: number[] = [];
    for (let p = 0; p < pairs; p += 1) {
      for (const j of p % 2 === 0 ? [0, 1] : [1, 0]) {
        const side = sides[j]!;
        const t0 = performance.now();
        const r = await run(side, perSlice);
        durations.push((performance.now() - t0) / 1000);
        side.times.push(...r.times);
        side.invalid += r.invalid;
        side.sliceMedians.push(median(r.times));
      }
      pairRatios.push(sides[1].sliceMedians[p]! / sides[0].sliceMedians[p]!);
    }
    const after = await Promise.all(sides.map((s) => getJson<{ memory: NodeJS.MemoryUsage; events: Record<string, number>; cpuMicros: number; gcMs: { minor: number; major: number } }>(`${s.server.base}/bench/stats`)));
    const figure = (side: Side, j: 0 | 1): HttpGrowthSide => {
      const sorted = [...side.times].sort((x, y) => x - y);
      return {
        size: sizes[j]!, filled: sizes[j]! - sessionsEach, fillMs: side.server.fillMs, sessions: sessionsEach,
        heapUsedBefore: heapBefore[j]!.memory.heapUsed, heapUsedAfter: after[j]!.memory.heapUsed,
        sliceMedianMs: side.sliceMedians, medianMs: median(side.sliceMedians), p99Ms: percentile(sorted, 0.99),
        meanMs: sorted.reduce((x, y) => x + y, 0) / sorted.length, requests: sorted.length, invalidOtp: side.invalid, events: after[j]!.events,
        cpuPerRequestUs: after[j]!.cpuMicros / sorted.length,
        gcPausePerRequestUs: { minor: (1000 * after[j]!.gcMs.minor) / sorted.length, major: (1000 * after[j]!.gcMs.major) / sorted.length },
      };
    };
    const figures = [figure(sides[0], 0), figure(sides[1], 1)] as const;
    const verified = figures.every((f) => f.invalidOtp === f.requests && f.events.WEB_100020 === f.requests && Object.keys(f.events).length === 1);
    const ratios = [...pairRatios].sort((x, y) => x - y);
    const pairRatioMedian = median(ratios);
    const target = 1.1;
    return {
      sizes, pairs, requestsPerSlice: perSlice, warmupRequests: warmup, sliceSeconds: median(durations),
      small: figures[0], large: figures[1],
      ratio: figures[1].medianMs / figures[0].medianMs, pairRatioMedian,
      pairRatioIqr: [percentile(ratios, 0.25), percentile(ratios, 0.75)], p99Ratio: figures[1].p99Ms / figures[0].p99Ms,
      verified, target, pass: verified && pairRatioMedian <= target,
    };
  } finally {
    for (const s of started) s.agent.destroy();
    await Promise.all(started.map((s) => s.stop()));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const [small, large] = (arg('sizes') ?? '1000,1000000').split(',').map(Number) as [number, number];
  const num = (name: string) => (arg(name) === undefined ? undefined : Number(arg(name)));
  const figures = await benchHttpGrowth({
    sizes: [small, large], log: (line) => console.error(line),
    ...(num('pairs') ? { pairs: num('pairs') } : {}), ...(num('per-slice') ? { perSlice: num('per-slice') } : {}), ...(num('warmup') ? { warmup: num('warmup') } : {}),
  });
  console.log(JSON.stringify(figures));
}
