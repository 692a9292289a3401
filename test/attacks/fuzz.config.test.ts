import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { ConfigError, formatProblem, loadConfig } from '../../src/config/index.js';
import { ROOT } from '../support/otp-api.js';
import { tempConfigDir, validConfig } from '../support/temp-config.js';

// Issue 13, attack 6b: fuzzing the configuration. Random mutations of valid configurations (wrong types, unknown keys,
// deleted keys, prototype keys, expressions and @include that cannot resolve, random JSON, text that is not JSON)
// through `loadConfig` in process (thousands, fixed seed) and through the CLI `check-config` as a child process (a
// few dozen). Always OK or ConfigError naming the file and the path; never another exception; the CLI exits 0 or 2
// and prints the same problems. SPEC section 2. Hand-written broken configs: test/unit/config.broken.test.ts.

const SEED = 424_242;
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** The demo configuration with its pipes inlined, in a folder that also holds its users file. */
function demoConfig(dir: string): Json {
  const config = JSON.parse(readFileSync(path.join(ROOT, 'config', 'default.json'), 'utf8')) as Record<string, Json>;
  delete config.$schema;
  config.pipes = readdirSync(path.join(ROOT, 'pipes')).filter((f) => f.endsWith('.json')).sort()
    .map((f) => JSON.parse(readFileSync(path.join(ROOT, 'pipes', f), 'utf8')) as Json);
  copyFileSync(path.join(ROOT, 'config', 'demo-users.json'), path.join(dir, 'demo-users.json'));
  return config;
}

/** Every path into a JSON value (the root included), as key lists. */
function pathsOf(value: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...at, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) pathsOf(v, [...at, k], out);
  return out;
}

/** Sets an own property, `__proto__` included (plain assignment would change the prototype instead). */
function put(target: Record<string, Json> | Json[], key: string | number, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

type Mutation =
  | { op: 'delete'; at: number } | { op: 'set'; at: number; value: Json } | { op: 'retype'; at: number; to: number }
  | { op: 'addKey'; at: number; key: string; value: Json } | { op: 'wrap'; at: number } | { op: 'expr'; at: number; text: string };

const EXPRESSIONS = ['${env.OTP_FUZZ_UNSET}', '${env.OTP_FUZZ_UNSET:-fallback}', '${globals.nope}', '${globals.app_name}', '${exports.username}', '${session.x}',
  '${state.destination.address}', '${', '}', '$${env.X}', '@include:missing.json', '@include:.', '@include:other.json', '@include:sub', '@include:', '{{code}}'];
const KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'sever', 'enabled', 'exec_if', 'config', 'id', 'type', '', ' ', '$schema', 'valueOf', 'a.b', '0'];
const numbers = fc.constantFrom(-1, 0, 1, 0.5, -0, 1e308, 2 ** 53, 20, 21, 100, 101, 600, 601, 65536);
const jsonValue: fc.Arbitrary<Json> = fc.oneof(fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>, numbers, fc.constantFrom('', ' ', 'x'.repeat(2000), 'OTP', 'Chain', 'memory', 'redis', 'otp-send', 'Outbox', 'numeric'));

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: jsonValue }),
  fc.record({ op: fc.constant('retype' as const), at: fc.nat(), to: fc.nat(6) }),
  fc.record({ op: fc.constant('addKey' as const), at: fc.nat(), key: fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 8 })), value: jsonValue }),
  fc.record({ op: fc.constant('wrap' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('expr' as const), at: fc.nat(), text: fc.constantFrom(...EXPRESSIONS) }),
);

function retyped(value: Json, to: number): Json {
  const text = JSON.stringify(value) ?? 'null';
  return [String(value), Number(typeof value === 'string' ? value.length : 1), !value, null, [value], { value }, text][to % 7] as Json;
}

function apply(doc: Json, m: Mutation): Json {
  const paths = pathsOf(doc);
  const at = paths[m.at % paths.length]!;
  if (at.length === 0) {
    // The root itself.
    if (m.op === 'set') return m.value;
    if (m.op === 'retype') return retyped(doc, m.to);
    if (m.op === 'wrap') return [doc];
    if (m.op === 'expr') return m.text;
    if (m.op === 'delete') return {};
    if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) put(doc, m.key, m.value);
    else return { [m.key]: m.value } as Json;
    return doc;
  }
  const parent = at.slice(0, -1).reduce<Json>((v, k) => (v as Record<string, Json>)[k as string]!, doc) as Record<string, Json> | Json[];
  const key = at[at.length - 1]!;
  const current = (parent as Record<string, Json>)[key as string]!;
  switch (m.op) {
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
      break;
    case 'set': put(parent, key, m.value); break;
    case 'retype': put(parent, key, retyped(current, m.to)); break;
    case 'wrap': put(parent, key, [current]); break;
    case 'expr': put(parent, key, typeof current === 'string' && m.at % 2 === 0 ? `${current}${m.text}` : m.text); break;
    case 'addKey':
      if (current !== null && typeof current === 'object' && !Array.isArray(current)) put(current, m.key, m.value);
      else put(parent, key, { [m.key]: m.value } as Json);
      break;
  }
  return doc;
}

/** A whole file: a mutated base config, or something that is not a config at all. */
const fileText = fc.oneof(
  { weight: 12, arbitrary: fc.tuple(fc.boolean(), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([demo, ms]) => ({ kind: 'mutated' as const, demo, ms })) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => ({ kind: 'json' as const, text: JSON.stringify(v) })) },
  { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom('', '\uFEFF{}', '{', '{"pipes": [', '// comment\n{}', '{"a":1,}', 'null', '[]', '{"authenticators":[]}')).map((text) => ({ kind: 'text' as const, text })) },
);

interface Outcome { ok: boolean; problems: string[] }

function loadInProcess(file: string, env: NodeJS.ProcessEnv): Outcome {
  try {
    loadConfig(file, env);
    return { ok: true, problems: [] };
  } catch (error) {
    if (!(error instanceof ConfigError)) {
      throw new Error(`not a ConfigError: ${error instanceof Error ? `${error.name}: ${error.message}\n${error.stack?.split('\n').slice(1, 4).join('\n')}` : String(error)}`);
    }
    assert.ok(error.problems.length >= 1, 'a ConfigError lists at least one problem');
    for (const p of error.problems) {
      assert.ok(typeof p.file === 'string' && p.file.length > 0, `a problem names its file: ${JSON.stringify(p)}`);
      assert.equal(typeof p.path, 'string', `a problem names its path: ${JSON.stringify(p)}`);
      assert.ok(typeof p.message === 'string' && p.message.length > 0, JSON.stringify(p));
      assert.ok(formatProblem(p).startsWith(`${p.file}: `));
    }
    return { ok: false, problems: error.problems.map(formatProblem) };
  }
}

type FileCase = { kind: 'mutated'; demo: boolean; ms: Mutation[] } | { kind: 'json' | 'text'; text: string };

function writeCase(dir: string, c: FileCase, file: string): string {
  let text: string;
  if (c.kind === 'mutated') {
    let doc: Json = c.demo ? demoConfig(dir) : (validConfig() as Json);
    for (const m of c.ms) doc = apply(doc, m);
    text = JSON.stringify(doc, null, 2) ?? 'null';
  } else {
    text = c.text;
  }
  writeFileSync(file, text);
  return text;
}

const ENV: NodeJS.ProcessEnv = { ...process.env, OTP_SECRET: '', SESSION_SECRET: '' };
delete ENV.OTP_FUZZ_UNSET;

describe('attack: fuzzing the configuration (fast-check, fixed seed)', function () {
  this.timeout(60_000);
  /** A folder for one config file, with targets for the @include expressions: another file and a folder of them. */
  const folder = () => {
    const t = tempConfigDir();
    t.write('other.json', { id: 'other', valves: [{ name: 'OtpValidate' }] });
    t.write('sub/a.json', { id: 'a', valves: [] });
    t.write('sub/b.json', [1, 2, 3]);
    return t;
  };
  const t = folder();

  it('3,000 mutated configurations through loadConfig: each OK or a ConfigError with file and path, never another exception', () => {
    const file = path.join(t.dir, 'config.json');
    const failures = new Map<string, string>();
    let ok = 0;
    let refused = 0;
    fc.assert(fc.property(fileText, (c) => {
      const text = writeCase(t.dir, c, file);
      try {
        const outcome = loadInProcess(file, ENV);
        if (outcome.ok) ok += 1;
        else refused += 1;
      } catch (error) {
        const message = (error as Error).message;
        const key = message.split('\n')[0]!.replace(/"[^"]*"/g, '"…"').slice(0, 160);
        if (!failures.has(key)) failures.set(key, `${message}\n      config: ${text.slice(0, 600)}`);
      }
    }), { seed: SEED, numRuns: 3000 });
    if (failures.size > 0) assert.fail(`${failures.size} kinds of failure:\n${[...failures].map(([k, v]) => `  - ${k}\n      ${v}`).join('\n')}`);
    assert.ok(ok >= 30 && refused >= 1000, `both outcomes reached: ${ok} OK, ${refused} refused`);
  });

  it('24 mutated configurations through `otp-authenticator check-config` (child processes): exit 0 with OK or exit 2 with the same problems, never a stack trace', async () => {
    const cases = fc.sample(fileText, { seed: SEED + 1, numRuns: 24 });
    const runs = cases.map((c) => {
      const own = folder();
      const file = path.join(own.dir, 'config.json');
      writeCase(own.dir, c, file);
      let expected: Outcome;
      try {
        expected = loadInProcess(file, ENV);
      } catch (error) {
        expected = { ok: false, problems: [`(in process: ${(error as Error).message.split('\n')[0]})`] };
      }
      return { file, expected };
    });
    const results = await pool(runs, 3, async ({ file }) => cli(['check-config', file]));
    const problems: string[] = [];
    runs.forEach(({ file, expected }, i) => {
      const run = results[i]!;
      const name = `case ${i} (${file})`;
      if (run.code !== 0 && run.code !== 2) problems.push(`${name}: exit ${run.code}: ${run.stderr.slice(0, 300)}`);
      if (/\n\s+at .+:\d+:\d+/.test(run.stderr)) problems.push(`${name}: a stack trace: ${run.stderr.slice(0, 300)}`);
      if (expected.ok) {
        if (run.code !== 0 || run.stdout !== 'OK\n') problems.push(`${name}: OK in process, but the CLI said exit ${run.code} ${run.stdout}${run.stderr.slice(0, 200)}`);
      } else {
        if (run.code !== 2) problems.push(`${name}: refused in process, but the CLI exited ${run.code}`);
        const printed = run.stderr.split('\n').filter((l) => l.startsWith('  ')).map((l) => l.slice(2));
        if (!run.stderr.startsWith(`${expected.problems.length} error`)) problems.push(`${name}: the count line: ${run.stderr.split('\n')[0]} (expected ${expected.problems.length})`);
        if (JSON.stringify(printed) !== JSON.stringify(expected.problems)) problems.push(`${name}: the CLI printed ${JSON.stringify(printed).slice(0, 300)}, in process ${JSON.stringify(expected.problems).slice(0, 300)}`);
      }
    });
    if (problems.length > 0) assert.fail(problems.join('\n'));
    const codes = results.map((r) => r.code);
    assert.ok(codes.includes(2) && codes.includes(0), `both outcomes: ${codes.join(',')}`);
  });
});

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli-main.ts', ...args], { cwd: ROOT, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function pool<T, R>(items: readonly T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: size }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  }));
  return out;
}
