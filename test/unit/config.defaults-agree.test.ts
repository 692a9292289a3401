import assert from 'node:assert/strict';
import { configSchema } from '../../src/config/schema.js';
import { DEFAULT_RATE_LIMITS } from '../../src/limits/rate-limits.js';
import { DEFAULT_OTP_POLICY } from '../../src/transaction/policy.js';

/**
 * The schema is where defaults are written; the state machine and the limits keep constants so they can be
 * unit-tested without a config. This test keeps the two from drifting.
 */
describe('defaults: the state machine and the limits agree with config/config.schema.json', () => {
  const otp = (configSchema.$defs as Record<string, any>).otpConfig.properties;

  it('OTP policy defaults', () => {
    assert.deepEqual({ ...DEFAULT_OTP_POLICY }, {
      allowed_otp_retry: otp.allowed_otp_retry.default,
      max_codes: otp.max_codes.default,
      ttl_seconds: otp.code.properties.ttl_seconds.default,
      resend_cooldown_seconds: otp.resend_cooldown_seconds.default,
      resend_strategy: otp.resend_strategy.default,
      allow_change: otp.destination.properties.allow_change.default,
      max_changes: otp.destination.properties.max_changes.default,
      lockout_seconds: otp.lockout_seconds.default,
    });
  });

  it('rate limit defaults (unset in the schema means off)', () => {
    const limits = otp.rate_limits.properties as Record<string, { default?: number }>;
    // requests_per_key_per_minute is the verification API's own (a key's requests_per_minute), not an authenticator's.
    const { requests_per_key_per_minute: keyLimit, ...authenticatorLimits } = DEFAULT_RATE_LIMITS;
    assert.equal(keyLimit, null);
    assert.deepEqual(authenticatorLimits, Object.fromEntries(Object.entries(limits).map(([k, v]) => [k, v.default ?? null])));
  });
});
