import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseTree, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { ConfigError, childPath, type ConfigProblem } from './config-error.js';

/**
 * Reads a configuration file into plain JSON: `@include:` inlined, `${env.X}` and `${globals.x}` replaced.
 * Expressions for run time (`${exports.x}`, `${session.x}`, `${request.x}`, `${state.x}`, `${items...}`) stay
 * as they are, for the pipes and authenticators to evaluate per request.
 */
export interface LoadedDocument {
  data: unknown;
  /** The file the root document came from. */
  file: string;
  /** For each JSON path where an @include was inlined, the file that supplied it (longest prefix wins). */
  origins: ReadonlyMap<string, string>;
}

const INCLUDE = '@include:';
/** `${env.NAME}`, `${env.NAME:-fallback}`, `${globals.name}`; anything else inside ${} is left for run time. */
const LOAD_TIME = /\$\{(env|globals)\.([A-Za-z_][A-Za-z0-9_.]*)(?::-([^}]*))?\}/g;

interface Walk {
  env: NodeJS.ProcessEnv;
  globals: Record<string, unknown>;
  problems: ConfigProblem[];
  origins: Map<string, string>;
  /** Real paths of the files being included, outermost first, to refuse cycles. */
  stack: string[];
}

export function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

function readJson(file: string, jsonPath: string, w: Walk, from: string): { ok: true; value: unknown } | { ok: false } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    w.problems.push({ file: displayPath(from), path: jsonPath, message: `cannot read ${displayPath(file)} (${code})` });
    return { ok: false };
  }
  try {
    return { ok: true, value: JSON.parse(text.replace(/^\uFEFF/, '')) };
  } catch (err) {
    w.problems.push({ file: displayPath(file), path: '', message: `is not valid JSON: ${describeJsonError(err, text)}` });
    return { ok: false };
  }
}

/** JSON.parse says what is wrong but not always where; jsonc-parser's strict scan finds the offset. */
function describeJsonError(err: unknown, text: string): string {
  const errors: ParseError[] = [];
  parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (!first) return err instanceof Error ? err.message : String(err);
  const before = text.slice(0, first.offset);
  const line = before.split('\n').length;
  const column = first.offset - before.lastIndexOf('\n');
  return `${printParseErrorCode(first.error)} at line ${line}, column ${column}`;
}

function includeTarget(spec: string, baseDir: string, jsonPath: string, w: Walk, from: string): unknown {
  const target = path.resolve(baseDir, spec.slice(INCLUDE.length).trim());
  let real: string;
  try {
    real = realpathSync(target);
  } catch {
    w.problems.push({ file: displayPath(from), path: jsonPath, message: `@include target ${displayPath(target)} does not exist` });
    return undefined;
  }
  if (w.stack.includes(real)) {
    const cycle = [...w.stack.slice(w.stack.indexOf(real)), real].map(displayPath).join(' -> ');
    w.problems.push({ file: displayPath(from), path: jsonPath, message: `@include cycle: ${cycle}` });
    return undefined;
  }
  w.origins.set(jsonPath, displayPath(real));
  if (statSync(real).isDirectory()) {
    const files = readdirSync(real).filter((name) => name.endsWith('.json')).sort();
    return files.map((name, index) => includeFile(path.join(real, name), childPath(jsonPath, index), w, from));
  }
  return includeFile(real, jsonPath, w, from);
}

function includeFile(file: string, jsonPath: string, w: Walk, from: string): unknown {
  const real = realpathSync(file);
  if (w.stack.includes(real)) {
    const cycle = [...w.stack.slice(w.stack.indexOf(real)), real].map(displayPath).join(' -> ');
    w.problems.push({ file: displayPath(from), path: jsonPath, message: `@include cycle: ${cycle}` });
    return undefined;
  }
  const read = readJson(real, jsonPath, w, from);
  if (!read.ok) return undefined;
  w.origins.set(jsonPath, displayPath(real));
  w.stack.push(real);
  try {
    return expand(read.value, path.dirname(real), jsonPath, w, real);
  } finally {
    w.stack.pop();
  }
}

function expandString(value: string, jsonPath: string, w: Walk, file: string): unknown {
  // A string that is exactly one ${globals.x} keeps the global's type (a number stays a number).
  const whole = /^\$\{globals\.([A-Za-z_][A-Za-z0-9_.]*)\}$/.exec(value);
  if (whole) {
    const found = lookupGlobal(w.globals, whole[1] ?? '');
    if (found === undefined) {
      w.problems.push({ file: displayPath(file), path: jsonPath, message: `\${globals.${whole[1]}} is not defined in "globals"` });
    }
    return found;
  }
  return value.replace(LOAD_TIME, (match, scope: string, name: string, fallback: string | undefined) => {
    if (scope === 'env') {
      const found = w.env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      w.problems.push({ file: displayPath(file), path: jsonPath, message: `environment variable ${name} is not set (\${env.${name}}); set it or write \${env.${name}:-fallback}` });
      return match;
    }
    const found = lookupGlobal(w.globals, name);
    if (found === undefined) {
      w.problems.push({ file: displayPath(file), path: jsonPath, message: `\${globals.${name}} is not defined in "globals"` });
      return match;
    }
    return typeof found === 'string' ? found : JSON.stringify(found);
  });
}

function lookupGlobal(globals: Record<string, unknown>, dotted: string): unknown {
  let current: unknown = globals;
  for (const part of dotted.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function expand(value: unknown, baseDir: string, jsonPath: string, w: Walk, file: string): unknown {
  if (typeof value === 'string') {
    if (value.startsWith(INCLUDE)) return includeTarget(value, baseDir, jsonPath, w, file);
    return expandString(value, jsonPath, w, file);
  }
  if (Array.isArray(value)) return value.map((item, index) => expand(item, baseDir, childPath(jsonPath, index), w, file));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = expand(item, baseDir, childPath(jsonPath, key), w, file);
    return out;
  }
  return value;
}

/**
 * Loads `file`. `globals` are expanded first (they may use `${env.X}` but not each other), then the rest.
 * Throws ConfigError with every problem found.
 */
export function loadConfigDocument(file: string, env: NodeJS.ProcessEnv = process.env): LoadedDocument {
  const absolute = path.resolve(file);
  const w: Walk = { env, globals: {}, problems: [], origins: new Map(), stack: [] };
  let real = absolute;
  try {
    real = realpathSync(absolute);
  } catch {
    throw new ConfigError([{ file: displayPath(absolute), path: '', message: 'the configuration file does not exist' }]);
  }
  const read = readJson(real, '', w, real);
  if (!read.ok) throw new ConfigError(w.problems);
  const root = read.value;
  if (root === null || typeof root !== 'object' || Array.isArray(root)) {
    throw new ConfigError([{ file: displayPath(real), path: '', message: 'expected a JSON object at the top level' }]);
  }
  w.stack.push(real);
  const rawGlobals = (root as Record<string, unknown>).globals;
  if (rawGlobals !== null && typeof rawGlobals === 'object' && !Array.isArray(rawGlobals)) {
    w.globals = expand(rawGlobals, path.dirname(real), 'globals', w, real) as Record<string, unknown>;
  }
  const data: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(root)) {
    data[key] = key === 'globals' ? w.globals : expand(item, path.dirname(real), key, w, real);
  }
  if (w.problems.length > 0) throw new ConfigError(w.problems);
  return { data, file: displayPath(real), origins: w.origins };
}

/** The file that supplied the value at `jsonPath`: the longest include prefix, else the root file. */
export function originOf(doc: Pick<LoadedDocument, 'file' | 'origins'>, jsonPath: string): string {
  let best = '';
  let file = doc.file;
  for (const [prefix, origin] of doc.origins) {
    const covers = jsonPath === prefix || jsonPath.startsWith(`${prefix}.`) || jsonPath.startsWith(`${prefix}[`);
    if (covers && prefix.length >= best.length) {
      best = prefix;
      file = origin;
    }
  }
  return file;
}
