/**
 * `npm test` after the typecheck: the whole mocha suite on the memory store, then the HTTP and attack suites again
 * with their apps on the real Redis store (TEST_STORE=redis, test/support/test-store.ts), and ONE closing line
 * `N passed, N failed[, N skipped]` over both passes.
 *
 * The redis-store pass runs when Redis answers at REDIS_URL (default redis://127.0.0.1:6379). When it does not,
 * the pass is skipped with one line saying so, or, with REQUIRE_REDIS=1 (CI), counted as a failure.
 * After the pass every key under its run prefix (`otp-ts:<run>:`) is deleted, whatever the tests left.
 *
 *
 * Then (issue 25) the OTP and verification API suites (test/support/mocharc.topologies.cjs) twice more: on a Redis Cluster of 3 masters
 * and 3 replicas (TEST_STORE=cluster) and on a Sentinel group (TEST_STORE=sentinel), each started by the pass's
 * mocha process on loopback ports of its own (test/support/redis-topology.ts) and stopped after it. Without
 * redis-server on PATH these passes are skipped saying so (a failure with REQUIRE_REDIS=1).
 *
 *   npx tsx scripts/test-all.ts                  # every pass
 *   npx tsx scripts/test-all.ts --redis-store    # the redis-store pass only
 *   npx tsx scripts/test-all.ts --topologies     # the Cluster and Sentinel passes only
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { deleteKeys, REDIS_URL, tryConnect } from '../test/support/redis.js';
import { redisServerAvailable } from '../test/support/redis-topology.js';

const SUMMARY = /^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/;
const mocha = createRequire(import.meta.url).resolve('mocha/bin/mocha.js');

interface Totals {
  passed: number;
  failed: number;
  skipped: number;
}

/** Runs mocha with `args` and `env`, passing its output through; answers the counts of its closing line. */
function runMocha(label: string, args: string[], env: NodeJS.ProcessEnv): Promise<Totals & { code: number }> {
  process.stdout.write(`\n== ${label}\n`);
  return new Promise((resolve, reject) => {
    // Piped, mocha would drop its colours: keep them when this script's own output is a terminal.
    const colour = process.stdout.isTTY ? ['--color'] : [];
    const child = spawn(process.execPath, [mocha, ...colour, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let tail = '';
    let last: Totals | null = null;
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      const lines = (tail + chunk.toString('utf8')).split('\n');
      tail = lines.pop() ?? '';
      for (const line of lines) last = parse(line) ?? last;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      last = parse(tail) ?? last;
      const exit = code ?? (signal ? 1 : 0);
      // No closing line: mocha died before the end (a crash, a signal); count it as one failure.
      if (last === null) resolve({ passed: 0, failed: 1, skipped: 0, code: exit === 0 ? 1 : exit });
      else resolve({ ...last, code: exit });
    });
  });
}

function parse(line: string): Totals | null {
  const m = SUMMARY.exec(line.trim());
  return m ? { passed: Number(m[1]), failed: Number(m[2]), skipped: Number(m[3] ?? 0) } : null;
}

async function redisStorePass(): Promise<(Totals & { code: number }) | { skippedBecause: string } | { failedBecause: string }> {
  const probe = await tryConnect(REDIS_URL, 3000);
  if (probe === null) {
    const why = `Redis was not reachable at ${REDIS_URL}`;
    if (process.env.REQUIRE_REDIS === '1') return { failedBecause: `${why} and REQUIRE_REDIS=1: the redis-store pass could not run` };
    return { skippedBecause: `${why}: the redis-store pass (HTTP and attack suites on the Redis store) was skipped (REQUIRE_REDIS=1 makes this a failure)` };
  }
  const run = `${process.pid}.${Date.now().toString(36)}`;
  try {
    return await runMocha('HTTP and attack suites on the Redis store (TEST_STORE=redis)', ['--config', 'test/support/mocharc.redis-store.cjs'], {
      ...process.env, TEST_STORE: 'redis', TEST_STORE_RUN: run, REDIS_URL,
    });
  } finally {
    if (probe.isReady) await deleteKeys(probe, `otp-ts:${run}:`);
    if (probe.isOpen) await probe.close();
  }
}

async function topologyPass(kind: 'cluster' | 'sentinel'): Promise<(Totals & { code: number }) | { skippedBecause: string } | { failedBecause: string }> {
  if (!redisServerAvailable()) {
    const why = `redis-server/redis-cli are not on PATH`;
    if (process.env.REQUIRE_REDIS === '1') return { failedBecause: `${why} and REQUIRE_REDIS=1: the ${kind} pass could not run` };
    return { skippedBecause: `${why}: the ${kind} pass (the OTP and verification API suites on a Redis ${kind === 'cluster' ? 'Cluster' : 'Sentinel group'}) was skipped (REQUIRE_REDIS=1 makes this a failure)` };
  }
  const label = kind === 'cluster' ? 'a Redis Cluster (3 masters, 3 replicas)' : 'a Redis Sentinel group (1 master, 2 replicas, 3 sentinels)';
  return runMocha(`the OTP and verification API suites on ${label} (TEST_STORE=${kind})`, ['--config', 'test/support/mocharc.topologies.cjs'], {
    ...process.env, TEST_STORE: kind,
  });
}

const onlyRedisStore = process.argv.includes('--redis-store');
const onlyTopologies = process.argv.includes('--topologies');
const totals: Totals = { passed: 0, failed: 0, skipped: 0 };
let exit = 0;
const add = (t: Totals & { code: number }) => {
  totals.passed += t.passed;
  totals.failed += t.failed;
  totals.skipped += t.skipped;
  if (t.code !== 0) exit = 1;
};

const settle = (pass: Awaited<ReturnType<typeof redisStorePass>>) => {
  if ('skippedBecause' in pass) process.stdout.write(`\n${pass.skippedBecause}\n`);
  else if ('failedBecause' in pass) {
    process.stdout.write(`\n${pass.failedBecause}\n`);
    totals.failed += 1;
    exit = 1;
  } else add(pass);
};

if (!onlyRedisStore && !onlyTopologies) add(await runMocha('the whole suite on the memory store', [], { ...process.env, TEST_STORE: 'memory' }));
if (!onlyTopologies) settle(await redisStorePass());
if (!onlyRedisStore) {
  settle(await topologyPass('cluster'));
  settle(await topologyPass('sentinel'));
}
process.stdout.write('\n');

const skipped = totals.skipped > 0 ? `, ${totals.skipped} skipped` : '';
process.stdout.write(`${totals.passed} passed, ${totals.failed} failed${skipped}\n`);
process.exit(exit === 0 && totals.failed === 0 ? 0 : 1);
