/**
 * Diagnostics for the findings in bench/README.md (not part of `npm run bench`): the memory-store bare route and
 * `start`, measured as the benchmark does, with the server's BENCH_WHATIF switches (bench/server.ts):
 *   npx tsx bench/whatif.ts [memory|redis] [whatif ...]     e.g.  npx tsx bench/whatif.ts memory "" i18n i18n,nostack
 */
import { createClient } from 'redis';
import { STARTS_PER_SESSION } from './bench-config.js';
import { HTTP_PARAMS, compileServer, createSessions, measureRoute, startServer } from './http-bench.js';

const store = (process.argv[2] ?? 'memory') as 'memory' | 'redis';
const variants = process.argv.length > 3 ? process.argv.slice(3) : ['', 'i18n', 'i18n,nostack'];
compileServer();
for (const whatIf of variants) {
  const prefix = `otp-bench-whatif:${process.pid}:${Date.now()}:`;
  const server = await startServer(store, 'redis://127.0.0.1:6379', prefix, { BENCH_WHATIF: whatIf });
  try {
    const base = await createSessions(server, 0, HTTP_PARAMS.connections * 5, `w${Date.now()}-`);
    const bare = await measureRoute(server, 'bare', base);
    const n = Math.ceil((bare.reqPerSec * (HTTP_PARAMS.warmupSeconds + HTTP_PARAMS.durationSeconds) * 1.15) / STARTS_PER_SESSION) + 2 * HTTP_PARAMS.connections;
    const fresh = await createSessions(server, base.length, n, `w${Date.now()}-`);
    const start = await measureRoute(server, 'start', fresh);
    const ok = (start.answers.INVALID_OTP ?? 0) === start.responses;
    console.log(`${store} whatif=[${whatIf}] bare ${bare.reqPerSec.toFixed(0)} req/s, start ${start.reqPerSec.toFixed(0)} req/s (p50 ${start.p50} ms, p99 ${start.p99} ms): ${((100 * start.reqPerSec) / bare.reqPerSec).toFixed(1)} %; server CPU per answer bare ${bare.cpuPerResponse.toFixed(0)} µs, start ${start.cpuPerResponse.toFixed(0)} µs: ${((100 * bare.cpuPerResponse) / start.cpuPerResponse).toFixed(1)} % ${ok ? '(all INVALID_OTP)' : JSON.stringify(start.answers)}`);
  } finally {
    await server.stop();
    if (store === 'redis') {
      const c = createClient(); await c.connect();
      for await (const keys of c.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length) await c.unlink(keys);
      await c.close();
    }
  }
}
