/**
 * RateLimits in process memory, one RateLimiterMemory per limit that is on. rate-limiter-flexible keeps its
 * own clock and expires keys with unref'd timers, so nothing here needs sweeping.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import {
  LIMIT_NAMES,
  LIMIT_WINDOWS,
  limitKey,
  makeRateLimitConfig,
  type ConsumeResult,
  type LimitName,
  type RateLimitConfig,
  type RateLimits,
} from './rate-limits.js';

export class MemoryRateLimits implements RateLimits {
  private readonly limiters = new Map<LimitName, RateLimiterMemory>();

  constructor(
    readonly authenticatorId: string,
    config: Partial<Record<LimitName, number | null>> | RateLimitConfig = {},
  ) {
    const resolved = makeRateLimitConfig(config);
    for (const name of LIMIT_NAMES) {
      const points = resolved[name];
      if (points === null) continue;
      this.limiters.set(
        name,
        new RateLimiterMemory({ keyPrefix: `otp:${authenticatorId}:${name}`, points, duration: LIMIT_WINDOWS[name] }),
      );
    }
  }

  isEnabled(limit: LimitName): boolean {
    return this.limiters.has(limit);
  }

  async consume(limit: LimitName, key: string, points = 1): Promise<ConsumeResult> {
    const limiter = this.limiters.get(limit);
    if (limiter === undefined) return { ok: true };
    const k = limitKey(limit, key);
    try {
      await limiter.consume(k, points);
      return { ok: true };
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      // The library counts refused points too; give them back so a refusal takes nothing and callers refund
      // only what was granted.
      await limiter.reward(k, points);
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(refusal.msBeforeNext / 1000)) };
    }
  }

  async refund(limit: LimitName, key: string, points = 1): Promise<void> {
    const limiter = this.limiters.get(limit);
    if (limiter === undefined) return;
    const k = limitKey(limit, key);
    const current = await limiter.get(k);
    if (current === null) return;
    await limiter.reward(k, Math.min(points, current.consumedPoints));
  }

  async remaining(limit: LimitName, key: string): Promise<number | null> {
    const limiter = this.limiters.get(limit);
    if (limiter === undefined) return null;
    const current = await limiter.get(limitKey(limit, key));
    return current === null ? limiter.points : current.remainingPoints;
  }
}
