/**
 * The pipe engine: a pipe is built once from its definition (every problem found then, at start-up)
 * and run per flow. Valves run in order; the first failure stops the flow.
 */
import type { FlowContext, FlowFailure, FlowResult, OtpFlowState, PipeDefinition, Valve, ValveDefinition, ValveDeps } from './types.js';
import { getValve, type ValveRegistration } from './valve-registry.js';
import { compileCondition, checkCondition, type Condition } from './condition.js';
import { checkExpansions, expandValue, hasExpansions } from './expand.js';
import { checkValveConfig } from './valve-config.js';
import { FlowReason } from './reasons.js';

export const DEFAULT_VALVE_TIMEOUT_MS = 10_000;
export const MAX_VALVE_TIMEOUT_MS = 120_000;

export interface Pipe {
  readonly id: string;
  readonly description?: string;
  /** Names of the valves in order, disabled ones included. */
  readonly valveNames: readonly string[];
  run(ctx: FlowContext): Promise<FlowResult>;
}

/** A problem in a pipe definition; `path` is a JSON pointer inside the pipe object. */
export interface PipeProblem {
  path: string;
  message: string;
}

export class PipeBuildError extends Error {
  constructor(
    readonly pipeId: string,
    readonly problems: PipeProblem[],
  ) {
    super(`pipe "${pipeId}": ${problems.map((p) => `${p.path || '/'}: ${p.message}`).join('; ')}`);
    this.name = 'PipeBuildError';
  }
}

/**
 * Every problem of one pipe definition, without building it: unknown valve names, bad `exec_if`,
 * bad `timeout_ms`, config that does not fit the valve's schema, `${...}` references that can never
 * resolve. The config validator may call this to report them with its own file and path prefix.
 */
export function checkPipeDefinition(def: PipeDefinition): PipeProblem[] {
  const problems: PipeProblem[] = [];
  if (typeof def?.id !== 'string' || def.id === '') problems.push({ path: '/id', message: 'must be a non-empty string' });
  if (!Array.isArray(def?.valves)) {
    problems.push({ path: '/valves', message: 'must be an array' });
    return problems;
  }
  def.valves.forEach((valve: ValveDefinition, i: number) => {
    const at = `/valves/${i}`;
    const registration = typeof valve?.name === 'string' ? getValve(valve.name) : undefined;
    if (!registration) {
      problems.push({ path: `${at}/name`, message: `unknown valve "${String(valve?.name)}"` });
    }
    if (valve?.enabled !== undefined && typeof valve.enabled !== 'boolean') {
      problems.push({ path: `${at}/enabled`, message: 'must be a boolean' });
    }
    if (valve?.exec_if !== undefined) {
      const problem = checkCondition(valve.exec_if);
      if (problem) problems.push({ path: `${at}/exec_if`, message: problem });
    }
    if (valve?.timeout_ms !== undefined) {
      const t = valve.timeout_ms;
      if (!Number.isInteger(t) || t < 1 || t > MAX_VALVE_TIMEOUT_MS) {
        problems.push({ path: `${at}/timeout_ms`, message: `must be an integer from 1 to ${MAX_VALVE_TIMEOUT_MS}` });
      }
    }
    const config = valve?.config ?? {};
    if (config === null || typeof config !== 'object' || Array.isArray(config)) {
      problems.push({ path: `${at}/config`, message: 'must be an object' });
      return;
    }
    for (const p of checkExpansions(config)) problems.push({ path: `${at}/config${p.path}`, message: p.message });
    for (const p of checkValveConfig(registration?.configSchema, config, { tolerateReferences: true })) {
      problems.push({ path: `${at}/config${p.path}`, message: p.message });
    }
  });
  return problems;
}

interface PreparedValve {
  name: string;
  enabled: boolean;
  condition?: Condition;
  timeoutMs: number;
  config: Record<string, unknown>;
  registration: ValveRegistration;
  /** Built once when the config holds no references; otherwise built per run from the expanded config. */
  fixed?: Valve;
}

/** What a flow holds that an error's text must not carry into a log: the codes and the destination. */
function flowSecrets(state: OtpFlowState): string[] {
  return [state.code?.value, state.otp, state.destination?.address, state.destination_input].filter((v): v is string => typeof v === 'string' && v !== '');
}

export function buildPipe(def: PipeDefinition, deps: ValveDeps): Pipe {
  const problems = checkPipeDefinition(def);
  if (problems.length > 0) throw new PipeBuildError(String(def?.id), problems);

  const prepared = def.valves.map((valve, i): PreparedValve => {
    const registration = getValve(valve.name) as ValveRegistration;
    const config = valve.config ?? {};
    const entry: PreparedValve = {
      name: valve.name,
      enabled: valve.enabled !== false,
      timeoutMs: valve.timeout_ms ?? DEFAULT_VALVE_TIMEOUT_MS,
      config,
      registration,
      ...(valve.exec_if !== undefined ? { condition: compileCondition(valve.exec_if) } : {}),
    };
    if (entry.enabled && !hasExpansions(config)) {
      try {
        entry.fixed = registration.factory(structuredClone(config), deps);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new PipeBuildError(def.id, [{ path: `/valves/${i}/config`, message }]);
      }
    }
    return entry;
  });

  const fail = (failure: FlowFailure): FlowResult => ({ ok: false, failure });
  const report = (error: unknown, valve: string, reason: string, state: OtpFlowState): void => {
    try {
      deps.reportError?.(error, { pipe: def.id, valve, reason, secrets: flowSecrets(state) });
    } catch {
      // A broken reporter must not turn a handled failure into a thrown one.
    }
  };

  return {
    id: def.id,
    ...(def.description !== undefined ? { description: def.description } : {}),
    valveNames: prepared.map((v) => v.name),
    async run(ctx: FlowContext): Promise<FlowResult> {
      for (const v of prepared) {
        if (!v.enabled) continue;
        if (v.condition) {
          const outcome = await v.condition.test(ctx);
          if (!outcome.ok) {
            report(outcome.error, v.name, FlowReason.CONDITION_ERROR, ctx.state);
            return fail({ reason: FlowReason.CONDITION_ERROR, message: 'exec_if could not be evaluated', valve: v.name });
          }
          if (!outcome.value) continue;
        }

        let valve: Valve;
        if (v.fixed) {
          valve = v.fixed;
        } else {
          const built = instantiate(v, ctx, deps);
          if ('failure' in built) {
            report(built.error, v.name, FlowReason.VALVE_ERROR, ctx.state);
            return fail({ ...built.failure, valve: v.name });
          }
          valve = built.valve;
        }

        const outcome = await runWithTimeout(valve, ctx, v.timeoutMs);
        if (outcome.kind === 'timeout') {
          report(new Error(`valve ${v.name} did not settle within ${v.timeoutMs} ms`), v.name, FlowReason.VALVE_TIMEOUT, ctx.state);
          return fail({ reason: FlowReason.VALVE_TIMEOUT, message: `no answer within ${v.timeoutMs} ms`, valve: v.name });
        }
        if (outcome.kind === 'error') {
          report(outcome.error, v.name, FlowReason.VALVE_ERROR, ctx.state);
          return fail({ reason: FlowReason.VALVE_ERROR, message: 'the valve failed', valve: v.name });
        }
        const result = outcome.result;
        if (result === undefined || result === null) continue;
        const failure = readFailure(result);
        if (!failure) {
          report(new Error(`valve ${v.name} returned an unexpected result`), v.name, FlowReason.VALVE_ERROR, ctx.state);
          return fail({ reason: FlowReason.VALVE_ERROR, message: 'the valve failed', valve: v.name });
        }
        return fail({ ...failure, valve: v.name });
      }
      return { ok: true };
    },
  };
}

/** Builds every pipe; a duplicate id or any pipe's problems throw (start-up must not continue). */
export function buildPipes(defs: readonly PipeDefinition[], deps: ValveDeps): Map<string, Pipe> {
  const pipes = new Map<string, Pipe>();
  for (const def of defs) {
    if (pipes.has(def.id)) throw new PipeBuildError(def.id, [{ path: '/id', message: `duplicate pipe id "${def.id}"` }]);
    pipes.set(def.id, buildPipe(def, deps));
  }
  return pipes;
}

function instantiate(
  v: PreparedValve,
  ctx: FlowContext,
  deps: ValveDeps,
): { valve: Valve } | { failure: FlowFailure; error: unknown } {
  const config = expandValue(v.config, ctx) as Record<string, unknown>;
  const problems = checkValveConfig(v.registration.configSchema, config);
  if (problems.length > 0) {
    const detail = problems.map((p) => `${p.path || '/'} ${p.message}`).join('; ');
    return {
      failure: { reason: FlowReason.VALVE_ERROR, message: `config invalid after expansion: ${detail}` },
      error: new Error(detail),
    };
  }
  try {
    return { valve: v.registration.factory(config, deps) };
  } catch (error) {
    return { failure: { reason: FlowReason.VALVE_ERROR, message: 'the valve failed' }, error };
  }
}

type RunOutcome = { kind: 'done'; result: unknown } | { kind: 'error'; error: unknown } | { kind: 'timeout' };

/**
 * A valve that never settles keeps running in the background (JavaScript cannot cancel it); the
 * flow does not wait for it, and whatever it does later to `ctx` is too late to matter.
 */
async function runWithTimeout(valve: Valve, ctx: FlowContext, ms: number): Promise<RunOutcome> {
  let returned: unknown;
  try {
    returned = valve.run(ctx);
  } catch (error) {
    return { kind: 'error', error };
  }
  // A valve that answered at once (OtpValidate, the normalisers) has nothing to time out: no timer for it.
  if (!isThenable(returned)) return { kind: 'done', result: returned };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<RunOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timeout' }), ms);
  });
  const work = Promise.resolve(returned).then(
    (result): RunOutcome => ({ kind: 'done', result }),
    (error: unknown): RunOutcome => ({ kind: 'error', error }),
  );
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function readFailure(result: unknown): FlowFailure | null {
  if (typeof result !== 'object' || result === null || !('fail' in result)) return null;
  const fail = (result as { fail: unknown }).fail;
  if (typeof fail !== 'object' || fail === null) return null;
  const { reason, message } = fail as { reason?: unknown; message?: unknown };
  if (typeof reason !== 'string' || reason === '') return null;
  return { reason, ...(typeof message === 'string' ? { message } : {}) };
}
