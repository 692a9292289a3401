import assert from 'node:assert/strict';
import { RedisTransactionStore } from '../../src/store/redis-store.js';
import { makeOtpPolicy } from '../../src/transaction/index.js';
import type { TxKey } from '../../src/store/types.js';
import { describeRedis } from '../support/redis.js';
import { countingClient, type CountingClient } from './counting-client.js';

// SPEC section 7: each atomic step is one Lua script (one round trip), and a `start` costs at most three round trips
// with the session load. Counted on the connection (every call the store makes on the client), not from INFO.
describeRedis('redis store: round trips', (ctx) => {
  const policy = makeOtpPolicy({ resend_cooldown_seconds: 0 });
  const budget = { entries_per_transaction_per_minute: 10, failures_per_subject_per_hour: 20 };
  const A = { address: '+46701234567' };
  let counting: CountingClient;
  let store: RedisTransactionStore;
  let n = 0;
  const now = () => Math.floor(Date.now() / 1000) * 1000 + 1000;

  beforeEach(() => {
    n += 1;
    counting = countingClient(ctx.client);
    store = new RedisTransactionStore(counting.client, { prefix: `${ctx.prefix}${n}:` });
  });

  async function measured<T>(step: () => Promise<T>): Promise<{ result: T; calls: string[] }> {
    counting.reset();
    const result = await step();
    return { result, calls: [...counting.calls] };
  }

  async function withCode(key: TxKey, t: number): Promise<void> {
    await store.open(key, {}, policy, t);
    const r = await store.reserveSend(key, policy, t, 'first');
    if (r.tx === null || !r.outcome.ok) throw new Error('no reservation');
    await store.commitSend(key, policy, r.outcome.reservation_id, { id: 'c1', hash: 'h1', destination: A, sent_at: t, expires_at: t + 600_000 });
  }

  it('reserveAttempt and recordOutcome: one EVALSHA each, the abort with its lockout included', async () => {
    const key = { sessionId: 's1', authenticatorId: 'otp', subject: 'alice' };
    const t = now();
    await withCode(key, t);
    for (let i = 0; i < 3; i += 1) {
      const r = await measured(() => store.reserveAttempt(key, policy, t));
      assert.deepEqual(r.calls, ['evalSha']);
      if (r.result.tx === null || !r.result.outcome.ok) throw new Error('not reserved');
      const id = r.result.outcome.reservation_id;
      const rec = await measured(() => store.recordOutcome(key, policy, id, {}, t));
      assert.deepEqual(rec.calls, ['evalSha']);
      if (i === 2) assert.equal(rec.result.outcome.code, 'MAX_ATTEMPTS');
    }
    assert.ok(await store.getLock('otp', 'alice', t), 'the lockout was set by that one script');
  });

  it('a whole start with the lockout and both entry limits folded in: reserveEntry + recordEntry = 2 round trips', async () => {
    const key = { sessionId: 's1', authenticatorId: 'otp', subject: 'bob' };
    const t = now();
    await withCode(key, t);
    const r = await measured(() => store.reserveEntry(key, policy, t, budget));
    assert.deepEqual(r.calls, ['evalSha']);
    if (r.result.tx === null || !r.result.outcome.ok) throw new Error('not reserved');
    const id = r.result.outcome.reservation_id;
    const rec = await measured(() => store.recordEntry(key, policy, id, { matchedCodeId: 'c1' }, t, budget));
    assert.deepEqual(rec.calls, ['evalSha']);
    assert.equal(rec.result.outcome.code, 'COMPLETED');
  });

  it('the send steps: one round trip each on the process that holds the record, two when it changed elsewhere', async () => {
    const key = { sessionId: 's1', authenticatorId: 'otp', subject: 'carol' };
    const t = now();
    assert.deepEqual((await measured(() => store.open(key, {}, policy, t))).calls, ['evalSha']);
    const r = await measured(() => store.reserveSend(key, policy, t, 'first'));
    assert.deepEqual(r.calls, ['evalSha']);
    if (r.result.tx === null || !r.result.outcome.ok) throw new Error('no reservation');
    const id = r.result.outcome.reservation_id;
    const c = await measured(() => store.commitSend(key, policy, id, { id: 'c1', hash: 'h', destination: A, sent_at: t, expires_at: t + 600_000 }));
    assert.deepEqual(c.calls, ['evalSha']);
    assert.deepEqual((await measured(() => store.open(key, {}, policy, t))).calls, ['evalSha'], 'a reload shows it');

    // Another process (its own store, nothing seen yet) resends: one conflict, then the write.
    const other = countingClient(ctx.client);
    const elsewhere = new RedisTransactionStore(other.client, { prefix: store.prefix });
    const resend = await elsewhere.reserveSend(key, policy, t + 1000, 'resend');
    assert.ok(resend.outcome.ok);
    assert.deepEqual(other.calls, ['evalSha', 'evalSha']);
    // And this one, whose copy is now stale, pays one conflict too; the answer is still right.
    const again = await measured(() => store.reserveSend(key, policy, t + 1000, 'resend'));
    assert.ok(again.result.outcome.ok);
    assert.deepEqual(again.calls, ['evalSha', 'evalSha']);
    assert.equal(again.result.tx?.send_reservations.length, 2);
  });

  it('get, getLock, unlock, ping: one round trip each', async () => {
    const key = { sessionId: 's1', authenticatorId: 'otp', subject: 'dave' };
    for (const step of [(): Promise<unknown> => store.get(key, now()), () => store.getLock('otp', 'dave', now()), () => store.unlock('otp', 'dave'), () => store.ping()]) {
      assert.deepEqual((await measured(step)).calls, ['evalSha']);
    }
  });
});
