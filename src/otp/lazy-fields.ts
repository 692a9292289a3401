/**
 * Own, enumerable properties worked out on first read (and writable, so a valve may change its copy), for the
 * views of a request that expressions and valves see.
 *
 * Why not `{ get host() { ... } }`: an object literal with accessors gets fresh getter closures each time it is
 * made, and V8 keeps such an object in slow (dictionary) mode. Made per request (the expansion scope, the flow and
 * its request view), with closures that hold the request, they cost a `start` ~5 KB more of its objects surviving
 * young-generation collections and ~25 µs of server CPU (bench/README.md, F1b, finding 4). Here every object shares the same getter and setter functions, so
 * it stays a fast object with a shared shape; what each one needs is kept in a non-enumerable symbol property,
 * which spread, JSON and `Object.keys` do not see.
 */
const STATE = Symbol('lazy fields');

interface LazyState<C> {
  readonly context: C;
  readonly values: Map<string, unknown>;
}

type WithState<C> = { [STATE]: LazyState<C> };

export type LazyFields<C> = Readonly<Record<string, (context: C) => unknown>>;

/** Descriptors for `fields`, made once per kind of object (module level), never per object. */
export function lazyDescriptors<C>(fields: LazyFields<C>): PropertyDescriptorMap {
  const descriptors: PropertyDescriptorMap = {};
  for (const [name, read] of Object.entries(fields)) {
    descriptors[name] = {
      enumerable: true,
      configurable: true,
      get(this: WithState<C>) {
        const { context, values } = this[STATE];
        if (!values.has(name)) values.set(name, read(context));
        return values.get(name);
      },
      set(this: WithState<C>, value: unknown) {
        this[STATE].values.set(name, value);
      },
    };
  }
  return descriptors;
}

/** Adds the lazy properties of `descriptors` to `target`, each worked out from `context` on first read. */
export function withLazyFields<T extends object, C>(target: T, context: C, descriptors: PropertyDescriptorMap): T {
  Object.defineProperty(target, STATE, { value: { context, values: new Map() } satisfies LazyState<C> });
  return Object.defineProperties(target, descriptors);
}
