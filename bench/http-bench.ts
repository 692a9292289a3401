/**
 * The HTTP half of the benchmark: spawns bench/server.ts in its own process, creates bench sessions over HTTP,
 * drives autocannon at the bare route, `start` (a wrong code) and `init`, and counts Redis round trips.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { OTP_PATH, STARTS_PER_SESSION, mobileOf } from './bench-config.js';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(BENCH_DIR, '..');

/**
 * Measurement parameters (README "What is measured"). This machine's CPU speed drifts by a third over seconds,
 * so the routes are measured in short alternating slices (bare, start, init, bare, start, init, ...) and each
 * ratio is the median of its per-round ratios: a drift then moves both sides of a ratio alike.
 */
export const HTTP_PARAMS = {
  connections: 20,
  pipelining: 1,
  warmupSeconds: 2,
  /** One measured slice of one route. */
  sliceSeconds: 2,
  /** Rounds of (bare, start, init) slices. */
  rounds: 7,
  /** profile.ts and whatif.ts: one measured run of this length after the warm-up. */
  durationSeconds: 6,
};

export interface BenchSession {
  i: number;
  cookie: string;
  csrf: string;
  /** A 6-digit code that is not the session's code (read back from the outbox): every start is INVALID_OTP. */
  wrong: string;
}

export interface RouteFigure {
  route: 'bare' | 'start' | 'init';
  reqPerSec: number;
  p50: number;
  p99: number;
  responses: number;
  non2xx: number;
  errors: number;
  /** Answers by `error.code` (or `status`) as autocannon received them. */
  answers: Record<string, number>;
  /** Events the server emitted during the measured window. */
  events: Record<string, number>;
  /** Redis commands the server sent during the measured window (null on memory). */
  redisCommands: number | null;
  /** The server process's CPU time (user + system) over the measured window, per response, in µs. */
  cpuPerResponse: number;
  /** Of which garbage-collection pauses of the main thread, per response, in µs (minor = scavenges, major = mark-compact). */
  gcPerResponse: { minor: number; major: number };
  /** Sessions a start run had to reuse because the pool ran out (its requests would not be evaluated). */
  poolExhausted: number;
}

export interface RoundTrips {
  /** Per sequential wrong-code start, the commands counted on the shared connection. */
  perStart: { count: number; calls: string[] }[];
  /** Per sequential init on a pending transaction the process has seen. */
  perInit: { count: number; calls: string[] }[];
}

export interface StoreFigures {
  store: 'memory' | 'redis';
  sessionsCreated: number;
  /** Each route's slices pooled: req/s is the mean of the slices, p50 and p99 the medians of theirs. */
  routes: Record<'bare' | 'start' | 'init', RouteFigure>;
  /** Per round, each route's req/s and the server's CPU µs per answer. */
  rounds: Record<'bare' | 'start' | 'init', { reqPerSec: number; cpuPerResponse: number }>[];
  /** Medians over the rounds of start/bare and init/bare (req/s), and of bare/start CPU per answer. */
  ratios: { start: number; init: number; startCpu: number; initCpu: number };
  roundTrips: RoundTrips | null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Compiles src/ and bench/ to bench/.build (bench/tsconfig.json) and has startServer run that JavaScript: the
 * package runs compiled in production (`npm run build`), and tsx's loader and source maps would weigh on the
 * app's own code and not on the bare route's, skewing the ratios. Returns the server file.
 */
export function compileServer(): string {
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(BENCH_DIR, 'tsconfig.json')], { cwd: ROOT, stdio: 'inherit' });
  const file = path.join(BENCH_DIR, '.build', 'bench', 'server.js');
  process.env.BENCH_SERVER_JS = file;
  return file;
}

export interface Server {
  base: string;
  port: number;
  outbox: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startServer(store: 'memory' | 'redis', redisUrl: string, prefix: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Server> {
  const port = await freePort();
  const outbox = path.join(os.tmpdir(), `otp-bench-outbox-${process.pid}-${store}-${Date.now()}.jsonl`);
  // BENCH_SERVER_JS: the server compiled to JavaScript (compileServer); without it, the source via tsx.
  // BENCH_NODE_ARGS (diagnostics only, e.g. --trace-gc): node flags for the server process.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const serverArgs = [...nodeArgs, ...(process.env.BENCH_SERVER_JS ? [process.env.BENCH_SERVER_JS] : ['--import', 'tsx', path.join(BENCH_DIR, 'server.ts')])];
  const child = spawn(process.execPath, serverArgs, {
    cwd: ROOT,
    env: { ...process.env, BENCH_PORT: String(port), BENCH_STORE: store, BENCH_REDIS_URL: redisUrl, BENCH_PREFIX: prefix, BENCH_OUTBOX: outbox, NODE_ENV: '', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bench server did not start in 30 s: ${stderr}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('READY')) { clearTimeout(timer); resolve(); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`bench server exited (${code}): ${stderr}`)); });
  });
  child.removeAllListeners('exit');
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    outbox,
    child,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      const timer = setTimeout(() => { child.kill('SIGKILL'); }, 5000);
      child.once('exit', () => { clearTimeout(timer); if (existsSync(outbox)) rmSync(outbox); resolve(); });
      child.kill('SIGTERM');
    }),
  };
}

async function json<T>(res: Response): Promise<T> {
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
  }
}

/** Creates sessions [from, from + n): POST /bench/exports (the earlier login step), GET /authn/otp (opens, sends). */
export async function createSessions(server: Server, from: number, n: number, tag: string, concurrency = 32): Promise<BenchSession[]> {
  const out: { i: number; cookie: string; csrf: string }[] = [];
  let next = from;
  const worker = async () => {
    while (next < from + n) {
      const i = next++;
      const made = await fetch(`${server.base}/bench/exports`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: `${tag}${i}`, mobile: mobileOf(i) }),
      });
      const setCookie = made.headers.get('set-cookie');
      await made.arrayBuffer();
      if (!made.ok || !setCookie) throw new Error(`session ${i}: HTTP ${made.status}, no cookie`);
      const cookie = setCookie.split(';')[0]!;
      const page = await json<{ status?: string; csrf_token?: string; attempts_left?: number }>(
        await fetch(`${server.base}${OTP_PATH}`, { headers: { cookie, accept: 'application/json' } }),
      );
      if (page.status !== 'PENDING' || typeof page.csrf_token !== 'string') throw new Error(`session ${i}: first GET answered ${JSON.stringify(page)}`);
      out.push({ i, cookie, csrf: page.csrf_token });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const codes = new Map<string, string>();
  for (const line of readFileSync(server.outbox, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const m = JSON.parse(line) as { to: string; text: string };
    const code = /\b(\d{6})\b/.exec(m.text)?.[1];
    if (code) codes.set(m.to, code);
  }
  return out.sort((a, b) => a.i - b.i).map((s) => {
    const code = codes.get(mobileOf(s.i));
    if (!code) throw new Error(`no code in the outbox for session ${s.i}`);
    return { ...s, wrong: String((Number(code) + 1) % 1_000_000).padStart(6, '0') };
  });
}

async function stats(server: Server): Promise<{ cpuMicros: number; gcMs: { minor: number; major: number; other: number }; events: Record<string, number>; redis: { total: number; calls: string[] } | null }> {
  return json(await fetch(`${server.base}/bench/stats`));
}

async function resetStats(server: Server): Promise<void> {
  await (await fetch(`${server.base}/bench/reset`, { method: 'POST' })).arrayBuffer();
}

/**
 * Sessions handed to autocannon's connections. `fresh`: each session once (a start run: a used session's
 * attempts are spent); counts what it had to reuse. `cycle`: round robin (bare and init do not use anything up).
 */
class Pool {
  private next = 0;
  exhausted = 0;
  constructor(private readonly sessions: BenchSession[], private readonly fresh: boolean) {}
  take(): BenchSession {
    if (this.next >= this.sessions.length) {
      if (this.fresh) this.exhausted += 1;
      this.next = 0;
    }
    return this.sessions[this.next++]!;
  }
  get used(): number { return this.next; }
}

type Answers = Record<string, number>;

/**
 * One autocannon run. Each connection cycles through STARTS_PER_SESSION request slots: slot 0 takes a session
 * from the pool into the connection's context (autocannon resets the context when the cycle restarts), the other
 * slots reuse it, so a connection sends exactly 20 requests per session, one at a time, and then moves on.
 */
async function cannon(server: Server, route: 'bare' | 'start' | 'init', pool: Pool, seconds: number, answers: Answers | null) {
  const pathOf = route === 'bare' ? '/bench/bare' : OTP_PATH;
  const bodyOf = (s: BenchSession) => (route === 'start' ? `{"type":"start","data":{"otp":"${s.wrong}"}}` : '{"type":"init"}');
  type Ctx = { s?: BenchSession };
  const requests = Array.from({ length: STARTS_PER_SESSION }, (_, k) => ({
    method: 'POST' as const,
    path: pathOf,
    setupRequest: (req: autocannon.Request, context: object) => {
      const ctx = context as Ctx;
      if (k === 0 || ctx.s === undefined) ctx.s = pool.take();
      const s = ctx.s;
      return {
        ...req,
        method: 'POST',
        path: pathOf,
        headers: { 'content-type': 'application/json', accept: 'application/json', cookie: s.cookie, 'x-csrf-token': s.csrf },
        body: bodyOf(s),
      } as autocannon.Request;
    },
    onResponse: (_status: number, body: string) => {
      if (answers === null) return;
      const text = String(body);
      const kind = /"code":"([A-Z_]+)"/.exec(text)?.[1] ?? /"status":"([A-Z_]+)"/.exec(text)?.[1] ?? 'OTHER';
      answers[kind] = (answers[kind] ?? 0) + 1;
    },
  }));
  return autocannon({
    url: server.base,
    connections: HTTP_PARAMS.connections,
    pipelining: HTTP_PARAMS.pipelining,
    duration: seconds,
    timeout: 10,
    requests,
  });
}

/** One measured slice: counters reset, autocannon for `seconds`, the stragglers let finish, counters read. */
async function measureSlice(server: Server, route: 'bare' | 'start' | 'init', pool: Pool, seconds: number, profileFile?: string): Promise<RouteFigure> {
  // The previous run's last requests (one per connection) may still be on the server: let them finish first.
  await new Promise((resolve) => setTimeout(resolve, 300));
  await resetStats(server);
  const answers: Answers = {};
  // A file named *.heapprofile gets the allocation profile (bench/alloc.ts), any other the CPU profile.
  if (profileFile) await (await fetch(`${server.base}/bench/profile/start${profileFile.endsWith('.heapprofile') ? '?heap=1' : ''}`, { method: 'POST' })).arrayBuffer();
  const r = await cannon(server, route, pool, seconds, answers);
  const atStop = await stats(server);
  const cpu = atStop.cpuMicros;
  if (profileFile) await (await fetch(`${server.base}/bench/profile/stop?file=${encodeURIComponent(profileFile)}`, { method: 'POST' })).arrayBuffer();
  // Requests still in flight when autocannon stopped finish on the server: let them, then read the counters.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const s = await stats(server);
  return {
    route,
    reqPerSec: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    responses: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    answers,
    events: s.events,
    redisCommands: s.redis ? s.redis.total : null,
    cpuPerResponse: cpu / Math.max(1, r.requests.total),
    gcPerResponse: { minor: (1000 * atStop.gcMs.minor) / Math.max(1, r.requests.total), major: (1000 * (atStop.gcMs.major + atStop.gcMs.other)) / Math.max(1, r.requests.total) },
    poolExhausted: pool.exhausted,
  };
}

/** A warm-up run and one measured run (profile.ts, whatif.ts). */
export async function measureRoute(server: Server, route: 'bare' | 'start' | 'init', sessions: BenchSession[], profileFile?: string): Promise<RouteFigure> {
  const pool = new Pool(sessions, route === 'start');
  await cannon(server, route, pool, HTTP_PARAMS.warmupSeconds, null);
  return measureSlice(server, route, pool, HTTP_PARAMS.durationSeconds, profileFile);
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function add(into: Record<string, number>, from: Record<string, number>): Record<string, number> {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
}

/** A route's slices as one figure: req/s the mean of the slices, p50/p99 their medians, counts summed. */
function pooled(slices: RouteFigure[]): RouteFigure {
  const responses = slices.reduce((n, f) => n + f.responses, 0);
  return {
    route: slices[0]!.route,
    reqPerSec: slices.reduce((n, f) => n + f.reqPerSec, 0) / slices.length,
    p50: median(slices.map((f) => f.p50)),
    p99: median(slices.map((f) => f.p99)),
    responses,
    non2xx: slices.reduce((n, f) => n + f.non2xx, 0),
    errors: slices.reduce((n, f) => n + f.errors, 0),
    answers: slices.reduce((a, f) => add(a, f.answers), {} as Answers),
    events: slices.reduce((a, f) => add(a, f.events), {} as Record<string, number>),
    redisCommands: slices[0]!.redisCommands === null ? null : slices.reduce((n, f) => n + (f.redisCommands ?? 0), 0),
    cpuPerResponse: slices.reduce((n, f) => n + f.cpuPerResponse * f.responses, 0) / Math.max(1, responses),
    gcPerResponse: {
      minor: slices.reduce((n, f) => n + f.gcPerResponse.minor * f.responses, 0) / Math.max(1, responses),
      major: slices.reduce((n, f) => n + f.gcPerResponse.major * f.responses, 0) / Math.max(1, responses),
    },
    poolExhausted: slices[slices.length - 1]!.poolExhausted,
  };
}

/** One request at a time: the commands each costs on the counted connection. */
async function countRoundTrips(server: Server, sessions: BenchSession[]): Promise<RoundTrips> {
  const perStart: RoundTrips['perStart'] = [];
  const perInit: RoundTrips['perInit'] = [];
  for (const s of sessions) {
    const send = async (body: string) => {
      await resetStats(server);
      const res = await fetch(`${server.base}${OTP_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', cookie: s.cookie, 'x-csrf-token': s.csrf },
        body,
      });
      const answer = await json<{ error?: { code?: string }; status?: string }>(res);
      const st = await stats(server);
      return { answer, count: st.redis?.total ?? 0, calls: st.redis?.calls ?? [] };
    };
    // The first start of the session warms the scripts (a fresh Redis may answer NOSCRIPT once); the second counts.
    await send(`{"type":"start","data":{"otp":"${s.wrong}"}}`);
    const start = await send(`{"type":"start","data":{"otp":"${s.wrong}"}}`);
    if (start.answer.error?.code !== 'INVALID_OTP') throw new Error(`round-trip probe: start answered ${JSON.stringify(start.answer)}`);
    perStart.push({ count: start.count, calls: start.calls });
    const init = await send('{"type":"init"}');
    if (init.answer.status !== 'PENDING') throw new Error(`round-trip probe: init answered ${JSON.stringify(init.answer)}`);
    perInit.push({ count: init.count, calls: init.calls });
  }
  return { perStart, perInit };
}

export async function benchStore(store: 'memory' | 'redis', redisUrl: string, prefix: string, log: (line: string) => void): Promise<StoreFigures> {
  const server = await startServer(store, redisUrl, prefix);
  try {
    const tag = `${store}-${Date.now()}-`;
    const { warmupSeconds, sliceSeconds, rounds, connections } = HTTP_PARAMS;
    // A first bare run on a small set, to size the pool of sessions start needs.
    const base = await createSessions(server, 0, connections * 5, tag);
    const cycle = new Pool(base, false);
    log(`  ${store}: ${base.length} sessions to size the run; warming up bare`);
    const rate = (await cannon(server, 'bare', cycle, warmupSeconds, null)).requests.average;
    // Start: fresh sessions, 20 wrong codes each, enough for the bare route's rate (start is slower) over the
    // warm-up and every slice, plus a margin; a shortfall shows as poolExhausted and fails the evaluated-check.
    const needed = Math.ceil((rate * (warmupSeconds + rounds * sliceSeconds) * 1.3) / STARTS_PER_SESSION) + (rounds + 2) * connections;
    const sessions = await createSessions(server, base.length, needed, tag);
    const fresh = new Pool(sessions, true);
    // Bare and init read the same sessions start uses, round robin: the same session store of the same size,
    // visited the same way, so the session's own cost is the same on both sides of a ratio.
    const same = new Pool(sessions, false);
    log(`  ${store}: ${needed} fresh sessions for start; warming up start and init`);
    await cannon(server, 'start', fresh, warmupSeconds, null);
    await cannon(server, 'bare', same, warmupSeconds, null);
    await cannon(server, 'init', same, warmupSeconds, null);
    const slices: Record<'bare' | 'start' | 'init', RouteFigure[]> = { bare: [], start: [], init: [] };
    const perRound: StoreFigures['rounds'] = [];
    for (let round = 0; round < rounds; round += 1) {
      const bare = await measureSlice(server, 'bare', same, sliceSeconds);
      const start = await measureSlice(server, 'start', fresh, sliceSeconds);
      const init = await measureSlice(server, 'init', same, sliceSeconds);
      slices.bare.push(bare); slices.start.push(start); slices.init.push(init);
      const fig = (f: RouteFigure) => ({ reqPerSec: f.reqPerSec, cpuPerResponse: f.cpuPerResponse });
      perRound.push({ bare: fig(bare), start: fig(start), init: fig(init) });
      log(`  ${store}: round ${round + 1}/${rounds}: bare ${bare.reqPerSec.toFixed(0)}, start ${start.reqPerSec.toFixed(0)}, init ${init.reqPerSec.toFixed(0)} req/s`);
    }
    const ratios = {
      start: median(perRound.map((r) => r.start.reqPerSec / r.bare.reqPerSec)),
      init: median(perRound.map((r) => r.init.reqPerSec / r.bare.reqPerSec)),
      startCpu: median(perRound.map((r) => r.bare.cpuPerResponse / r.start.cpuPerResponse)),
      initCpu: median(perRound.map((r) => r.bare.cpuPerResponse / r.init.cpuPerResponse)),
    };
    let roundTrips: RoundTrips | null = null;
    if (store === 'redis') {
      const probe = await createSessions(server, base.length + needed, 10, tag);
      roundTrips = await countRoundTrips(server, probe);
    }
    return {
      store,
      sessionsCreated: base.length + needed,
      routes: { bare: pooled(slices.bare), start: pooled(slices.start), init: pooled(slices.init) },
      rounds: perRound,
      ratios,
      roundTrips,
    };
  } finally {
    await server.stop();
  }
}
