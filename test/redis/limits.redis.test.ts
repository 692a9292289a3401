import assert from 'node:assert/strict';
import { RedisRateLimits } from '../../src/limits/redis-rate-limits.js';
import { consumeAll } from '../../src/limits/rate-limits.js';
import { describeRedis } from '../support/redis.js';
import { countingClient } from './counting-client.js';

// The Redis rate limits: the same semantics as the memory ones (test/unit/limits.memory.test.ts), shared by every
// process through Redis, one round trip per consume (a refusal included) and per refund.
describeRedis('rate limits (redis)', (ctx) => {
  let n = 0;
  const fresh = () => `${ctx.prefix}${(n += 1)}:`;

  it('grants up to the limit, then refuses with retryAfterSeconds within the window; another key has its own budget', async () => {
    const limits = new RedisRateLimits(ctx.client, 'otp', {}, { prefix: fresh() });
    for (let i = 0; i < 5; i += 1) assert.deepEqual(await limits.consume('sends_per_destination_per_minute', '+46701234567'), { ok: true });
    const refused = await limits.consume('sends_per_destination_per_minute', '+46701234567');
    assert.ok(!refused.ok && refused.retryAfterSeconds >= 1 && refused.retryAfterSeconds <= 60, JSON.stringify(refused));
    assert.deepEqual(await limits.consume('sends_per_destination_per_minute', '+46709999999'), { ok: true });
  });

  it('a refusal takes nothing, a refund gives a point back and never goes below nothing used', async () => {
    const limits = new RedisRateLimits(ctx.client, 'otp', { failures_per_subject_per_hour: 2, entries_per_transaction_per_minute: 3 }, { prefix: fresh() });
    await limits.consume('failures_per_subject_per_hour', 'alice');
    await limits.consume('failures_per_subject_per_hour', 'alice');
    assert.equal((await limits.consume('failures_per_subject_per_hour', 'alice')).ok, false);
    assert.equal((await limits.consume('failures_per_subject_per_hour', 'alice')).ok, false);
    assert.equal(await limits.remaining('failures_per_subject_per_hour', 'alice'), 0);
    await limits.refund('failures_per_subject_per_hour', 'alice');
    assert.equal(await limits.remaining('failures_per_subject_per_hour', 'alice'), 1);
    assert.equal((await limits.consume('failures_per_subject_per_hour', 'alice')).ok, true);

    await limits.consume('entries_per_transaction_per_minute', 'tx1');
    await limits.refund('entries_per_transaction_per_minute', 'tx1', 5);
    await limits.refund('entries_per_transaction_per_minute', 'never-used');
    assert.equal(await limits.remaining('entries_per_transaction_per_minute', 'tx1'), 3);
    for (let i = 0; i < 3; i += 1) assert.equal((await limits.consume('entries_per_transaction_per_minute', 'tx1')).ok, true);
    assert.equal((await limits.consume('entries_per_transaction_per_minute', 'tx1')).ok, false);
  });

  it('off limits always grant; the global budget is one counter; budgets are per authenticator and shared across connections', async () => {
    const prefix = fresh();
    const off = new RedisRateLimits(ctx.client, 'otp', { sends_per_ip_per_hour: null }, { prefix });
    assert.equal(off.isEnabled('sends_per_ip_per_hour'), false);
    assert.equal(off.isEnabled('sends_per_country_per_hour'), false);
    for (let i = 0; i < 30; i += 1) assert.equal((await off.consume('sends_per_ip_per_hour', '10.0.0.1')).ok, true);
    assert.equal(await off.remaining('sends_global_per_hour', 'x'), null);

    const global = new RedisRateLimits(ctx.client, 'otp', { sends_global_per_hour: 2 }, { prefix });
    await global.consume('sends_global_per_hour', 'a');
    await global.consume('sends_global_per_hour', 'b');
    assert.equal((await global.consume('sends_global_per_hour', 'c')).ok, false);

    const second = await ctx.newClient();
    const login = new RedisRateLimits(ctx.client, 'otp', { sends_per_ip_per_hour: 1 }, { prefix });
    const loginElsewhere = new RedisRateLimits(second, 'otp', { sends_per_ip_per_hour: 1 }, { prefix });
    const phone = new RedisRateLimits(ctx.client, 'phone', { sends_per_ip_per_hour: 1 }, { prefix });
    assert.equal((await login.consume('sends_per_ip_per_hour', '10.0.0.2')).ok, true);
    assert.equal((await phone.consume('sends_per_ip_per_hour', '10.0.0.2')).ok, true);
    assert.equal((await loginElsewhere.consume('sends_per_ip_per_hour', '10.0.0.2')).ok, false, 'another process sees the same budget');
  });

  it('consumeAll takes all or nothing', async () => {
    const limits = new RedisRateLimits(ctx.client, 'otp', { sends_per_destination_per_minute: 5, sends_per_ip_per_hour: 1 }, { prefix: fresh() });
    const send = [
      { limit: 'sends_per_destination_per_minute', key: '+46701234567' },
      { limit: 'sends_per_ip_per_hour', key: '10.0.0.1' },
    ] as const;
    assert.deepEqual(await consumeAll(limits, send), { ok: true });
    const refused = await consumeAll(limits, send);
    assert.ok(!refused.ok && refused.limit === 'sends_per_ip_per_hour' && refused.retryAfterSeconds >= 1);
    assert.equal(await limits.remaining('sends_per_destination_per_minute', '+46701234567'), 4);
  });

  it('keys sit under the prefix with the window as TTL; one round trip per consume, refusal and refund', async () => {
    const prefix = fresh();
    const counting = countingClient(ctx.client);
    const limits = new RedisRateLimits(counting.client, 'otp', { sends_per_ip_per_hour: 1, failures_per_subject_per_hour: 5 }, { prefix });
    counting.reset();
    await limits.consume('sends_per_ip_per_hour', '10.0.0.9');
    assert.deepEqual(counting.calls, ['eval']);
    counting.reset();
    assert.equal((await limits.consume('sends_per_ip_per_hour', '10.0.0.9')).ok, false);
    assert.deepEqual(counting.calls, ['eval'], 'a refusal is one round trip and stores nothing');
    counting.reset();
    await limits.refund('sends_per_ip_per_hour', '10.0.0.9');
    assert.deepEqual(counting.calls, ['eval']);
    const ttl = await ctx.client.pTTL(`${prefix}rl:otp:sends_per_ip_per_hour:10.0.0.9`);
    assert.ok(ttl > 3_590_000 && ttl <= 3_600_000, String(ttl));
    await limits.consume('failures_per_subject_per_hour', 'alice');
    assert.equal(await ctx.client.get(`${prefix}rl:otp:failures_per_subject_per_hour:{otp:alice}`), '1', 'the subject hash tag');
  });
});
