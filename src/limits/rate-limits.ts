/**
 * The rate limits of SPEC section 2 behind one small interface, implemented in memory (memory-rate-limits.ts,
 * on rate-limiter-flexible's RateLimiterMemory) and on Redis (redis-rate-limits.ts), so the handlers never know
 * which they have. Every key is prefixed by the authenticator id, so two authenticators
 * (login MFA and phone verification, say) never share a budget.
 */

/** Fixed windows: each limit counts points per key within its window. */
export const LIMIT_WINDOWS = {
  sends_per_destination_per_minute: 60,
  sends_per_ip_per_hour: 3600,
  sends_per_country_per_hour: 3600,
  sends_global_per_hour: 3600,
  entries_per_transaction_per_minute: 60,
  failures_per_subject_per_hour: 3600,
  /** The verification API: requests of one API key (its `requests_per_minute`); off for an authenticator. */
  requests_per_key_per_minute: 60,
} as const;

export type LimitName = keyof typeof LIMIT_WINDOWS;

/** Points allowed per window; null turns a limit off. */
export type RateLimitConfig = { readonly [L in LimitName]: number | null };

export const DEFAULT_RATE_LIMITS: RateLimitConfig = Object.freeze({
  sends_per_destination_per_minute: 5,
  sends_per_ip_per_hour: 20,
  sends_per_country_per_hour: null,
  sends_global_per_hour: null,
  entries_per_transaction_per_minute: 10,
  failures_per_subject_per_hour: 20,
  requests_per_key_per_minute: null,
});

export const LIMIT_NAMES = Object.keys(LIMIT_WINDOWS) as LimitName[];

/** The key a limit counts under: the global budget is one counter whatever key the caller passes. */
export function limitKey(limit: LimitName, key: string): string {
  return limit === 'sends_global_per_hour' ? '*' : key;
}

export type ConsumeResult =
  | { readonly ok: true }
  /** Refused: nothing was taken, so there is nothing to refund. `retryAfterSeconds` is for Retry-After (>= 1). */
  | { readonly ok: false; readonly retryAfterSeconds: number };

/**
 * Keys are what the limit is about: the normalised destination, the client IP, the country code, the
 * transaction id, the subject; the global limit ignores its key. A limit that is off always grants.
 *
 * How the handlers use them (SPEC sections 3 and 7):
 * - before a send: destination, IP, country, global (`consumeAll`); refund them if the pre-pipe delivered nothing;
 * - with an entry's reservation: entries_per_transaction (never refunded) and failures_per_subject, refunded when
 *   the entry turns out right (a correct code is not a failure), so a used-up budget answers RATE_LIMITED.
 */
export interface RateLimits {
  consume(limit: LimitName, key: string, points?: number): Promise<ConsumeResult>;
  /** Gives back points a granted `consume` took (never below zero). */
  refund(limit: LimitName, key: string, points?: number): Promise<void>;
  /** Points left in the current window; null when the limit is off. */
  remaining(limit: LimitName, key: string): Promise<number | null>;
  isEnabled(limit: LimitName): boolean;
}

export interface LimitRequest {
  readonly limit: LimitName;
  readonly key: string;
  readonly points?: number;
}

export type ConsumeAllResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly limit: LimitName; readonly retryAfterSeconds: number };

/**
 * All of them or none: consumes in order and, at the first refusal, refunds what it took, so a refused send
 * does not spend the budgets checked before the one that refused.
 */
export async function consumeAll(limits: RateLimits, requests: readonly LimitRequest[]): Promise<ConsumeAllResult> {
  const taken: LimitRequest[] = [];
  for (const request of requests) {
    const result = await limits.consume(request.limit, request.key, request.points);
    if (!result.ok) {
      for (const t of taken) await limits.refund(t.limit, t.key, t.points);
      return { ok: false, limit: request.limit, retryAfterSeconds: result.retryAfterSeconds };
    }
    taken.push(request);
  }
  return { ok: true };
}

/** Defaults overlaid with the config's `rate_limits`; a value must be a positive integer or null (off). */
export function makeRateLimitConfig(overrides: Partial<Record<LimitName, number | null>> = {}): RateLimitConfig {
  const config: Record<LimitName, number | null> = { ...DEFAULT_RATE_LIMITS };
  for (const name of LIMIT_NAMES) {
    const v = overrides[name];
    if (v === undefined) continue;
    if (v !== null && (!Number.isInteger(v) || v < 1)) throw new RangeError(`rate_limits.${name} must be an integer >= 1 or null`);
    config[name] = v;
  }
  return Object.freeze(config);
}
