/**
 * A time-bucketed index of when keys expire, so expiry costs work in proportion to what expires and nothing for
 * what does not: `dueKeys(now)` visits only the buckets that are due, never every key held. A bucket is `widthMs`
 * wide; keys in a bucket wholly in the past are certainly due, keys in the current bucket are candidates the
 * caller checks against their exact time.
 */
export class ExpiryIndex {
  private readonly buckets = new Map<number, Set<string>>();
  private readonly bucketOfKey = new Map<string, number>();
  /** The lowest bucket that may still hold keys; sweeps walk from here. */
  private next = Number.POSITIVE_INFINITY;

  constructor(private readonly widthMs: number) {
    if (!(widthMs > 0)) throw new RangeError('ExpiryIndex: widthMs must be > 0');
  }

  /** Files `key` under the time `at`, moving it if it was filed before. */
  schedule(key: string, at: number): void {
    const bucket = Math.floor(at / this.widthMs);
    const old = this.bucketOfKey.get(key);
    if (old === bucket) return;
    if (old !== undefined) this.removeFrom(old, key);
    let set = this.buckets.get(bucket);
    if (set === undefined) {
      set = new Set();
      this.buckets.set(bucket, set);
    }
    set.add(key);
    this.bucketOfKey.set(key, bucket);
    if (bucket < this.next) this.next = bucket;
  }

  remove(key: string): void {
    const old = this.bucketOfKey.get(key);
    if (old !== undefined) this.removeFrom(old, key);
  }

  /**
   * Keys filed at or before the bucket of `now`. Walks bucket numbers from the lowest one held, or, when that
   * range is longer than the number of buckets (a long pause), the buckets themselves: either way bounded by
   * the buckets, not by the keys.
   */
  dueKeys(now: number): string[] {
    const last = Math.floor(now / this.widthMs);
    const due: string[] = [];
    if (this.next > last) return due;
    const take = (b: number): void => {
      const set = this.buckets.get(b);
      if (set !== undefined) for (const k of set) due.push(k);
    };
    if (last - this.next + 1 <= this.buckets.size) {
      for (let b = this.next; b <= last; b += 1) take(b);
    } else {
      for (const b of [...this.buckets.keys()]) if (b <= last) take(b);
    }
    // Buckets before `last` are emptied by the caller's removals; only the current one can keep keys.
    this.next = this.buckets.size === 0 ? Number.POSITIVE_INFINITY : last;
    return due;
  }

  get size(): number {
    return this.bucketOfKey.size;
  }

  private removeFrom(bucket: number, key: string): void {
    const set = this.buckets.get(bucket);
    set?.delete(key);
    if (set !== undefined && set.size === 0) this.buckets.delete(bucket);
    this.bucketOfKey.delete(key);
  }
}
