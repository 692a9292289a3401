/**
 * The plan of src/: its rooms from the bottom up, and the rules its imports keep. A file may import its own room
 * and the rooms below it, never one above; a room with a face is entered through it; no two files import each
 * other, even through others; and a few packages stay in the rooms that own them. docs/architecture.md shows the same table (a test compares them).
 * `houseViolations` is pure, so the test can show it catches what it should on a made-up tree.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export interface Room {
  /** A folder of src/ (`store`) or a file at its top (`errors.ts`). */
  readonly name: string;
  /** What the room is, said as the reason an import from below may not reach it. */
  readonly role: string;
}

/** Bottom first. */
export const ROOMS: readonly Room[] = [
  { name: 'errors.ts', role: 'the error catalogue, which every room may throw from' },
  { name: 'transaction', role: 'the OTP rules: pure functions over a transaction record, no I/O, no HTTP' },
  { name: 'codes', role: 'keyed code hashes and the TOTP replay guard, shared by the valves and the stores' },
  { name: 'package-root.ts', role: 'where the package\'s own files are' },
  { name: 'schema-messages.ts', role: 'JSON Schema errors as sentences' },
  { name: 'pipes', role: 'the pipe engine: flows, the valve contract and registry, conditions, ${} expansion' },
  { name: 'valves', role: 'the built-in valves' },
  { name: 'config', role: 'loading and checking the configuration, its types, the authenticator type names' },
  { name: 'events', role: 'the event catalogue, the bus and the winston logger' },
  { name: 'redis', role: 'the Redis connection, key layout and failure mapping the store and the limits share' },
  { name: 'limits', role: 'the rate limits' },
  { name: 'store', role: 'the transaction stores, which persist what the rules decide' },
  { name: 'i18n', role: 'languages and translations' },
  { name: 'http', role: 'what every HTTP face shares: request bodies, CSRF, JSON and error answers' },
  { name: 'web', role: 'the pages and their assets' },
  { name: 'ops', role: 'production guards, health, metrics, unlock' },
  { name: 'authn', role: 'the authenticator framework: steps, chains, the password step, the passport strategy' },
  { name: 'otp', role: 'the OTP authenticator\'s HTTP side' },
  { name: 'api', role: 'the server-to-server verification API over the OTP rules, stores and pipes' },
  { name: 'assembly', role: 'createAuthn, which builds every configured authenticator into one router' },
  { name: 'integrations', role: 'what puts a built Authn behind another system: the OpenID Connect provider' },
  { name: 'demo', role: 'the demo site' },
  { name: 'index.ts', role: 'the public API' },
  { name: 'cli.ts', role: 'the CLI' },
  { name: 'cli-main.ts', role: 'the CLI\'s entry point' },
  { name: 'server.ts', role: 'the demo server behind npm start' },
];

/** Rooms the rest of src/ may import only through one file. */
export const FACES: ReadonlyMap<string, string> = new Map([
  ['transaction', 'transaction/index.ts'],
]);

/** Packages (or node: modules) only some rooms may import, and why. */
export const PACKAGE_RULES: readonly { readonly pkg: RegExp; readonly only: readonly string[]; readonly why: string }[] = [
  { pkg: /^winston$/, only: ['events'], why: 'nothing but events/ calls winston: code emits events and logs through events/logger' },
  {
    pkg: /^express(-session)?$/,
    only: ['http', 'web', 'ops', 'authn', 'otp', 'api', 'assembly', 'integrations', 'demo', 'i18n', 'index.ts', 'server.ts'],
    why: 'rules, valves, stores, limits, events and config never see an HTTP request or response',
  },
  {
    pkg: /^(redis|nodemailer|node:(fs|net|http|https|child_process)|fs|net|http|https)$/,
    only: ROOMS.map((r) => r.name).filter((n) => n !== 'transaction' && n !== 'codes'),
    why: 'the rules and the code helpers do no I/O',
  },
];

export interface Violation {
  readonly file: string;
  readonly message: string;
}

/** The room of a path relative to src/ (`store/redis-store.ts` -> `store`), or null when it is outside src/. */
export function roomOf(srcRelative: string): string | null {
  if (srcRelative.startsWith('..') || path.isAbsolute(srcRelative)) return null;
  const [first] = srcRelative.split('/');
  return first ?? null;
}

/**
 * Every broken rule of a tree given as its imports: `imports` maps each file (relative to src/, `store/x.ts`) to
 * the specifiers it imports; relative ones are resolved against the file (`.js` -> `.ts`).
 */
export function houseViolations(imports: ReadonlyMap<string, readonly string[]>): Violation[] {
  const rank = new Map(ROOMS.map((r, i) => [r.name, i]));
  const out: Violation[] = [];
  const edges = new Map<string, string[]>();
  for (const [file, specifiers] of imports) {
    const room = roomOf(file);
    const own = room === null ? undefined : rank.get(room);
    if (room === null || own === undefined) {
      out.push({ file, message: `src/${file} is in no room of the plan: add its room to ROOMS (test/support/house-plan.ts) and docs/architecture.md` });
      continue;
    }
    const targets: string[] = [];
    for (const spec of specifiers) {
      if (spec.startsWith('.')) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)).replace(/\.js$/, '.ts');
        const targetRoom = roomOf(target);
        if (targetRoom === null) {
          out.push({ file, message: `src/${file} imports ${spec}, outside src/` });
          continue;
        }
        targets.push(target);
        const face = FACES.get(targetRoom);
        if (face !== undefined && targetRoom !== room && target !== face) {
          out.push({ file, message: `src/${file} imports src/${target}: the rest of src/ reaches ${targetRoom}/ through its one face, src/${face}` });
        }
        const theirs = rank.get(targetRoom);
        if (theirs !== undefined && theirs > own) {
          out.push({
            file,
            message: `src/${file} imports src/${target}: ${room} (${ROOMS[own]!.role}) sits below ${targetRoom} (${ROOMS[theirs]!.role}); imports point down`,
          });
        }
      } else {
        for (const rule of PACKAGE_RULES) {
          if (rule.pkg.test(spec) && !rule.only.includes(room)) out.push({ file, message: `src/${file} imports ${spec}: ${rule.why}` });
        }
      }
    }
    edges.set(file, targets);
  }
  for (const cycle of cyclesOf(edges)) {
    out.push({ file: cycle[0]!, message: `files import each other: ${cycle.map((f) => `src/${f}`).join(' -> ')}; one of them should not know the other` });
  }
  return out;
}

/** One cycle per strongly connected group of files (Tarjan), as a path that ends where it starts. */
function cyclesOf(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      const selfLoop = (edges.get(v) ?? []).includes(v);
      if (group.length > 1 || selfLoop) groups.push(group);
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return groups.map((group) => pathThrough(group, edges));
}

/** A cycle through the files of one group, starting at its first file. */
function pathThrough(group: readonly string[], edges: ReadonlyMap<string, readonly string[]>): string[] {
  const members = new Set(group);
  const start = [...group].sort()[0]!;
  const seen = new Map<string, string | null>([[start, null]]);
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of edges.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const route = [start];
        for (let at: string | null = v; at !== null && at !== start; at = seen.get(at) ?? null) route.splice(1, 0, at);
        return [...route, start];
      }
      if (!seen.has(w)) {
        seen.set(w, v);
        queue.push(w);
      }
    }
  }
  return [...group, start];
}

/** The imports of every .ts file under `srcDir` (static, type-only, re-exports and dynamic imports alike). */
export function readImports(srcDir: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts')) {
        const info = ts.preProcessFile(readFileSync(full, 'utf8'), true, true);
        out.set(path.relative(srcDir, full).split(path.sep).join('/'), info.importedFiles.map((f) => f.fileName));
      }
    }
  };
  walk(srcDir);
  return out;
}
