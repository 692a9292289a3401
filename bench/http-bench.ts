/**
 * The HTTP half of the benchmark: spawns bench/server.ts in its own process, creates bench sessions and
 * verifications over HTTP, drives autocannon at the bare route, `start` (a wrong code), `init` and the verification
 * API's `check` (a wrong code), and counts Redis round trips.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type { Peer, PeerSlice } from './peer-bench.js';
import { CHECKS_PER_VERIFICATION, OTP_PATH, STARTS_PER_SESSION, VERIFY_AUTHORIZATION, VERIFY_PATH, mobileOf, verifyMobileOf } from './bench-config.js';

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
  /** Rounds of (bare, start, check, init) slices (BENCH_ROUNDS: fewer, to try the bench itself quickly). */
  rounds: Number(process.env.BENCH_ROUNDS ?? 7),
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

/** A verification of the API (POST /api/verify/v1/verifications), for the `check` route. */
export interface BenchVerification {
  i: number;
  /** The verification's id (`vf.…`). */
  id: string;
  /** A 6-digit code that is not the verification's code (read back from the outbox): every check is INVALID_OTP. */
  wrong: string;
}

export type Route = 'bare' | 'start' | 'init' | 'check';
/** What autocannon's answers to `check` are counted under when the check was evaluated wrong: error.code/status. */
export const CHECK_EVALUATED = 'INVALID_OTP/pending';

export interface RouteFigure {
  route: Route;
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
  /** Sessions (verifications) a start (check) run had to reuse because the pool ran out (not evaluated then). */
  poolExhausted: number;
}

export interface RoundTrips {
  /** Per sequential wrong-code start, the commands counted on the shared connection. */
  perStart: { count: number; calls: string[] }[];
  /** Per sequential init on a pending transaction the process has seen. */
  perInit: { count: number; calls: string[] }[];
  /** Per sequential wrong-code check of the verification API (its second: the first warms the scripts). */
  perCheck: { count: number; calls: string[] }[];
}

/** Where the server keeps its state: its memory, one Redis server, or a Redis Cluster (BENCH_CLUSTER_NODES). */
export type BenchStore = 'memory' | 'redis' | 'redis-cluster';

export interface StoreFigures {
  store: BenchStore;
  /** The rows' name: the store, or `<store>.deployed` for the app as the README mounts it, event log on. */
  name: string;
  deployed: boolean;
  /** The peer measured in the same rounds (issue 26), when one ran. */
  peer: PeerFigures | null;
  sessionsCreated: number;
  verificationsCreated: number;
  /** Of which created between rounds, to keep the fresh pools ahead of the fastest rate seen (benchStore). */
  toppedUp: { sessions: number; verifications: number };
  /** Each route's slices pooled: req/s is the mean of the slices, p50 and p99 the medians of theirs. */
  routes: Record<Route, RouteFigure>;
  /** Per round, each route's req/s and the server's CPU µs per answer. */
  rounds: Record<Route, { reqPerSec: number; cpuPerResponse: number }>[];
  /** Medians over the rounds of start/bare, init/bare and check/bare (req/s), and of bare/route CPU per answer. */
  ratios: { start: number; init: number; check: number; startCpu: number; initCpu: number; checkCpu: number };
  roundTrips: RoundTrips | null;
}

export async function freePort(): Promise<number> {
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

export async function startServer(store: BenchStore, redisUrl: string, prefix: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Server> {
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
  const codes = outboxCodes(server);
  return out.sort((a, b) => a.i - b.i).map((s) => {
    const code = codes.get(mobileOf(s.i));
    if (!code) throw new Error(`no code in the outbox for session ${s.i}`);
    return { ...s, wrong: String((Number(code) + 1) % 1_000_000).padStart(6, '0') };
  });
}

/** The outbox's latest code per destination. */
function outboxCodes(server: Server): Map<string, string> {
  const codes = new Map<string, string>();
  for (const line of readFileSync(server.outbox, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const m = JSON.parse(line) as { to: string; text: string };
    const code = /\b(\d{6})\b/.exec(m.text)?.[1];
    if (code) codes.set(m.to, code);
  }
  return codes;
}

/**
 * Creates verifications [from, from + n) with the bench key (POST /api/verify/v1/verifications { to }, each to its
 * own number, with no subject: each its own), and reads each one's code back from the outbox.
 */
export async function createVerifications(server: Server, from: number, n: number, concurrency = 32): Promise<BenchVerification[]> {
  const out: { i: number; id: string }[] = [];
  let next = from;
  const worker = async () => {
    while (next < from + n) {
      const i = next++;
      const res = await fetch(`${server.base}${VERIFY_PATH}/v1/verifications`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: VERIFY_AUTHORIZATION },
        body: JSON.stringify({ to: verifyMobileOf(i) }),
      });
      const made = await json<{ id?: string; status?: string; attempts_left?: number }>(res);
      if (res.status !== 201 || typeof made.id !== 'string' || made.status !== 'pending' || made.attempts_left !== CHECKS_PER_VERIFICATION + 1) {
        throw new Error(`verification ${i}: HTTP ${res.status} ${JSON.stringify(made)}`);
      }
      out.push({ i, id: made.id });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const codes = outboxCodes(server);
  return out.sort((a, b) => a.i - b.i).map((v) => {
    const code = codes.get(verifyMobileOf(v.i));
    if (!code) throw new Error(`no code in the outbox for verification ${v.i}`);
    return { ...v, wrong: String((Number(code) + 1) % 1_000_000).padStart(6, '0') };
  });
}

async function stats(server: Server): Promise<{ cpuMicros: number; gcMs: { minor: number; major: number; other: number }; events: Record<string, number>; redis: { total: number; calls: string[] } | null }> {
  return json(await fetch(`${server.base}/bench/stats`));
}

async function resetStats(server: Server): Promise<void> {
  await (await fetch(`${server.base}/bench/reset`, { method: 'POST' })).arrayBuffer();
}

/**
 * Sessions (or verifications) handed to autocannon's connections. `fresh`: each one once (a start or check run: a
 * used one's attempts are spent); counts what it had to reuse. `cycle`: round robin (bare and init use nothing up).
 */
class Pool<T = BenchSession> {
  private next = 0;
  exhausted = 0;
  constructor(private readonly sessions: T[], private readonly fresh: boolean) {}
  take(): T {
    if (this.next >= this.sessions.length) {
      if (this.fresh) this.exhausted += 1;
      this.next = 0;
    }
    return this.sessions[this.next++]!;
  }
  get used(): number { return this.next; }
  /** Not yet handed out (a `fresh` pool's budget). */
  get remaining(): number { return this.sessions.length - this.next; }
  /** More of them, at the end (a pool sharing the same array sees them too). */
  add(more: T[]): void { this.sessions.push(...more); }
}

type Answers = Record<string, number>;

/** What cannon needs of a route: the pool's items, the request of one, and how an answer is counted. */
function routeRequest(route: Route, item: BenchSession | BenchVerification): { path: string; headers: Record<string, string>; body: string } {
  if (route === 'check') {
    const v = item as BenchVerification;
    return {
      path: `${VERIFY_PATH}/v1/verifications/${v.id}/check`,
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: VERIFY_AUTHORIZATION },
      body: `{"code":"${v.wrong}"}`,
    };
  }
  const s = item as BenchSession;
  return {
    path: route === 'bare' ? '/bench/bare' : OTP_PATH,
    headers: { 'content-type': 'application/json', accept: 'application/json', cookie: s.cookie, 'x-csrf-token': s.csrf },
    body: route === 'start' ? `{"type":"start","data":{"otp":"${s.wrong}"}}` : '{"type":"init"}',
  };
}

/** An answer's kind: the form's `error.code` (or `status`); the API's check `error.code/status` (CHECK_EVALUATED). */
function answerKind(route: Route, status: number, text: string): string {
  if (route === 'check') {
    const code = /"code":"([A-Z_]+)"/.exec(text)?.[1] ?? 'none';
    const state = /"status":"([a-z]+)"/.exec(text)?.[1] ?? 'none';
    return `${code}/${state}${status === 200 ? '' : ` (HTTP ${status})`}`;
  }
  return /"code":"([A-Z_]+)"/.exec(text)?.[1] ?? /"status":"([A-Z_]+)"/.exec(text)?.[1] ?? 'OTHER';
}

/**
 * One autocannon run. Each connection cycles through STARTS_PER_SESSION (for check CHECKS_PER_VERIFICATION)
 * request slots: slot 0 takes a session (a verification) from the pool into the connection's context (autocannon
 * resets the context when the cycle restarts), the other slots reuse it, so a connection sends exactly 20 requests
 * per session (verification), one at a time, and then moves on.
 */
async function cannon(server: Server, route: Route, pool: Pool<BenchSession | BenchVerification>, seconds: number, answers: Answers | null) {
  const slots = route === 'check' ? CHECKS_PER_VERIFICATION : STARTS_PER_SESSION;
  type Ctx = { s?: BenchSession | BenchVerification };
  const firstPath = route === 'check' ? VERIFY_PATH : route === 'bare' ? '/bench/bare' : OTP_PATH;
  const requests = Array.from({ length: slots }, (_, k) => ({
    method: 'POST' as const,
    path: firstPath,
    setupRequest: (req: autocannon.Request, context: object) => {
      const ctx = context as Ctx;
      if (k === 0 || ctx.s === undefined) ctx.s = pool.take();
      return { ...req, method: 'POST', ...routeRequest(route, ctx.s) } as autocannon.Request;
    },
    onResponse: (status: number, body: string) => {
      if (answers === null) return;
      const kind = answerKind(route, status, String(body));
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
async function measureSlice(server: Server, route: Route, pool: Pool<BenchSession | BenchVerification>, seconds: number, profileFile?: string): Promise<RouteFigure> {
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

/** A warm-up run and one measured run (profile.ts, whatif.ts); `check` takes verifications, the others sessions. */
export async function measureRoute(server: Server, route: Route, sessions: BenchSession[] | BenchVerification[], profileFile?: string): Promise<RouteFigure> {
  const pool = new Pool<BenchSession | BenchVerification>(sessions, route === 'start' || route === 'check');
  await cannon(server, route, pool, HTTP_PARAMS.warmupSeconds, null);
  return measureSlice(server, route, pool, HTTP_PARAMS.durationSeconds, profileFile);
}

export const median = (values: number[]): number => {
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
async function countRoundTrips(server: Server, sessions: BenchSession[], verifications: BenchVerification[]): Promise<RoundTrips> {
  const perStart: RoundTrips['perStart'] = [];
  const perInit: RoundTrips['perInit'] = [];
  const perCheck: RoundTrips['perCheck'] = [];
  for (const v of verifications) {
    const check = async () => {
      await resetStats(server);
      const { path: p, headers, body } = routeRequest('check', v);
      const res = await fetch(`${server.base}${p}`, { method: 'POST', headers, body });
      const answer = await json<{ error?: { code?: string }; status?: string }>(res);
      const st = await stats(server);
      return { answer, count: st.redis?.total ?? 0, calls: st.redis?.calls ?? [] };
    };
    await check();
    const second = await check();
    if (second.answer.error?.code !== 'INVALID_OTP' || second.answer.status !== 'pending') throw new Error(`round-trip probe: check answered ${JSON.stringify(second.answer)}`);
    perCheck.push({ count: second.count, calls: second.calls });
  }
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
  return { perStart, perInit, perCheck };
}

/** The peer's slices, one per round right after `start`'s, and the ratios of the rounds. */
export interface PeerFigures {
  name: string;
  version: string;
  slices: PeerSlice[];
  /** Medians over the rounds: start/peer and peer/bare (req/s), peer/bare (CPU per answer). */
  ratios: { startVsPeer: number; peerVsBare: number; cpuVsBare: number };
}

export interface BenchStoreOptions {
  /** Extra environment for the server (BENCH_DEPLOYED, BENCH_CLUSTER_NODES). */
  env?: NodeJS.ProcessEnv;
  /** Measured in every round after `start` (issue 26). */
  peer?: Peer | null;
  /** The rows' name (default: the store). */
  name?: string;
}

export async function benchStore(store: BenchStore, redisUrl: string, prefix: string, log: (line: string) => void, options: BenchStoreOptions = {}): Promise<StoreFigures> {
  const extraEnv = options.env ?? {};
  const peer = options.peer ?? null;
  const name = options.name ?? store;
  const server = await startServer(store, redisUrl, prefix, extraEnv);
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
    // Check: fresh verifications of the API, 20 wrong codes each, sized as start's sessions.
    const neededChecks = Math.ceil((rate * (warmupSeconds + rounds * sliceSeconds) * 1.3) / CHECKS_PER_VERIFICATION) + (rounds + 2) * connections;
    log(`  ${store}: ${needed} fresh sessions for start; creating ${neededChecks} verifications for check`);
    const verifications = await createVerifications(server, 0, neededChecks);
    const freshChecks = new Pool(verifications, true);
    log(`  ${store}: warming up start, check and init`);
    await cannon(server, 'start', fresh, warmupSeconds, null);
    await cannon(server, 'check', freshChecks, warmupSeconds, null);
    await cannon(server, 'bare', same, warmupSeconds, null);
    await cannon(server, 'init', same, warmupSeconds, null);
    const slices: Record<Route, RouteFigure[]> = { bare: [], start: [], init: [], check: [] };
    const peerSlices: PeerSlice[] = [];
    const perRound: StoreFigures['rounds'] = [];
    // The pools were sized from a first bare run on a cold server; a faster machine later (or a busy one at the
    // start) could run them out mid-run, and a reused session or verification is refused unevaluated. So before
    // each round, each fresh pool is topped up to what a slice could take at the fastest rate seen so far (x1.5).
    let nextSession = base.length + needed;
    let nextVerification = neededChecks;
    let peak = rate;
    const toppedUp = { sessions: 0, verifications: 0 };
    const slotsFor = (perItem: number) => Math.ceil((peak * sliceSeconds * 1.5) / perItem) + 2 * connections;
    const topUp = async () => {
      const s = slotsFor(STARTS_PER_SESSION) - fresh.remaining;
      if (s > 0) { fresh.add(await createSessions(server, nextSession, s, tag)); nextSession += s; toppedUp.sessions += s; }
      const v = slotsFor(CHECKS_PER_VERIFICATION) - freshChecks.remaining;
      if (v > 0) { freshChecks.add(await createVerifications(server, nextVerification, v)); nextVerification += v; toppedUp.verifications += v; }
    };
    for (let round = 0; round < rounds; round += 1) {
      await topUp();
      // check right after start: both are compared with this round's bare slice, start first as before.
      const bare = await measureSlice(server, 'bare', same, sliceSeconds);
      const start = await measureSlice(server, 'start', fresh, sliceSeconds);
      if (peer) peerSlices.push(await peer.slice(sliceSeconds));
      const check = await measureSlice(server, 'check', freshChecks, sliceSeconds);
      const init = await measureSlice(server, 'init', same, sliceSeconds);
      slices.bare.push(bare); slices.start.push(start); slices.check.push(check); slices.init.push(init);
      const fig = (f: RouteFigure) => ({ reqPerSec: f.reqPerSec, cpuPerResponse: f.cpuPerResponse });
      perRound.push({ bare: fig(bare), start: fig(start), check: fig(check), init: fig(init) });
      peak = Math.max(peak, bare.reqPerSec, start.reqPerSec, check.reqPerSec, init.reqPerSec);
      log(`  ${name}: round ${round + 1}/${rounds}: bare ${bare.reqPerSec.toFixed(0)}, start ${start.reqPerSec.toFixed(0)}${peer ? `, ${peer.name} ${peerSlices[round]!.reqPerSec.toFixed(0)}` : ''}, check ${check.reqPerSec.toFixed(0)}, init ${init.reqPerSec.toFixed(0)} req/s`);
    }
    const ratios = {
      start: median(perRound.map((r) => r.start.reqPerSec / r.bare.reqPerSec)),
      init: median(perRound.map((r) => r.init.reqPerSec / r.bare.reqPerSec)),
      check: median(perRound.map((r) => r.check.reqPerSec / r.bare.reqPerSec)),
      startCpu: median(perRound.map((r) => r.bare.cpuPerResponse / r.start.cpuPerResponse)),
      initCpu: median(perRound.map((r) => r.bare.cpuPerResponse / r.init.cpuPerResponse)),
      checkCpu: median(perRound.map((r) => r.bare.cpuPerResponse / r.check.cpuPerResponse)),
    };
    let roundTrips: RoundTrips | null = null;
    if (store !== 'memory') {
      const probe = await createSessions(server, nextSession, 10, tag);
      const probeChecks = await createVerifications(server, nextVerification, 10);
      roundTrips = await countRoundTrips(server, probe, probeChecks);
    }
    const peerFigures: PeerFigures | null = peer ? {
      name: peer.name,
      version: peer.version,
      slices: peerSlices,
      ratios: {
        startVsPeer: median(perRound.map((r, i) => r.start.reqPerSec / peerSlices[i]!.reqPerSec)),
        peerVsBare: median(perRound.map((r, i) => peerSlices[i]!.reqPerSec / r.bare.reqPerSec)),
        cpuVsBare: median(perRound.map((r, i) => peerSlices[i]!.cpuPerResponse / r.bare.cpuPerResponse)),
      },
    } : null;
    return {
      store,
      name,
      deployed: extraEnv.BENCH_DEPLOYED === '1',
      peer: peerFigures,
      sessionsCreated: nextSession,
      verificationsCreated: nextVerification,
      toppedUp,
      routes: { bare: pooled(slices.bare), start: pooled(slices.start), init: pooled(slices.init), check: pooled(slices.check) },
      rounds: perRound,
      ratios,
      roundTrips,
    };
  } finally {
    await server.stop();
  }
}
