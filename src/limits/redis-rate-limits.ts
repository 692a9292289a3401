/**
 * RateLimits in Redis, shared by every process (SPEC section 7): one rate-limiter-flexible RateLimiterRedis per
 * limit that is on, on the node-redis 5 connection the transaction store uses (`useRedisPackage: true`). The same
 * semantics as MemoryRateLimits: fixed windows, a refusal takes nothing, a refund never goes below zero, the global
 * budget is one counter, every key carries the authenticator id.
 *
 * Keys: `${prefix}rl:${authenticatorId}:${limit}:${key}` (rate-limiter-flexible appends `:${key}`), an integer
 * with the window as its TTL. failures_per_subject_per_hour keys on the subject's hash tag
 * `{authenticator:subject}` (the transaction's Cluster slot), so RedisTransactionStore.reserveEntry can count it
 * in the same script as the attempt.
 *
 * One round trip per consume, refusal included, and per refund: the increment script below checks before it adds
 * (the library's own adds first, so a refusal would need a second trip to give the points back) and clamps a
 * refund at zero.
 */
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { StoreUnavailableError } from '../errors.js';
import { failAfter, storeErrorFromRedis } from '../redis/failures.js';
import type { RedisScriptClient } from '../redis/connection.js';
import { limitKeyPrefix, subjectTag } from '../redis/keys.js';
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

/**
 * rate-limiter-flexible's increment with the same reply ({consumed, pttl}), except that a consume that would pass
 * the limit stores nothing (the reply still says consumed > points, so the library refuses), and a reward stops at 0.
 * KEYS[1] key; ARGV[1] points (negative: a reward), ARGV[2] window seconds, ARGV[3] points allowed.
 */
const INCR_UNLESS_OVER = String.raw`
redis.call('set', KEYS[1], 0, 'EX', ARGV[2], 'NX')
local cur = tonumber(redis.call('get', KEYS[1]))
local pts = tonumber(ARGV[1])
local consumed
if pts > 0 and cur + pts > tonumber(ARGV[3]) then
  consumed = cur + pts
else
  if pts < 0 and cur + pts < 0 then pts = 0 - cur end
  consumed = redis.call('incrby', KEYS[1], pts)
end
local ttl = redis.call('pttl', KEYS[1])
if ttl == -1 then
  redis.call('expire', KEYS[1], ARGV[2])
  ttl = 1000 * ARGV[2]
end
return {consumed, ttl}
`;

export interface RedisRateLimitsOptions {
  /** The store's key prefix (default `otp:`), so one deployment's keys sit together. */
  prefix?: string;
  /** A call with no answer after this long fails with StoreUnavailableError; default 2000, 0 = wait for ever. */
  commandTimeoutMs?: number;
}

export class RedisRateLimits implements RateLimits {
  private readonly limiters = new Map<LimitName, RateLimiterRedis>();
  private readonly timeoutMs: number;

  constructor(
    private readonly client: RedisScriptClient,
    readonly authenticatorId: string,
    config: Partial<Record<LimitName, number | null>> | RateLimitConfig = {},
    options: RedisRateLimitsOptions = {},
  ) {
    const resolved = makeRateLimitConfig(config);
    const prefix = options.prefix ?? 'otp:';
    this.timeoutMs = options.commandTimeoutMs ?? 2000;
    for (const name of LIMIT_NAMES) {
      const points = resolved[name];
      if (points === null) continue;
      this.limiters.set(
        name,
        new RateLimiterRedis({
          storeClient: client,
          useRedisPackage: true,
          keyPrefix: limitKeyPrefix(prefix, authenticatorId, name),
          points,
          duration: LIMIT_WINDOWS[name],
          customIncrTtlLuaScript: INCR_UNLESS_OVER,
        }),
      );
    }
  }

  isEnabled(limit: LimitName): boolean {
    return this.limiters.has(limit);
  }

  async consume(limit: LimitName, key: string, points = 1): Promise<ConsumeResult> {
    const limiter = this.limiters.get(limit);
    if (limiter === undefined) return { ok: true };
    try {
      await this.guard(() => limiter.consume(this.keyOf(limit, key), points));
      return { ok: true };
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(refusal.msBeforeNext / 1000)) };
    }
  }

  async refund(limit: LimitName, key: string, points = 1): Promise<void> {
    const limiter = this.limiters.get(limit);
    if (limiter === undefined) return;
    await this.guard(() => limiter.reward(this.keyOf(limit, key), points));
  }

  async remaining(limit: LimitName, key: string): Promise<number | null> {
    const limiter = this.limiters.get(limit);
    if (limiter === undefined) return null;
    const current = await this.guard(() => limiter.get(this.keyOf(limit, key)));
    return current === null ? limiter.points : current.remainingPoints;
  }

  private keyOf(limit: LimitName, key: string): string {
    const k = limitKey(limit, key);
    return limit === 'failures_per_subject_per_hour' ? subjectTag(this.authenticatorId, k) : k;
  }

  /** A refusal (RateLimiterRes) passes through; a lost connection becomes StoreUnavailableError: fail closed. */
  private async guard<T>(call: () => Promise<T>): Promise<T> {
    if (!(this.client.isReady ?? this.client.isOpen)) throw new StoreUnavailableError('Redis is not connected');
    try {
      return await failAfter(call(), this.timeoutMs);
    } catch (error) {
      if (error instanceof RateLimiterRes) throw error;
      throw storeErrorFromRedis(error);
    }
  }
}
