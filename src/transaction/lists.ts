/**
 * The lists of a record, built the way a store that keeps records by the hundred thousand wants them. Records are
 * immutable, so every empty list can be one shared frozen array, and a list is made at its final length: V8 gives
 * `[...list, item]` and a non-empty `filter()` result a backing store of 17+ slots (~150 B for one item, measured
 * with %DebugPrint and heap snapshots, bench/README.md F3), while `concat` allocates exactly what it holds.
 * The arrays these return equal (deepStrictEqual) what spread and filter would have returned.
 */

/** The one empty list every record shares. */
export const NONE: readonly never[] = Object.freeze([]);

/** `[...list, item]` at its final length. */
export function appended<T>(list: readonly T[], item: T): readonly T[] {
  // Wrapped, so an item that is itself an array is added as one element, not spread into the list.
  return list.concat([item]);
}

/** `list.filter((x) => x.id !== id)` at its final length; the shared empty list when nothing is left. */
export function withoutId<T extends { readonly id: string }>(list: readonly T[], id: string): readonly T[] {
  let kept = 0;
  for (const x of list) if (x.id !== id) kept += 1;
  if (kept === 0) return NONE;
  // Records are immutable: a list that loses nothing can be shared as it is.
  if (kept === list.length) return list;
  const out = new Array<T>(kept);
  let i = 0;
  for (const x of list) if (x.id !== id) out[i++] = x;
  return out;
}
