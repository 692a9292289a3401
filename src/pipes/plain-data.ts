/**
 * Copies of flow data that carry no behaviour: only own enumerable data, no functions, no accessors
 * left live, and none of the keys that reach an object's prototype. Conditions and `${...}` expansion
 * hand such copies out so that neither can walk from config text into the runtime.
 */

/** Path segments and keys that lead to prototypes; refused everywhere config text names a property. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export function isForbiddenKey(key: string): boolean {
  return FORBIDDEN_KEYS.has(key);
}

/** Deeper data than this is not something a condition or a template should need; it is cut off. */
const MAX_DEPTH = 32;

export interface PlainCopyOptions {
  /** Objects without a prototype, so even `x.constructor` finds nothing (used for conditions). */
  nullPrototype?: boolean;
}

/**
 * Deep copy of JSON-like data. Functions, symbols and bigints are dropped, cycles and over-deep
 * branches become `undefined`, Dates become ISO strings, class instances are reduced to their own
 * enumerable properties.
 */
export function toPlainData(value: unknown, options: PlainCopyOptions = {}): unknown {
  return copy(value, options.nullPrototype === true, 0, new WeakSet<object>());
}

function copy(value: unknown, nullProto: boolean, depth: number, seen: WeakSet<object>): unknown {
  if (value === null) return null;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'undefined':
      return value;
    case 'object':
      break;
    default:
      return undefined;
  }
  const obj = value as object;
  if (depth >= MAX_DEPTH || seen.has(obj)) return undefined;
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? undefined : obj.toISOString();
  seen.add(obj);
  try {
    if (Array.isArray(obj)) return obj.map((item) => copy(item, nullProto, depth + 1, seen));
    const out: Record<string, unknown> = nullProto ? Object.create(null) : {};
    for (const key of Object.keys(obj)) {
      if (isForbiddenKey(key)) continue;
      const item = copy((obj as Record<string, unknown>)[key], nullProto, depth + 1, seen);
      if (item !== undefined) out[key] = item;
    }
    return out;
  } finally {
    // Shared (non-cyclic) references may legitimately appear twice; only the current branch counts.
    seen.delete(obj);
  }
}

/** Own property read that never consults a prototype. */
export function ownProperty(container: unknown, key: string): unknown {
  if (container === null || typeof container !== 'object') return undefined;
  if (isForbiddenKey(key)) return undefined;
  if (Array.isArray(container)) {
    if (!/^(0|[1-9][0-9]{0,8})$/.test(key)) return undefined;
    return container[Number(key)];
  }
  return Object.prototype.hasOwnProperty.call(container, key) ? (container as Record<string, unknown>)[key] : undefined;
}
