import type { ValveFactory } from './types.js';

/**
 * Valve types by name. Built-in valves register themselves when `src/valves/index.ts` is imported;
 * a host program adds its own with `registerValve` before it creates the authenticators.
 */
export interface ValveRegistration {
  factory: ValveFactory<any>;
  /** Optional JSON Schema for the valve's `config`, checked when the configuration is validated. */
  configSchema?: Record<string, unknown>;
}

const valves = new Map<string, ValveRegistration>();

export function registerValve<C = Record<string, unknown>>(
  name: string,
  factory: ValveFactory<C>,
  options: { configSchema?: Record<string, unknown> } = {},
): void {
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) throw new TypeError(`registerValve: invalid valve name "${name}"`);
  if (typeof factory !== 'function') throw new TypeError(`registerValve: the factory of "${name}" is not a function`);
  valves.set(name, { factory, ...(options.configSchema ? { configSchema: options.configSchema } : {}) });
}

export function getValve(name: string): ValveRegistration | undefined {
  return valves.get(name);
}

export function valveNames(): string[] {
  return [...valves.keys()].sort();
}
