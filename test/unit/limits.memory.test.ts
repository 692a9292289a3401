import assert from 'node:assert/strict';
import { MemoryRateLimits } from '../../src/limits/memory-rate-limits.js';
import { DEFAULT_RATE_LIMITS, consumeAll, makeRateLimitConfig } from '../../src/limits/rate-limits.js';

describe('rate limits (memory)', () => {
  it('has the SPEC defaults in one constant, country and global off (and the API key limit, off for an authenticator)', () => {
    assert.deepEqual(DEFAULT_RATE_LIMITS, {
      sends_per_destination_per_minute: 5,
      sends_per_ip_per_hour: 20,
      sends_per_country_per_hour: null,
      sends_global_per_hour: null,
      entries_per_transaction_per_minute: 10,
      failures_per_subject_per_hour: 20,
      requests_per_key_per_minute: null,
    });
  });

  it('grants up to the limit, then refuses with retryAfterSeconds within the window', async () => {
    const limits = new MemoryRateLimits('otp');
    for (let i = 0; i < 5; i += 1) assert.deepEqual(await limits.consume('sends_per_destination_per_minute', '+46701234567'), { ok: true });
    const refused = await limits.consume('sends_per_destination_per_minute', '+46701234567');
    assert.equal(refused.ok, false);
    if (refused.ok) return;
    assert.ok(refused.retryAfterSeconds >= 1 && refused.retryAfterSeconds <= 60, String(refused.retryAfterSeconds));
    assert.deepEqual(await limits.consume('sends_per_destination_per_minute', '+46709999999'), { ok: true }, 'another key has its own budget');
  });

  it('a refusal takes nothing, and a refund gives a point back', async () => {
    const limits = new MemoryRateLimits('otp', { failures_per_subject_per_hour: 2 });
    await limits.consume('failures_per_subject_per_hour', 'alice');
    await limits.consume('failures_per_subject_per_hour', 'alice');
    assert.equal((await limits.consume('failures_per_subject_per_hour', 'alice')).ok, false);
    assert.equal((await limits.consume('failures_per_subject_per_hour', 'alice')).ok, false);
    assert.equal(await limits.remaining('failures_per_subject_per_hour', 'alice'), 0);
    await limits.refund('failures_per_subject_per_hour', 'alice');
    assert.equal(await limits.remaining('failures_per_subject_per_hour', 'alice'), 1);
    assert.equal((await limits.consume('failures_per_subject_per_hour', 'alice')).ok, true);
  });

  it('a refund never goes below nothing used', async () => {
    const limits = new MemoryRateLimits('otp', { entries_per_transaction_per_minute: 3 });
    await limits.consume('entries_per_transaction_per_minute', 'tx1');
    await limits.refund('entries_per_transaction_per_minute', 'tx1', 5);
    await limits.refund('entries_per_transaction_per_minute', 'never-used');
    assert.equal(await limits.remaining('entries_per_transaction_per_minute', 'tx1'), 3);
    for (let i = 0; i < 3; i += 1) assert.equal((await limits.consume('entries_per_transaction_per_minute', 'tx1')).ok, true);
    assert.equal((await limits.consume('entries_per_transaction_per_minute', 'tx1')).ok, false);
  });

  it('a limit with no value is off: it always grants and has no remaining', async () => {
    const limits = new MemoryRateLimits('otp', { sends_per_ip_per_hour: null });
    assert.equal(limits.isEnabled('sends_per_country_per_hour'), false);
    assert.equal(limits.isEnabled('sends_per_ip_per_hour'), false);
    for (let i = 0; i < 50; i += 1) assert.equal((await limits.consume('sends_per_ip_per_hour', '10.0.0.1')).ok, true);
    assert.equal(await limits.remaining('sends_global_per_hour', 'x'), null);
  });

  it('the global budget is one counter whatever the key', async () => {
    const limits = new MemoryRateLimits('otp', { sends_global_per_hour: 2 });
    await limits.consume('sends_global_per_hour', 'a');
    await limits.consume('sends_global_per_hour', 'b');
    assert.equal((await limits.consume('sends_global_per_hour', 'c')).ok, false);
  });

  it('keys are per authenticator: login MFA and phone verification never share a budget', async () => {
    const login = new MemoryRateLimits('otp', { sends_per_ip_per_hour: 1 });
    const phone = new MemoryRateLimits('phone', { sends_per_ip_per_hour: 1 });
    assert.equal((await login.consume('sends_per_ip_per_hour', '10.0.0.1')).ok, true);
    assert.equal((await phone.consume('sends_per_ip_per_hour', '10.0.0.1')).ok, true);
    assert.equal((await login.consume('sends_per_ip_per_hour', '10.0.0.1')).ok, false);
  });

  it('consumeAll takes all or nothing: a refusal refunds the budgets taken before it', async () => {
    const limits = new MemoryRateLimits('otp', { sends_per_destination_per_minute: 5, sends_per_ip_per_hour: 1 });
    const send = [
      { limit: 'sends_per_destination_per_minute', key: '+46701234567' },
      { limit: 'sends_per_ip_per_hour', key: '10.0.0.1' },
    ] as const;
    assert.deepEqual(await consumeAll(limits, send), { ok: true });
    const refused = await consumeAll(limits, send);
    assert.ok(!refused.ok && refused.limit === 'sends_per_ip_per_hour' && refused.retryAfterSeconds >= 1);
    assert.equal(await limits.remaining('sends_per_destination_per_minute', '+46701234567'), 4);
  });

  it('refuses a configured value that is not a positive integer', () => {
    assert.throws(() => makeRateLimitConfig({ sends_per_ip_per_hour: 0 }), /sends_per_ip_per_hour/);
    assert.throws(() => new MemoryRateLimits('otp', { sends_per_destination_per_minute: 2.5 }), /sends_per_destination_per_minute/);
  });
});
