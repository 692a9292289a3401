/**
 * A time-bucketed index of when entries expire, so expiry costs work in proportion to what expires and nothing for
 * what does not: `dueKeys(now)` visits only the buckets that are due, never every entry held. A bucket is `widthMs`
 * wide; entries in a bucket wholly in the past are certainly due, entries in the current bucket are candidates the
 * caller checks against their exact time.
 *
 * An entry is the caller's own object and remembers its bucket in `expiryBucket` (the index alone writes it).
 * That costs one field, where a key -> bucket map costs a hash-table entry per key (~37 B at 100,000 keys) next
 * to the one the bucket's Set already costs.
 */
export interface ExpiryEntry {
  /** The bucket the entry is filed under; null when it is not filed. Written by the index only. */
  expiryBucket: number | null;
}

export class ExpiryIndex<E extends ExpiryEntry> {
  private readonly buckets = new Map<number, Set<E>>();
  private count = 0;
  /** The lowest bucket that may still hold entries; sweeps walk from here. */
  private next = Number.POSITIVE_INFINITY;

  constructor(private readonly widthMs: number) {
    if (!(widthMs > 0)) throw new RangeError('ExpiryIndex: widthMs must be > 0');
  }

  /** Files `entry` under the time `at`, moving it if it was filed before. */
  schedule(entry: E, at: number): void {
    const bucket = Math.floor(at / this.widthMs);
    const old = entry.expiryBucket;
    if (old === bucket) return;
    if (old !== null) this.removeFrom(old, entry);
    let set = this.buckets.get(bucket);
    if (set === undefined) {
      set = new Set();
      this.buckets.set(bucket, set);
    }
    set.add(entry);
    entry.expiryBucket = bucket;
    this.count += 1;
    if (bucket < this.next) this.next = bucket;
  }

  remove(entry: E): void {
    const old = entry.expiryBucket;
    if (old !== null) this.removeFrom(old, entry);
  }

  /**
   * Entries filed at or before the bucket of `now`. Walks bucket numbers from the lowest one held, or, when that
   * range is longer than the number of buckets (a long pause), the buckets themselves: either way bounded by
   * the buckets, not by the entries.
   */
  dueKeys(now: number): E[] {
    const last = Math.floor(now / this.widthMs);
    const due: E[] = [];
    if (this.next > last) return due;
    const take = (b: number): void => {
      const set = this.buckets.get(b);
      if (set !== undefined) for (const e of set) due.push(e);
    };
    if (last - this.next + 1 <= this.buckets.size) {
      for (let b = this.next; b <= last; b += 1) take(b);
    } else {
      for (const b of [...this.buckets.keys()]) if (b <= last) take(b);
    }
    // Buckets before `last` are emptied by the caller's removals; only the current one can keep entries.
    this.next = this.buckets.size === 0 ? Number.POSITIVE_INFINITY : last;
    return due;
  }

  get size(): number {
    return this.count;
  }

  private removeFrom(bucket: number, entry: E): void {
    const set = this.buckets.get(bucket);
    if (set?.delete(entry) === true) this.count -= 1;
    if (set !== undefined && set.size === 0) this.buckets.delete(bucket);
    entry.expiryBucket = null;
  }
}
