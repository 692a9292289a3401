import { getAuthenticatorType } from './authenticator-types.js';
import { checkPipeDefinition } from '../pipes/pipe.js';
import type { PipeDefinition } from '../pipes/types.js';
import { mountPaths, selectorsOfChoices } from './mount-path.js';
import { checkSelectors } from './selector-checks.js';
import { checkOidc } from './oidc-checks.js';
import { checkVerifyApi } from './verify-api-checks.js';
import { childPath } from './config-error.js';
import { describeSchemaError, pointerToPath } from '../schema-messages.js';
import { createAjv } from './schema.js';

/**
 * The checks a JSON Schema cannot express: references between blocks, registered names, mount paths,
 * code strength. Each returns problems as (path, message); the caller adds the file.
 */
export interface PathProblem {
  path: string;
  message: string;
}

interface RawPipe { id: string; valves: unknown[] }
interface RawAuthenticator { id: string; type: string; config: Record<string, unknown> }
interface RawConfig { store?: Record<string, unknown>; pipes: RawPipe[]; authenticators: RawAuthenticator[]; i18n: { languages: string[]; fallback: string }; oidc?: Parameters<typeof checkOidc>[0]; verify_api?: Parameters<typeof checkVerifyApi>[0] }

const MIN_CODE_BITS = 20;
const CHARSET_SIZE = { numeric: 10, alphanumeric: 32 } as const;
const ajv = createAjv();

function duplicates<T>(items: T[], key: (item: T) => string, base: string, what: string): PathProblem[] {
  const seen = new Map<string, number>();
  const out: PathProblem[] = [];
  items.forEach((item, index) => {
    const k = key(item);
    const first = seen.get(k);
    if (first !== undefined) out.push({ path: childPath(base, index), message: `${what} "${k}" is already used by ${base}[${first}]` });
    else seen.set(k, index);
  });
  return out;
}

function checkPipes(pipes: RawPipe[]): PathProblem[] {
  const out = duplicates(pipes, (p) => p.id, 'pipes', 'pipe id');
  pipes.forEach((pipe, p) => {
    for (const problem of checkPipeDefinition(pipe as unknown as PipeDefinition)) {
      out.push({ path: `pipes[${p}]${pointerToPath(problem.path).replace(/^(?=[A-Za-z_$])/, '.')}`, message: problem.message });
    }
  });
  return out;
}

function checkAuthenticator(a: RawAuthenticator, index: number, pipeIds: Set<string>, ids: Set<string>, isChoice: boolean, types: Map<string, string>): PathProblem[] {
  const at = `authenticators[${index}]`;
  const out: PathProblem[] = [];
  const type = getAuthenticatorType(a.type);
  if (!type) {
    out.push({ path: `${at}.type`, message: `unknown authenticator type "${a.type}" (known: ${['OTP', 'OTPAuthenticator', 'OTPValidator', 'Chain', 'Selector', 'TotpEnroll', 'RecoveryCodes', 'UserNameAndPassword'].join(', ')} and any registered by the host program)` });
    return out;
  }
  const c = a.config as Record<string, unknown>;
  if (c.base_path !== undefined && c.context_path !== undefined) {
    out.push({ path: `${at}.config`, message: 'base_path and context_path are both set; use one (base_path + "/" + id, or context_path when it stands alone)' });
  } else if (c.base_path === undefined && c.context_path === undefined && !isChoice && c.web !== false) {
    out.push({ path: `${at}.config`, message: 'neither base_path nor context_path is set; the authenticator has nowhere to be served' });
  }
  for (const key of ['pipe_id', 'pre_pipe_id'] as const) {
    const ref = c[key];
    if (typeof ref === 'string' && !pipeIds.has(ref)) {
      out.push({ path: `${at}.config.${key}`, message: `no pipe has id "${ref}" (pipes: ${[...pipeIds].join(', ') || 'none'})` });
    }
  }
  if (type.name === 'OTP') {
    const code = c.code as { length: number; charset: keyof typeof CHARSET_SIZE };
    const bits = code.length * Math.log2(CHARSET_SIZE[code.charset]);
    if (bits < MIN_CODE_BITS - 0.5) {
      out.push({ path: `${at}.config.code.length`, message: `a ${code.charset} code of ${code.length} characters has about ${Math.floor(bits)} bits; at least ${MIN_CODE_BITS} are required (numeric: 6 to 10 digits, alphanumeric: 4 to 10)` });
    }
    const destination = c.destination as { source?: string };
    if (typeof c.pre_pipe_id === 'string' && !destination.source) {
      out.push({ path: `${at}.config.destination.source`, message: 'pre_pipe_id is set but destination.source is not: the pre-pipe needs a destination to send to' });
    }
  }
  if (type.name === 'Chain') {
    const chain = c.chain as { id: string }[];
    chain.forEach((step, s) => {
      if (step.id === a.id) out.push({ path: `${at}.config.chain[${s}].id`, message: 'a chain cannot contain itself' });
      else if (!ids.has(step.id)) out.push({ path: `${at}.config.chain[${s}].id`, message: `no authenticator has id "${step.id}"` });
      else if (types.get(step.id) === 'RecoveryCodes') out.push({ path: `${at}.config.chain[${s}].id`, message: `"${step.id}" is a RecoveryCodes step: it needs a finished login, so it cannot be a step of one; serve it to signed-in users` });
    });
  }
  if (type.configSchema) {
    const validate = ajv.compile(type.configSchema);
    if (!validate(a.config)) {
      for (const error of validate.errors ?? []) {
        const described = describeSchemaError(error, a.config);
        if (described) out.push({ path: described.path ? `${at}.config.${described.path}` : `${at}.config`, message: described.message });
      }
    }
  }
  return out;
}

/** Chains may nest, but never in a loop (A contains B contains A). */
function chainCycles(authenticators: RawAuthenticator[]): PathProblem[] {
  const steps = new Map(authenticators.filter((a) => a.type === 'Chain')
    .map((a) => [a.id, ((a.config as { chain?: { id: string }[] }).chain ?? []).map((s) => s.id)]));
  const out: PathProblem[] = [];
  const visit = (id: string, path: string[]): string[] | null => {
    if (path.includes(id)) return [...path.slice(path.indexOf(id)), id];
    for (const next of steps.get(id) ?? []) {
      if (next === id) continue; // reported as "a chain cannot contain itself"
      const cycle = visit(next, [...path, id]);
      if (cycle) return cycle;
    }
    return null;
  };
  authenticators.forEach((a, i) => {
    if (!steps.has(a.id)) return;
    const cycle = visit(a.id, []);
    if (cycle && cycle[0] === a.id) out.push({ path: `authenticators[${i}].config.chain`, message: `chains contain each other in a loop: ${cycle.join(' -> ')}` });
  });
  return out;
}

/** Problems refuse the configuration; warnings are printed by check-config and logged at start, nothing more. */
export function crossCheck(config: RawConfig, availableLanguages: readonly string[]): PathProblem[] {
  return crossCheckAll(config, availableLanguages).problems;
}

export function crossCheckAll(config: RawConfig, availableLanguages: readonly string[]): { problems: PathProblem[]; warnings: PathProblem[] } {
  const out: PathProblem[] = [...checkPipes(config.pipes)];
  const pipeIds = new Set(config.pipes.map((p) => p.id));
  const ids = new Set(config.authenticators.map((a) => a.id));
  const choices = selectorsOfChoices(config.authenticators);
  out.push(...duplicates(config.authenticators, (a) => a.id, 'authenticators', 'authenticator id'));
  const types = new Map(config.authenticators.map((a) => [a.id, a.type]));
  config.authenticators.forEach((a, i) => out.push(...checkAuthenticator(a, i, pipeIds, ids, choices.has(a.id), types)));
  out.push(...chainCycles(config.authenticators));
  const selectors = checkSelectors(config.authenticators);
  out.push(...selectors.problems);
  out.push(...checkOidc(config.oidc, config.authenticators));
  out.push(...checkVerifyApi(config.verify_api, config.authenticators));
  const paths = mountPaths(config.authenticators);
  const mounts = new Map<string, number>();
  config.authenticators.forEach((a, i) => {
    const path = paths.get(a.id);
    if (!path) return;
    const first = mounts.get(path);
    if (first === undefined) mounts.set(path, i);
    else out.push({ path: `authenticators[${i}].config`, message: `mount path ${path} is already served by authenticators[${first}] ("${config.authenticators[first]?.id}")` });
  });
  config.i18n.languages.forEach((lng, i) => {
    if (!availableLanguages.includes(lng)) out.push({ path: `i18n.languages[${i}]`, message: `no translations for "${lng}" (available: ${availableLanguages.join(', ')})` });
  });
  if (!config.i18n.languages.includes(config.i18n.fallback)) {
    out.push({ path: 'i18n.fallback', message: `"${config.i18n.fallback}" is not one of i18n.languages (${config.i18n.languages.join(', ')})` });
  }
  return { problems: out, warnings: [...selectors.warnings, ...storeWarnings(config.store)] };
}

/** A Redis address under `type: "memory"` is ignored: most likely the type was forgotten. */
function storeWarnings(store: Record<string, unknown> | undefined): PathProblem[] {
  if (!store || store.type === 'redis') return [];
  return ['url', 'cluster', 'sentinel'].filter((k) => store[k] !== undefined)
    .map((k) => ({ path: `store.${k}`, message: `ignored: store.type is "memory" (set "type": "redis" to use it)` }));
}
