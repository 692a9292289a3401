/**
 * A helper for finding where a route's time goes (not part of `npm run bench`):
 *   npx tsx bench/profile.ts [memory|redis] [start|init|bare|check] [seconds]
 * Runs bench/server.ts with BENCH_PROFILE=1, drives the route as the benchmark does (warm-up, then the measured
 * run), profiles exactly the measured run with the V8 CPU profiler, and prints the functions with the most self
 * time, self time by file or package, and the inclusive time of chosen functions (counted once per sample).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'redis';
import { HTTP_PARAMS, compileServer, createSessions, createVerifications, measureRoute, startServer } from './http-bench.js';
import { CHECKS_PER_VERIFICATION, STARTS_PER_SESSION } from './bench-config.js';

const store = (process.argv[2] ?? 'memory') as 'memory' | 'redis';
const route = (process.argv[3] ?? 'start') as 'start' | 'init' | 'bare' | 'check';
HTTP_PARAMS.durationSeconds = Number(process.argv[4] ?? '6');
const dir = mkdtempSync(path.join(os.tmpdir(), 'otp-bench-prof-'));
const prefix = `otp-bench-prof:${process.pid}:`;
// The compiled server, as `npm run bench` measures it (and the profile then names real lines).
compileServer();
const server = await startServer(store, 'redis://127.0.0.1:6379', prefix, { BENCH_PROFILE: '1' });
// Enough sessions (and verifications) for 6,000 answers a second, so that no measured request is refused for want of one.
const RATE = 6000;
const n = route === 'start' ? Math.ceil((RATE * (HTTP_PARAMS.durationSeconds + HTTP_PARAMS.warmupSeconds)) / STARTS_PER_SESSION) : 100;
// check: fresh verifications of the API (20 wrong checks each), as many as for `start`.
const sessions = route === 'check'
  ? await createVerifications(server, 0, Math.ceil((RATE * (HTTP_PARAMS.durationSeconds + HTTP_PARAMS.warmupSeconds)) / CHECKS_PER_VERIFICATION) + 2 * HTTP_PARAMS.connections)
  : await createSessions(server, 0, n, `prof-${Date.now()}-`);
const profileFile = path.join(dir, 'measured.cpuprofile');
const f = await measureRoute(server, route, sessions, profileFile);
if (process.env.PROFILE_SAVE) writeFileSync(process.env.PROFILE_SAVE, JSON.stringify({ responses: f.responses, file: profileFile }));
console.log(`${route} on ${store}: ${f.reqPerSec.toFixed(0)} req/s, answers ${JSON.stringify(f.answers)}`);
await server.stop();
if (store === 'redis') {
  const c = createClient(); await c.connect();
  for await (const keys of c.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length) await c.unlink(keys);
  await c.close();
}

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
const prof = JSON.parse(readFileSync(profileFile, 'utf8')) as { nodes: Node[]; samples: number[]; startTime: number; endTime: number };
const usPerRequest = (prof.endTime - prof.startTime) / Math.max(1, f.responses);
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const short = (url: string) => url.replace(/^file:\/\//, '').replace(`${process.cwd()}/`, '');
const label = (n: Node) => `${n.callFrame.functionName || '(anon)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
const self = new Map<string, number>();
const selfFile = new Map<string, number>();
const inclusiveFn = new Map<string, number>();
const fileKey = (url: string, fn: string) => {
  const u = short(url);
  if (!u) return `(${fn})`;
  if (u.startsWith('node_modules/')) {
    const parts = u.split('/');
    return parts.slice(0, parts[1]!.startsWith('@') ? 3 : 2).join('/');
  }
  return u;
};
let total = 0;
for (const id of prof.samples) {
  const n = byId.get(id)!;
  total += 1;
  self.set(label(n), (self.get(label(n)) ?? 0) + 1);
  const fk = fileKey(n.callFrame.url, n.callFrame.functionName);
  selfFile.set(fk, (selfFile.get(fk) ?? 0) + 1);
  const seenFns = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) seenFns.add(label(byId.get(cur)!));
  for (const k of seenFns) inclusiveFn.set(k, (inclusiveFn.get(k) ?? 0) + 1);
}
const top = (m: Map<string, number>, k: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([name, c]) => `${((100 * c) / total).toFixed(1).padStart(5)} % ${((usPerRequest * c) / total).toFixed(1).padStart(7)} µs/req  ${name}`).join('\n');
console.log(`\n${total} samples over ${((prof.endTime - prof.startTime) / 1e6).toFixed(2)} s, ${f.responses} responses: ${usPerRequest.toFixed(0)} µs of wall time per request. Self time by function:\n${top(self, 35)}`);
console.log(`\nSelf time by file or package:\n${top(selfFile, 35)}`);
const pattern = process.env.PROFILE_GREP ? new RegExp(process.env.PROFILE_GREP) : null;
console.log(`\nInclusive time by function${pattern ? ` matching ${pattern}` : ''} (a middleware's includes what its next() ran synchronously):\n${top(new Map([...inclusiveFn].filter(([k]) => !pattern || pattern.test(k))), 70)}`);
