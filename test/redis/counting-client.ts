/**
 * Counts what a store sends to Redis: a proxy over a node-redis client that records every method called on it (by
 * name: evalSha, eval, sendCommand, get, multi, ...), following `withCommandOptions`. Methods run bound to the real
 * client, so a command that calls another internally is counted once: what was asked of the connection.
 */
import type { TestRedisClient } from '../support/redis.js';

export interface CountingClient {
  readonly client: TestRedisClient;
  readonly calls: string[];
  reset(): void;
}

export function countingClient(target: TestRedisClient): CountingClient {
  const calls: string[] = [];
  const wrap = <T extends object>(t: T): T =>
    new Proxy(t, {
      get(obj, prop) {
        const v = Reflect.get(obj, prop, obj) as unknown;
        if (typeof v !== 'function') return v;
        const fn = v as (...args: unknown[]) => unknown;
        if (prop === 'withCommandOptions') return (...args: unknown[]) => wrap(fn.apply(obj, args) as object);
        return (...args: unknown[]) => {
          calls.push(String(prop));
          return fn.apply(obj, args);
        };
      },
    });
  return { client: wrap(target), calls, reset: () => void calls.splice(0) };
}
