/**
 * Diagnostics (not part of `npm run bench`): the bytes a route allocates per answer, and where, on the memory store.
 *   npx tsx bench/alloc.ts [start|bare|init]
 * Drives the route as the benchmark does and runs V8's sampling heap profiler over the measured window, counting
 * collected objects too (what the garbage collector has to deal with, not what stays). A function's bytes are those
 * it allocated itself (with what V8 inlined into it), per answer.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileServer, createSessions, measureRoute, startServer } from './http-bench.js';

const route = (process.argv[2] ?? 'start') as 'start' | 'bare' | 'init';
if (!['start', 'bare', 'init'].includes(route)) throw new Error('usage: bench/alloc.ts [start|bare|init]');

interface ProfileNode { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: ProfileNode[] }

compileServer();
const dir = mkdtempSync(path.join(os.tmpdir(), 'otp-bench-alloc-'));
const file = path.join(dir, `${route}.heapprofile`);
const server = await startServer('memory', '', 'alloc', { BENCH_PROFILE: '1' });
let responses = 0;
try {
  const sessions = await createSessions(server, 0, 5000, `alloc-${Date.now()}-`);
  responses = (await measureRoute(server, route, sessions, file)).responses;
} finally {
  await server.stop();
}
const head = (JSON.parse(readFileSync(file, 'utf8')) as { head: ProfileNode }).head;
rmSync(dir, { recursive: true, force: true });

const where = (url: string): string => {
  const u = url.replace(/^file:\/\//, '').replace(/.*\/bench\/\.build\//, '');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  return pkg ? pkg[1]! : u;
};
const byFunction = new Map<string, number>();
const byPlace = new Map<string, number>();
let total = 0;
const add = (map: Map<string, number>, key: string, n: number) => map.set(key, (map.get(key) ?? 0) + n);
const walk = (n: ProfileNode): void => {
  total += n.selfSize;
  const place = where(n.callFrame.url) || `(${n.callFrame.functionName || 'V8'})`;
  add(byPlace, place, n.selfSize);
  add(byFunction, `${n.callFrame.functionName || '(anonymous)'} ${place}:${n.callFrame.lineNumber + 1}`, n.selfSize);
  for (const c of n.children) walk(c);
};
walk(head);
const perAnswer = (bytes: number) => (bytes / Math.max(1, responses)).toFixed(0).padStart(7);
console.log(`${route}: ${responses} answers, ${perAnswer(total)} B allocated per answer (sampled every 256 B)\n\nby file or package:`);
for (const [k, v] of [...byPlace].sort((x, y) => y[1] - x[1]).slice(0, 25)) console.log(`${perAnswer(v)}  ${k}`);
console.log('\nby function:');
for (const [k, v] of [...byFunction].sort((x, y) => y[1] - x[1]).slice(0, 30)) console.log(`${perAnswer(v)}  ${k}`);
