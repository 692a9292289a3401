import assert from 'node:assert/strict';
import {
  DEFAULT_OTP_POLICY,
  isLocked,
  lockRetryAfter,
  makeOtpPolicy,
  mergeLockouts,
  otpPolicyFromConfig,
  type Lockout,
} from '../../src/transaction/index.js';
import { T0 } from './transaction.fixtures.js';

const lock = (until: number): Lockout => ({ authenticator_id: 'otp', subject: 'alice', until });

describe('lockout values', () => {
  it('is locked while now < until, not at until', () => {
    assert.equal(isLocked(lock(T0), T0 - 1), true);
    assert.equal(isLocked(lock(T0), T0), false);
    assert.equal(isLocked(null, T0), false);
    assert.equal(lockRetryAfter(lock(T0 + 1), T0), 1);
    assert.equal(lockRetryAfter(lock(T0), T0), 0);
  });

  it('a second lockout never shortens the first', () => {
    assert.equal(mergeLockouts(lock(T0 + 100), lock(T0 + 50)).until, T0 + 100);
    assert.equal(mergeLockouts(lock(T0 + 100), lock(T0 + 150)).until, T0 + 150);
  });
});

describe('OTP policy', () => {
  it('has the SPEC defaults in one constant', () => {
    assert.deepEqual(DEFAULT_OTP_POLICY, {
      allowed_otp_retry: 2,
      max_codes: 3,
      ttl_seconds: 600,
      resend_cooldown_seconds: 30,
      resend_strategy: 'keep_previous',
      allow_change: false,
      max_changes: 2,
      lockout_seconds: 600,
    });
    assert.ok(Object.isFrozen(DEFAULT_OTP_POLICY));
  });

  it('maps an authenticator config block, defaulting what it leaves out', () => {
    const p = otpPolicyFromConfig({ allowed_otp_retry: 4, code: { ttl_seconds: 120 }, destination: { allow_change: true } });
    assert.equal(p.allowed_otp_retry, 4);
    assert.equal(p.ttl_seconds, 120);
    assert.equal(p.allow_change, true);
    assert.equal(p.max_changes, 2);
  });

  it('refuses values the state machine cannot work with', () => {
    assert.throws(() => makeOtpPolicy({ max_codes: 0 }), /max_codes/);
    assert.throws(() => makeOtpPolicy({ allowed_otp_retry: -1 }), /allowed_otp_retry/);
    assert.throws(() => makeOtpPolicy({ ttl_seconds: 1.5 }), /ttl_seconds/);
  });
});
