/**
 * The OTP rules an authenticator's config sets (SPEC section 2), in the shape the state machine reads.
 * The config loader maps the JSON block onto this; every default lives in `DEFAULT_OTP_POLICY` alone.
 */

export type ResendStrategy = 'keep_previous' | 'new';

export interface OtpPolicy {
  /** Wrong entries allowed after the first: the (allowed_otp_retry + 1)-th wrong entry aborts. */
  readonly allowed_otp_retry: number;
  /** Codes one transaction may send, the first included (first, resend and change sends all count). */
  readonly max_codes: number;
  /** Lifetime of one code; also how long a finished transaction is kept (SPEC section 3). */
  readonly ttl_seconds: number;
  /** Least time between two sends of one transaction; a change of destination is not held by it. */
  readonly resend_cooldown_seconds: number;
  readonly resend_strategy: ResendStrategy;
  readonly allow_change: boolean;
  /** Distinct destinations allowed besides the initial one (A -> B -> A is one). */
  readonly max_changes: number;
  /** How long an abort locks the subject out of this authenticator; 0 sets no lockout. */
  readonly lockout_seconds: number;
}

export const DEFAULT_OTP_POLICY: OtpPolicy = Object.freeze({
  allowed_otp_retry: 2,
  max_codes: 3,
  ttl_seconds: 600,
  resend_cooldown_seconds: 30,
  resend_strategy: 'keep_previous',
  allow_change: false,
  max_changes: 2,
  lockout_seconds: 600,
});

/**
 * The defaults overlaid with what the config sets. Ranges are the schema's job; this only refuses values the
 * state machine cannot work with, so a programming error does not turn into a silently open policy.
 */
export function makeOtpPolicy(overrides: Partial<OtpPolicy> = {}): OtpPolicy {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const policy: OtpPolicy = { ...DEFAULT_OTP_POLICY, ...defined };
  const counts: (keyof OtpPolicy)[] = ['allowed_otp_retry', 'max_changes', 'resend_cooldown_seconds', 'lockout_seconds'];
  for (const name of counts) {
    const v = policy[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new RangeError(`OTP policy: ${name} must be an integer >= 0`);
  }
  for (const name of ['max_codes', 'ttl_seconds'] as const) {
    if (!Number.isInteger(policy[name]) || policy[name] < 1) throw new RangeError(`OTP policy: ${name} must be an integer >= 1`);
  }
  if (policy.resend_strategy !== 'keep_previous' && policy.resend_strategy !== 'new') {
    throw new RangeError('OTP policy: resend_strategy must be "keep_previous" or "new"');
  }
  return Object.freeze(policy);
}

/** Entries a transaction may have evaluated in all: the wrong ones allowed plus the one that aborts. */
export function maxEntries(policy: OtpPolicy): number {
  return policy.allowed_otp_retry + 1;
}

/** The parts of an OTP authenticator's config block (SPEC section 2) the policy comes from; absent keys default. */
export interface OtpPolicyConfig {
  allowed_otp_retry?: number;
  max_codes?: number;
  code?: { ttl_seconds?: number };
  resend_cooldown_seconds?: number;
  resend_strategy?: ResendStrategy;
  lockout_seconds?: number;
  destination?: { allow_change?: boolean; max_changes?: number };
}

export function otpPolicyFromConfig(config: OtpPolicyConfig): OtpPolicy {
  return makeOtpPolicy({
    allowed_otp_retry: config.allowed_otp_retry,
    max_codes: config.max_codes,
    ttl_seconds: config.code?.ttl_seconds,
    resend_cooldown_seconds: config.resend_cooldown_seconds,
    resend_strategy: config.resend_strategy,
    lockout_seconds: config.lockout_seconds,
    allow_change: config.destination?.allow_change,
    max_changes: config.destination?.max_changes,
  });
}
