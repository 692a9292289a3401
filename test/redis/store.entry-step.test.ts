import assert from 'node:assert/strict';
import { RedisRateLimits } from '../../src/limits/redis-rate-limits.js';
import { RedisTransactionStore } from '../../src/store/redis-store.js';
import { failuresKey, lockKey, txKey } from '../../src/redis/keys.js';
import { makeOtpPolicy } from '../../src/transaction/index.js';
import type { TxKey } from '../../src/store/types.js';
import { describeRedis } from '../support/redis.js';

/** The slot a key hashes to in Redis Cluster is decided by this part of it (the rule of the Cluster spec). */
function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return key;
  return key.slice(open + 1, close);
}

// reserveEntry / recordEntry: a start's lockout check and its two entry limits in the attempt's own scripts, so a
// start costs the session plus two round trips. The semantics are the handler's (src/otp/otp-entry.ts) in order.
describeRedis('redis store: the entry step with lockout and limits folded in', (ctx) => {
  const policy = makeOtpPolicy({});
  const A = { address: '+46701234567' };
  let n = 0;
  const now = () => Math.floor(Date.now() / 1000) * 1000 + 1000;

  async function setup(budget = { entries_per_transaction_per_minute: 10, failures_per_subject_per_hour: 20 }) {
    n += 1;
    const prefix = `${ctx.prefix}${n}:`;
    const store = new RedisTransactionStore(ctx.client, { prefix });
    const limits = new RedisRateLimits(ctx.client, 'otp', budget, { prefix });
    const open = async (key: TxKey, t: number, codeId = 'c1') => {
      await store.open(key, {}, policy, t);
      const r = await store.reserveSend(key, policy, t, 'first');
      if (r.tx === null || !r.outcome.ok) throw new Error('no reservation');
      await store.commitSend(key, policy, r.outcome.reservation_id, { id: codeId, hash: 'h', destination: A, sent_at: t, expires_at: t + 600_000 });
    };
    type Answer = { ok: boolean; code?: string; [field: string]: unknown };
    const enter = async (key: TxKey, t: number, matchedCodeId?: string): Promise<Answer> => {
      const r = await store.reserveEntry(key, policy, t, budget);
      if (r.tx === null || !r.outcome.ok) return r.outcome as Answer;
      return (await store.recordEntry(key, policy, r.outcome.reservation_id, matchedCodeId ? { matchedCodeId } : {}, t, budget)).outcome as Answer;
    };
    return { prefix, store, limits, open, enter, budget };
  }

  it('a transaction, its lockout and its subject\'s failure counter share one Cluster hash tag', () => {
    const keys = [txKey('p:', 'otp', 'a{b}:c', 's1'), lockKey('p:', 'otp', 'a{b}:c'), failuresKey('p:', 'otp', 'a{b}:c')];
    assert.deepEqual(new Set(keys.map(hashTagOf)), new Set(['otp:a%7Bb%7D%3Ac']));
    assert.notEqual(hashTagOf(txKey('p:', 'otp', 'bob', 's1')), hashTagOf(txKey('p:', 'otp', 'alice', 's1')));
  });

  it('wrong entries take a failure point each; the right one gives its point back', async () => {
    const { store, limits, open, enter } = await setup();
    const key = { sessionId: 's1', authenticatorId: 'otp', subject: 'alice' };
    const t = now();
    await open(key, t);
    assert.equal((await enter(key, t)).code, 'INVALID_OTP');
    assert.equal(await limits.remaining('failures_per_subject_per_hour', 'alice'), 19, 'the same counter RedisRateLimits reads');
    assert.equal((await enter(key, t, 'c1')).code, 'COMPLETED');
    assert.equal(await limits.remaining('failures_per_subject_per_hour', 'alice'), 19);
    assert.deepEqual(await store.reserveEntry(key, policy, t, { entries_per_transaction_per_minute: 10, failures_per_subject_per_hour: 20 })
      .then((r) => r.outcome), { ok: false, code: 'NO_PENDING_CODE' });
    assert.equal(await limits.remaining('failures_per_subject_per_hour', 'alice'), 19, 'an unevaluated entry takes no failure point');
  });

  it('LOCKED first (after ABORTED), then the entry limit, then the failure budget, each refusing with nothing taken', async () => {
    const { store, limits, open, enter, budget } = await setup({ entries_per_transaction_per_minute: 2, failures_per_subject_per_hour: 3 });
    const t = now();
    const s1 = { sessionId: 's1', authenticatorId: 'otp', subject: 'alice' };
    await open(s1, t);
    assert.equal((await enter(s1, t)).code, 'INVALID_OTP');
    assert.equal((await enter(s1, t)).code, 'INVALID_OTP');
    assert.deepEqual(await enter(s1, t), { ok: false, code: 'RATE_LIMITED', limit: 'entries_per_transaction_per_minute', retry_after: 60 });
    assert.deepEqual(await enter(s1, t + 59_500), { ok: false, code: 'RATE_LIMITED', limit: 'entries_per_transaction_per_minute', retry_after: 1 });
    assert.equal(await limits.remaining('failures_per_subject_per_hour', 'alice'), 1);

    const s2 = { sessionId: 's2', authenticatorId: 'otp', subject: 'alice' };
    await open(s2, t);
    assert.equal((await enter(s2, t)).code, 'INVALID_OTP');
    const refused = await enter(s2, t);
    assert.ok(refused.code === 'RATE_LIMITED' && refused.limit === 'failures_per_subject_per_hour' && Number(refused.retry_after) > 3500, JSON.stringify(refused));

    // The minute passes: s1's third wrong entry aborts and locks, once a failure point is back.
    await limits.refund('failures_per_subject_per_hour', 'alice');
    const abort = await enter(s1, t + 60_000);
    assert.ok(abort.code === 'MAX_ATTEMPTS' && abort.evaluated === true, JSON.stringify(abort));
    assert.deepEqual(await enter(s1, t + 61_000), { ok: false, code: 'MAX_ATTEMPTS', evaluated: false, aborted: true, attempts_left: 0 });
    const locked = (await store.reserveEntry(s2, policy, t + 61_000, budget)).outcome as { code?: string; retry_after?: number };
    assert.equal(locked.code, 'LOCKED');
    assert.equal(locked.retry_after, 599);
  });
});
