/**
 * Diagnostics (not part of `npm run bench`): is a change to the package faster? Compares the server CPU time per
 * answer of two builds on the memory store, both servers running at once, their slices alternating (A B, then B A)
 * so that the machine's drift falls on both alike:
 *   npx tsx bench/ab.ts [--rev <git revision>] [--rounds N] [--route start|bare|init] [--whatif-a LIST] [--whatif-b LIST]
 * A is the build of `--rev` (default HEAD, built in a temporary git worktree), B the working tree. With the same
 * revision and no what-if on either side it is an A/A run: the spread it shows is the smallest difference this
 * machine can tell apart (bench/README.md, F1b).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, HTTP_PARAMS, compileServer, createSessions, measureRoute, startServer, type Server } from './http-bench.js';

const { values: args } = parseArgs({
  options: {
    rev: { type: 'string', default: 'HEAD' },
    rounds: { type: 'string', default: '12' },
    route: { type: 'string', default: 'start' },
    'whatif-a': { type: 'string', default: '' },
    'whatif-b': { type: 'string', default: '' },
  },
});
const rounds = Number(args.rounds);
const route = args.route as 'start' | 'bare' | 'init';
if (!['start', 'bare', 'init'].includes(route) || !Number.isInteger(rounds) || rounds < 2) throw new Error('usage: bench/ab.ts [--rev R] [--rounds N>=2] [--route start|bare|init]');

/** The server of `rev`, compiled in a worktree of its own that uses this checkout's node_modules. */
function buildRevision(rev: string): { js: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'otp-bench-ab-'));
  const tree = path.join(dir, 'tree');
  const remove = () => {
    execFileSync('git', ['worktree', 'remove', '--force', tree], { cwd: ROOT, stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  execFileSync('git', ['worktree', 'add', '--detach', tree, rev], { cwd: ROOT, stdio: 'ignore' });
  try {
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(tree, 'node_modules'));
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(tree, 'bench', 'tsconfig.json')], { cwd: tree, stdio: 'inherit' });
  } catch (error) {
    remove();
    throw error;
  }
  return { js: path.join(tree, 'bench', '.build', 'bench', 'server.js'), remove };
}

const median = (v: number[]): number => { const s = [...v].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };

const a = buildRevision(args.rev);
const bJs = compileServer();
const servers: Server[] = [];
try {
  // One warm-up of half a second before each measured slice of two seconds; each slice gets sessions of its own.
  HTTP_PARAMS.warmupSeconds = 0.5;
  HTTP_PARAMS.durationSeconds = 2;
  process.env.BENCH_SERVER_JS = a.js;
  const A = await startServer('memory', '', 'ab-a', { BENCH_WHATIF: args['whatif-a'] });
  process.env.BENCH_SERVER_JS = bJs;
  const B = await startServer('memory', '', 'ab-b', { BENCH_WHATIF: args['whatif-b'] });
  servers.push(A, B);
  // Enough for a slice at 6,000 starts/s, 20 per session, with every connection's last session spare.
  const perSlice = route === 'start' ? 1000 : 100;
  const sessionsA = await createSessions(A, 0, perSlice * rounds, `ab-a-${Date.now()}-`);
  const sessionsB = await createSessions(B, 0, perSlice * rounds, `ab-b-${Date.now()}-`);
  const cpu = { a: [] as number[], b: [] as number[] };
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const sides = [['a', A, sessionsA], ['b', B, sessionsB]] as const;
    const got = { a: 0, b: 0 };
    for (const [side, server, sessions] of r % 2 ? [...sides].reverse() : sides) {
      const f = await measureRoute(server, route, sessions.slice(r * perSlice, (r + 1) * perSlice));
      if (route === 'start' && (f.answers.INVALID_OTP ?? 0) !== f.responses) throw new Error(`side ${side}: not every start was evaluated: ${JSON.stringify(f.answers)}`);
      got[side] = f.cpuPerResponse;
      cpu[side].push(f.cpuPerResponse);
    }
    ratios.push(got.b / got.a);
    console.log(`round ${r + 1}: A ${got.a.toFixed(0)} µs, B ${got.b.toFixed(0)} µs (B/A ${(100 * got.b / got.a).toFixed(1)} %)`);
  }
  const q = [...ratios].sort((x, y) => x - y);
  console.log(`${route}, server CPU per answer: A (${args.rev}${args['whatif-a'] ? `, whatif ${args['whatif-a']}` : ''}) median ${median(cpu.a).toFixed(1)} µs, `
    + `B (working tree${args['whatif-b'] ? `, whatif ${args['whatif-b']}` : ''}) median ${median(cpu.b).toFixed(1)} µs; `
    + `B/A: median of the rounds ${(100 * median(ratios)).toFixed(1)} % (middle half ${(100 * q[Math.floor(q.length / 4)]!).toFixed(1)}-${(100 * q[Math.ceil((3 * q.length) / 4) - 1]!).toFixed(1)} %)`);
} finally {
  for (const s of servers) await s.stop();
  a.remove();
}
