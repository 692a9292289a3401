/**
 * Counts what the app sends to Redis: a proxy over a node-redis client that records every method called on it by
 * name (evalSha, eval, get, set, sendCommand, ...), following `withCommandOptions`. Methods run bound to the real
 * client, so a command that calls another internally is counted once: one entry = one command asked of the
 * connection = one round trip (nothing here pipelines). test/redis/counting-client.ts uses it too, so the tests
 * count round trips as the benchmark does.
 */
export interface CountingClient<C extends object> {
  readonly client: C;
  /** Every command since the last reset, in order (capped at `cap` names; `total` keeps counting). */
  readonly calls: string[];
  total(): number;
  reset(): void;
}

export function countingClient<C extends object>(target: C, cap = 10_000): CountingClient<C> {
  const calls: string[] = [];
  let total = 0;
  const wrap = <T extends object>(t: T): T =>
    new Proxy(t, {
      get(obj, prop) {
        const v = Reflect.get(obj, prop, obj) as unknown;
        if (typeof v !== 'function') return v;
        const fn = v as (...args: unknown[]) => unknown;
        if (prop === 'withCommandOptions') return (...args: unknown[]) => wrap(fn.apply(obj, args) as object);
        return (...args: unknown[]) => {
          total += 1;
          if (calls.length < cap) calls.push(String(prop));
          return fn.apply(obj, args);
        };
      },
    });
  return {
    client: wrap(target),
    calls,
    total: () => total,
    reset: () => { calls.splice(0); total = 0; },
  };
}
