import type { ConsumeResult, LimitName, RateLimits } from './rate-limits.js';

/**
 * Rate limits where some limits are counted by another instance: a Selector's choices keep their own send and
 * entry limits but count `failures_per_subject_per_hour` in one budget of the selector's (src/assembly/selector-choices.ts).
 */
export function splitLimits(own: RateLimits, shared: RateLimits, sharedNames: readonly LimitName[]): RateLimits {
  const pick = (limit: LimitName): RateLimits => (sharedNames.includes(limit) ? shared : own);
  return {
    consume: (limit, key, points): Promise<ConsumeResult> => pick(limit).consume(limit, key, points),
    refund: (limit, key, points) => pick(limit).refund(limit, key, points),
    remaining: (limit, key) => pick(limit).remaining(limit, key),
    isEnabled: (limit) => pick(limit).isEnabled(limit),
  };
}
