/**
 * The app under test, in its own process (spawned by bench/run.ts with tsx): the real authenticator (createAuthn)
 * in an Express app built like test/support/otp-harness.ts, listening on 127.0.0.1 only.
 *
 * env: BENCH_PORT (required), BENCH_STORE = memory | redis, BENCH_REDIS_URL (default redis://127.0.0.1:6379),
 * BENCH_PREFIX (Redis key prefix; every key of the run lives under it), BENCH_OUTBOX (the outbox file).
 *
 * Routes:
 * - POST /bench/exports  (JSON) plays the earlier login step: puts {username, mobile} into the session (creates it).
 * - POST /bench/bare     the BARE route: the same session middleware (express-session with the same store: its
 *                        MemoryStore, or connect-redis on the same connection), reads the session, answers a small
 *                        JSON. What `start` and `init` are compared against.
 * - /authn/otp           the authenticator (GET opens the transaction and sends the first code; POST start / init).
 * - /api/verify          the verification API (authn.verifyApi, docs/verify-api.md), mounted as the README tells a
 *                        host: `app.use('/api/verify', authn.verifyApi)`; the bench key's verifications go to the
 *                        same outbox. Like the demo's, behind the app's session middleware (a request without a
 *                        cookie gets no session saved), and ahead of authn.router, so it is not sent through the
 *                        web router's language middleware as well as its own.
 * - GET  /bench/stats    events seen by id, Redis commands counted since the last reset, process memory.
 * - POST /bench/reset    resets those counters.
 * - POST /bench/profile/start, POST /bench/profile/stop?file=... (only with BENCH_PROFILE=1): the V8 CPU profiler
 *                        over exactly the measured window (bench/profile.ts); with ?heap=1 on start, V8's sampling
 *                        heap profiler instead (bench/alloc.ts).
 * - BENCH_WHATIF (diagnostics for bench/whatif.ts, never set by `npm run bench`): a comma list of
 *     i18n     the per-request i18next clone replaced by a per-language cached translator (what a fix would do),
 *     nostack  Error.stackTraceLimit = 0 (what an OtpError costs for its stack trace),
 *     nolimits rate limits that grant at once without counting (the most folding them into the store could save),
 *     apibehind the verification API mounted behind the session middleware (what a session costs a check; the README mounts it ahead).
 * With Redis the transaction store, the rate limits and connect-redis share ONE connection wrapped in a counting
 * proxy (bench/counting-client.ts), wired as docs/deployment.md shows.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { createServer } from 'node:http';
import { Session as InspectorSession } from 'node:inspector/promises';
import path from 'node:path';
import os from 'node:os';
import express from 'express';
import passport from 'passport';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { createAuthn, type AuthnOptions } from '../src/assembly/create-authn.js';
import { onEvent } from '../src/events/bus.js';
import { STRATEGY_NAME } from '../src/index.js';
import { silenceOperationalLog, startEventLog } from '../src/events/logger.js';
import { RedisRateLimits } from '../src/limits/redis-rate-limits.js';
import { RedisTransactionStore } from '../src/store/redis-store.js';
import { OwnedClient, type RedisScriptClient } from '../src/redis/connection.js';
import { benchConfig, BENCH_ENV, VERIFY_PATH } from './bench-config.js';
import { countingClient, type CountingClient } from './counting-client.js';

silenceOperationalLog(true);

const port = Number(process.env.BENCH_PORT);
if (!Number.isInteger(port) || port <= 0) throw new Error('BENCH_PORT is required');
const storeType = process.env.BENCH_STORE === 'redis' || process.env.BENCH_STORE === 'redis-cluster' ? process.env.BENCH_STORE : 'memory';
const outbox = process.env.BENCH_OUTBOX ?? path.join(os.tmpdir(), `otp-bench-outbox-${process.pid}.jsonl`);
const config = benchConfig(outbox);

let counting: CountingClient<object> | null = null;
let options: AuthnOptions = {};
let closeRedis: (() => Promise<void>) | null = null;
if (storeType !== 'memory') {
  const prefix = process.env.BENCH_PREFIX ?? `otp-bench:${process.pid}:`;
  // One server (BENCH_REDIS_URL) or a Cluster (BENCH_CLUSTER_NODES, its root nodes): the Cluster client is the
  // product's own (src/redis/connection.ts), as a `store.cluster` block builds it.
  let client: object;
  if (storeType === 'redis-cluster') {
    const rootNodes = (process.env.BENCH_CLUSTER_NODES ?? '').split(',').filter(Boolean);
    if (rootNodes.length === 0) throw new Error('BENCH_STORE=redis-cluster needs BENCH_CLUSTER_NODES');
    const owned = new OwnedClient({ topology: { kind: 'cluster', rootNodes }, failFast: true });
    await owned.connected;
    client = owned.client;
    closeRedis = () => owned.close();
  } else {
    const single = createClient({ url: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', disableOfflineQueue: true });
    single.on('error', (e: Error) => console.error(`redis: ${e.message}`));
    await single.connect();
    client = single;
    closeRedis = async () => { if (single.isOpen) await single.close(); };
  }
  const c = countingClient(client);
  counting = c;
  const scripts = c.client as unknown as RedisScriptClient;
  const store = new RedisTransactionStore(scripts, { prefix });
  options = {
    store,
    limits: (id, otpConfig) => new RedisRateLimits(scripts, id, otpConfig.rate_limits, { prefix }),
    // As docs/deployment.md and src/assembly/store-backend.ts: disableTouch keeps an unchanged session at zero writes.
    sessionStore: new RedisStore({ client: c.client as ReturnType<typeof createClient>, prefix: `${prefix}sess:`, disableTouch: true }),
  };
}

// BENCH_DEPLOYED=1: the app as a host runs it, the README's "Mounting in your own Express app": the event log on
// (startEventLog, JSON lines to a file, as the demo writes var/events.jsonl) and passport's session (the README leaves initialize() out)
// after the session middleware. Without it, the app of the older rows (no event log, no passport).
const deployed = process.env.BENCH_DEPLOYED === '1';
const eventsFile = path.join(os.tmpdir(), `otp-bench-events-${process.pid}.jsonl`);
const eventLog = deployed ? startEventLog({ ...config.logging.events, console: false, file: eventsFile }) : null;

const whatIf = new Set((process.env.BENCH_WHATIF ?? '').split(',').filter(Boolean));
if (whatIf.has('nolimits')) options = { ...options, limits: () => ({ consume: async () => ({ ok: true }), refund: async () => {}, remaining: async () => null, isEnabled: () => false }) };
const authn = await createAuthn(config, { env: { ...process.env, ...BENCH_ENV }, ...options });
if (whatIf.has('nostack')) Error.stackTraceLimit = 0;
if (whatIf.has('i18n')) {
  // i18next-http-middleware calls instance.cloneInstance() (a full i18next instance) and instance.dir() per request;
  // here they answer a light per-request shim over getFixedT cached per language, and a memoised dir().
  type Shim = { language?: string; resolvedLanguage?: string; on(): Shim; changeLanguage(l: string): void; t(k: string, o?: object): string; exists(k: string): boolean };
  const inst = authn.translations.instance as unknown as Record<string, unknown> & { getFixedT(l: string): (k: string, o?: object) => string; exists(k: string, o?: object): boolean; dir(l?: string): string };
  const fixed = new Map<string, (k: string, o?: object) => string>();
  const tFor = (l: string) => fixed.get(l) ?? (fixed.set(l, inst.getFixedT(l)), fixed.get(l)!);
  inst.cloneInstance = () => {
    const shim: Shim = {
      on: () => shim,
      changeLanguage: (l: string) => { shim.language = l; shim.resolvedLanguage = l; },
      t: (k, o) => tFor(shim.resolvedLanguage ?? 'en')(k, o),
      exists: (k) => inst.exists(k, { lng: shim.resolvedLanguage }),
    };
    return shim;
  };
  const dirs = new Map<string | undefined, string>();
  const dir = inst.dir.bind(inst);
  inst.dir = (l?: string) => dirs.get(l) ?? (dirs.set(l, dir(l)), dirs.get(l)!);
}
const events = new Map<string, number>();
onEvent((e) => events.set(e.event_id, (events.get(e.event_id) ?? 0) + 1));

const app = express();
app.disable('x-powered-by');
// As the README mounts it: ahead of the session (BENCH_WHATIF=apibehind puts it behind, as the demo did before).
if (!whatIf.has('apibehind')) app.use(VERIFY_PATH, authn.verifyApi!);
app.use(authn.session);
// The bare route: the session middleware and nothing else (ahead of passport, as issue 26 defines it).
app.post('/bench/bare', (req, res) => {
  res.json({ status: 'OK', in_flow: req.session.authn !== undefined });
});
if (deployed) {
  const pp = new passport.Passport();
  pp.use(STRATEGY_NAME, authn.strategy);
  pp.serializeUser((user, done) => done(null, user));
  pp.deserializeUser((user: Express.User, done) => done(null, user));
  app.use(pp.session());
}
app.post('/bench/exports', express.json(), (req, res) => {
  const body = req.body as Record<string, unknown>;
  req.session.authn = { trace_id: `bench-${body.username as string}`, exports: body, completed: [], counters: {} };
  res.json({ ok: true });
});
let cpuAtReset = process.cpuUsage();
// Garbage-collection pauses of the main thread since the last reset (ms), by kind: how much of the CPU is GC.
const gcMs = { minor: 0, major: 0, other: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gcMs.minor += entry.duration;
    else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gcMs.major += entry.duration;
    else gcMs.other += entry.duration;
  }
}).observe({ entryTypes: ['gc'] });
app.get('/bench/stats', (_req, res) => {
  const cpu = process.cpuUsage(cpuAtReset);
  res.json({
    cpuMicros: cpu.user + cpu.system,
    gcMs,
    store: storeType,
    events: Object.fromEntries(events),
    redis: counting ? { total: counting.total(), calls: counting.calls.slice(0, 200) } : null,
    memory: process.memoryUsage(),
  });
});
app.post('/bench/reset', (_req, res) => {
  events.clear();
  counting?.reset();
  cpuAtReset = process.cpuUsage();
  gcMs.minor = 0; gcMs.major = 0; gcMs.other = 0;
  res.json({ ok: true });
});
if (process.env.BENCH_PROFILE === '1') {
  const inspector = new InspectorSession();
  inspector.connect();
  let heap = false;
  app.post('/bench/profile/start', async (req, res) => {
    // ?heap=1: V8's sampling heap profiler instead, counting every allocation (collected ones too).
    heap = req.query.heap === '1';
    if (heap) {
      await inspector.post('HeapProfiler.enable');
      await inspector.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
      return res.json({ ok: true });
    }
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.setSamplingInterval', { interval: 200 });
    await inspector.post('Profiler.start');
    res.json({ ok: true });
  });
  app.post('/bench/profile/stop', async (req, res) => {
    const { profile } = heap ? await inspector.post('HeapProfiler.stopSampling') : await inspector.post('Profiler.stop');
    writeFileSync(String(req.query.file), JSON.stringify(profile));
    res.json({ ok: true });
  });
}
if (!authn.verifyApi) throw new Error('the bench configuration has a verify_api block, but createAuthn made no authn.verifyApi');
if (whatIf.has('apibehind')) app.use(VERIFY_PATH, authn.verifyApi);
app.use(authn.router);
app.use(authn.errorHandler);

// --- BENCH_FILL=N (bench/http-growth.ts only): before listening, N pending transactions put into the store through
// its own operations, as bench/growth.ts's insertPending does (open + reserveSend('first') + commitSend: what a first
// GET leaves behind), so an HTTP `start` can be timed against a store that holds many. Keys shaped like real ones
// (32-char session id, a distinct subject); the code id made as src/otp/otp-sending.ts makes it (newId), the hash
// with the server's own OTP keys (BENCH_ENV's). Imported here, so a server without BENCH_FILL loads nothing more.
const fillCount = Number(process.env.BENCH_FILL ?? 0);
if (fillCount > 0) {
  const { randomBytes } = await import('node:crypto');
  const { hashCode } = await import('../src/codes/code-hash.js');
  const { newId } = await import('../src/transaction/ids.js');
  const { otpPolicyFromConfig } = await import('../src/transaction/policy.js');
  const { mobileOf } = await import('./bench-config.js');
  const entry = config.authenticators.find((a) => a.canonicalType === 'OTP')!;
  const policy = otpPolicyFromConfig(entry.config as Parameters<typeof otpPolicyFromConfig>[0]);
  const started = performance.now();
  for (let i = 0; i < fillCount; i += 1) {
    const now = Date.now();
    const key = { sessionId: randomBytes(24).toString('base64url'), authenticatorId: entry.id, subject: `fill${String(i).padStart(8, '0')}` };
    const opened = await authn.store.open(key, { reference: null, sends_codes: true }, policy, now);
    const reserved = await authn.store.reserveSend(key, policy, now, 'first');
    if (!opened.ok || !reserved.tx || !reserved.outcome.ok) throw new Error(`BENCH_FILL: transaction ${i} refused`);
    const committed = await authn.store.commitSend(key, policy, reserved.outcome.reservation_id, {
      id: newId(),
      hash: hashCode(authn.secrets.otpKeys, opened.tx.id, String(100000 + (i % 900000))),
      destination: { address: mobileOf(i), country: 'SE', line_type: 'MOBILE' },
      sent_at: now,
      expires_at: now + policy.ttl_seconds * 1000,
      channel: 'sms',
    });
    if (!committed.tx || !committed.outcome.ok) throw new Error(`BENCH_FILL: transaction ${i} not committed`);
  }
  const held = (authn.store as { size?: () => number }).size?.() ?? -1;
  console.log(`FILLED ${fillCount} in ${Math.round(performance.now() - started)} ms; the store holds ${held}`);
}
// --- end BENCH_FILL

const server = createServer({ keepAliveTimeout: 60_000 }, app);
server.listen(port, '127.0.0.1', () => console.log(`READY ${storeType} ${port}`));

const stop = () => {
  server.close();
  server.closeAllConnections();
  void authn.close().then(async () => {
    await closeRedis?.();
    if (eventLog) {
      await eventLog.close();
      rmSync(eventsFile, { force: true });
    }
    process.exit(0);
  });
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
