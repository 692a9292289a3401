import assert from 'node:assert/strict';
import { MemoryTransactionStore } from '../../src/store/memory-store.js';
import { RedisTransactionStore } from '../../src/store/redis-store.js';
import { lockKey, sharedBudgetKey, txKey } from '../../src/redis/keys.js';
import { attemptsLeft, makeOtpPolicy, STALE_RESERVATION_MS } from '../../src/transaction/index.js';
import type { TransactionStore, TxKey } from '../../src/store/types.js';
import { describeRedis } from '../support/redis.js';

/**
 * The attempt budget a Selector's choices share (issue 21), at the store: the wrong entries of one login count
 * across the choices, the entry that uses the last attempt aborts whichever choice it was made in, the lockout is
 * the selector's, and no number of parallel entries spread over the choices gets more evaluated than the budget.
 * The same scenarios run against the memory store and against real Redis (the Lua scripts).
 */
const policy = makeOtpPolicy({ allowed_otp_retry: 2, lockout_seconds: 600 });
const MAX = 3;

function keys(session: string): { sms: TxKey; email: TxKey } {
  return {
    sms: { sessionId: session, authenticatorId: 'sms', subject: 'alice', group: 'method' },
    email: { sessionId: session, authenticatorId: 'email', subject: 'alice', group: 'method' },
  };
}

/** An app-style transaction (nothing sent): its entries are evaluated at once, as a TOTP choice's are. */
async function openChoice(store: TransactionStore, key: TxKey, now: number) {
  const opened = await store.open(key, { sends_codes: false }, policy, now);
  assert.ok(opened.ok, JSON.stringify(opened));
  return opened.tx;
}

/** One wrong entry through the two atomic steps; answers the reservation's and the record's outcome codes. */
async function wrongEntry(store: TransactionStore, key: TxKey, now: number, pause = 0): Promise<{ reserved: string; recorded?: string; aborted?: boolean }> {
  const r = await store.reserveAttempt(key, policy, now);
  if (!r.tx || !r.outcome.ok) return { reserved: r.tx && !r.outcome.ok ? r.outcome.code : 'NOT_FOUND' };
  if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
  const o = await store.recordOutcome(key, policy, r.outcome.reservation_id, { accepted: false }, now);
  return { reserved: 'OK', recorded: o.outcome.code, aborted: o.tx !== null && o.tx.phase === 'ABORTED' };
}

function sharedBudgetScenarios(title: string, make: () => Promise<TransactionStore>, cleanup: () => Promise<void> = async () => {}) {
  describe(title, () => {
    let store: TransactionStore;
    let n = 0;
    const session = () => `s${process.pid}-${Date.now()}-${(n += 1)}`;
    beforeEach(async () => { store = await make(); });
    afterEach(async () => { await store.close(); await cleanup(); });

    it('one wrong entry in one choice: the other opens with one attempt fewer, and its entry is the second', async () => {
      const now = Date.now();
      const k = keys(session());
      await openChoice(store, k.sms, now);
      assert.deepEqual(await wrongEntry(store, k.sms, now), { reserved: 'OK', recorded: 'INVALID_OTP', aborted: false });
      const email = await openChoice(store, k.email, now);
      assert.equal(email.group_wrong_entries, 1);
      assert.equal(email.wrong_entries, 0, 'its own count starts at none');
      assert.equal(attemptsLeft(email, policy), 2);
      const r = await store.reserveAttempt(k.email, policy, now);
      assert.ok(r.tx && r.outcome.ok);
      const o = await store.recordOutcome(k.email, policy, r.outcome.reservation_id, { accepted: false }, now);
      assert.equal(o.outcome.code, 'INVALID_OTP');
      assert.equal(o.outcome.code === 'INVALID_OTP' && o.outcome.attempt, 2);
      assert.equal(o.outcome.code === 'INVALID_OTP' && o.outcome.attempts_left, 1);
    });

    it('the entry that uses the last attempt aborts whichever choice it was made in; the selector is locked, the other choice refuses', async () => {
      const now = Date.now();
      const k = keys(session());
      await openChoice(store, k.sms, now);
      await openChoice(store, k.email, now);
      await wrongEntry(store, k.sms, now);
      await wrongEntry(store, k.sms, now);
      const r = await store.reserveAttempt(k.email, policy, now);
      assert.ok(r.tx && r.outcome.ok);
      const o = await store.recordOutcome(k.email, policy, r.outcome.reservation_id, { accepted: false }, now);
      assert.equal(o.outcome.code, 'MAX_ATTEMPTS');
      assert.ok(o.outcome.code === 'MAX_ATTEMPTS' && o.outcome.evaluated);
      assert.equal(o.tx?.phase, 'ABORTED');
      const lockout = o.outcome.code === 'MAX_ATTEMPTS' && o.outcome.evaluated ? o.outcome.lockout : null;
      assert.deepEqual(lockout, { authenticator_id: 'method', subject: 'alice', until: now + 600_000 }, 'the lockout is the selector\'s');
      assert.deepEqual(await store.getLock('method', 'alice', now), lockout);
      assert.equal(await store.getLock('sms', 'alice', now), null, 'nothing is kept under the choice');
      const sms = await store.reserveAttempt(k.sms, policy, now);
      assert.ok(sms.tx && !sms.outcome.ok && sms.outcome.code === 'MAX_ATTEMPTS' && sms.outcome.aborted, JSON.stringify(sms.outcome));
      const again = await store.open({ ...k.sms, sessionId: session() }, { sends_codes: false }, policy, now);
      assert.equal(again.ok, false, 'another session of the subject meets the selector\'s lockout');
      assert.equal(!again.ok && again.code, 'LOCKED');
    });

    it('a choice cancelled and opened again (a new record) keeps the login\'s wrong entries', async () => {
      const now = Date.now();
      const k = keys(session());
      await openChoice(store, k.sms, now);
      await wrongEntry(store, k.sms, now);
      await wrongEntry(store, k.sms, now);
      const cancelled = await store.cancel(k.sms, policy, now);
      assert.equal(cancelled.tx?.phase, 'CANCELLED');
      const fresh = await openChoice(store, k.sms, now + 1);
      assert.notEqual(fresh.id, cancelled.tx?.id, 'a new transaction');
      assert.equal(attemptsLeft(fresh, policy), 1);
      const last = await wrongEntry(store, k.sms, now + 1);
      assert.deepEqual(last, { reserved: 'OK', recorded: 'MAX_ATTEMPTS', aborted: true });
    });

    it('200 parallel wrong entries spread over two choices: exactly 3 are evaluated, the rest refused unevaluated', async function () {
      this.timeout(20_000);
      const now = Date.now();
      const k = keys(session());
      await openChoice(store, k.sms, now);
      await openChoice(store, k.email, now);
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => wrongEntry(store, i % 2 === 0 ? k.sms : k.email, now, 2)));
      const evaluated = results.filter((r) => r.reserved === 'OK');
      assert.equal(evaluated.length, MAX, JSON.stringify(evaluated));
      assert.deepEqual(evaluated.map((r) => r.recorded).sort(), ['INVALID_OTP', 'INVALID_OTP', 'MAX_ATTEMPTS']);
      for (const r of results.filter((x) => x.reserved !== 'OK')) assert.equal(r.reserved, 'MAX_ATTEMPTS');
      const smsAfter = await store.get(k.sms, now);
      const emailAfter = await store.get(k.email, now);
      assert.equal((smsAfter?.wrong_entries ?? 0) + (emailAfter?.wrong_entries ?? 0), MAX, 'the wrong entries of both records add up to the budget');
      assert.equal([smsAfter?.phase, emailAfter?.phase].filter((p) => p === 'ABORTED').length, 1, 'one choice aborted, by the last entry');
      for (const k2 of [k.sms, k.email]) {
        const later = await store.reserveAttempt(k2, policy, now);
        assert.ok(later.tx && !later.outcome.ok && later.outcome.code === 'MAX_ATTEMPTS' && later.outcome.aborted, 'nothing more is ever evaluated');
      }
    });

    it('once the selector\'s lockout is lifted (or ends), a new transaction of the login gets its attempts again', async () => {
      const now = Date.now();
      const k = keys(session());
      await openChoice(store, k.sms, now);
      for (let i = 0; i < MAX; i += 1) await wrongEntry(store, k.sms, now);
      const locked = await store.open(k.email, { sends_codes: false }, policy, now);
      assert.equal(!locked.ok && locked.code, 'LOCKED');
      assert.ok(await store.unlock('method', 'alice'));
      const fresh = await openChoice(store, k.email, now + 1);
      assert.equal(attemptsLeft(fresh, policy), MAX);
      assert.deepEqual(await wrongEntry(store, k.email, now + 1), { reserved: 'OK', recorded: 'INVALID_OTP', aborted: false });
      const r = await store.reserveAttempt(k.email, policy, now + 1);
      assert.ok(r.tx && r.outcome.ok, 'the spent budget started again');
    });

    it('a reservation never recorded (its process died) stops holding an attempt after STALE_RESERVATION_MS', async () => {
      const now = Date.now();
      const k = keys(session());
      await openChoice(store, k.sms, now);
      const lost = await store.reserveAttempt(k.sms, policy, now);
      assert.ok(lost.tx && lost.outcome.ok);
      await store.cancel(k.sms, policy, now);
      await openChoice(store, k.email, now + 1);
      await wrongEntry(store, k.email, now + 1);
      await wrongEntry(store, k.email, now + 2);
      const held = await store.reserveAttempt(k.email, policy, now + 3);
      assert.ok(held.tx && !held.outcome.ok && held.outcome.code === 'MAX_ATTEMPTS' && !held.outcome.aborted, 'while it may still come back, it holds the last attempt');
      const later = now + STALE_RESERVATION_MS + 1000;
      assert.deepEqual(await wrongEntry(store, k.email, later), { reserved: 'OK', recorded: 'MAX_ATTEMPTS', aborted: true }, 'then the third entry is evaluated');
    });

    it('switches are counted atomically per login: of 20 parallel claims with max 3, exactly 3 pass', async () => {
      const now = Date.now();
      const k = keys(session());
      const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => store.claimSwitch(i % 2 === 0 ? k.sms : k.email, 3, now)));
      assert.equal(claims.filter(Boolean).length, 3);
      assert.equal(await store.claimSwitch(k.sms, 3, now), false);
      assert.equal(await store.claimSwitch(keys(session()).sms, 3, now), true, 'another login counts its own');
    });

    it('a right entry gives its attempt back to the budget; another login (session) has a budget of its own', async () => {
      const now = Date.now();
      const k = keys(session());
      await openChoice(store, k.sms, now);
      await wrongEntry(store, k.sms, now);
      const r = await store.reserveAttempt(k.sms, policy, now);
      assert.ok(r.tx && r.outcome.ok);
      const ok = await store.recordOutcome(k.sms, policy, r.outcome.reservation_id, { accepted: true }, now);
      assert.equal(ok.outcome.code, 'COMPLETED');
      assert.equal(ok.outcome.code === 'COMPLETED' && ok.outcome.attempts_left, 2);
      const email = await openChoice(store, k.email, now);
      assert.equal(attemptsLeft(email, policy), 2, 'the right entry did not count');
      const other = await openChoice(store, keys(session()).email, now);
      assert.equal(attemptsLeft(other, policy), 3);
    });
  });
}

sharedBudgetScenarios('memory store: the attempt budget a selector\'s choices share', async () => new MemoryTransactionStore({ sweepIntervalMs: 0 }));

describeRedis('redis store: the attempt budget a selector\'s choices share', (ctx) => {
  let n = 0;
  let prefix = '';
  sharedBudgetScenarios('the same scenarios on Redis', async () => {
    n += 1;
    prefix = `${ctx.prefix}${n}:`;
    return new RedisTransactionStore(ctx.client, { prefix });
  });

  it('a choice\'s transaction, its shared budget and the selector\'s lockout share one Cluster hash tag', () => {
    const tag = (key: string) => key.slice(key.indexOf('{') + 1, key.indexOf('}'));
    const p = `${ctx.prefix}tag:`;
    const tags = new Set([
      tag(txKey(p, 'sms', 'alice', 'sess', 'method')),
      tag(txKey(p, 'email', 'alice', 'sess', 'method')),
      tag(sharedBudgetKey(p, 'method', 'alice', 'sess')),
      tag(lockKey(p, 'method', 'alice')),
    ]);
    assert.deepEqual([...tags], ['method:alice']);
    assert.notEqual(txKey(p, 'sms', 'alice', 'sess', 'method'), txKey(p, 'email', 'alice', 'sess', 'method'));
  });

  it('the entry step with limits folded in (reserveEntry/recordEntry, what a start uses) counts the shared budget too', async () => {
    n += 1;
    const store = new RedisTransactionStore(ctx.client, { prefix: `${ctx.prefix}${n}:` });
    const budget = { entries_per_transaction_per_minute: 1000, failures_per_subject_per_hour: 1000 };
    const now = Date.now();
    const k = keys(`entry-${n}`);
    await openChoice(store, k.sms, now);
    await openChoice(store, k.email, now);
    const results: string[] = await Promise.all(Array.from({ length: 200 }, async (_, i) => {
      const key = i % 2 === 0 ? k.sms : k.email;
      const r = await store.reserveEntry(key, policy, now, budget);
      if (!r.tx || !r.outcome.ok) return r.tx && !r.outcome.ok ? r.outcome.code : 'NOT_FOUND';
      const o = await store.recordEntry(key, policy, r.outcome.reservation_id, { accepted: false }, now, budget);
      return `evaluated:${o.outcome.code}`;
    }));
    assert.equal(results.filter((r) => r.startsWith('evaluated:')).length, MAX, JSON.stringify(results.filter((r) => r.startsWith('evaluated'))));
    assert.ok(results.every((r) => r.startsWith('evaluated:') || r === 'MAX_ATTEMPTS' || r === 'LOCKED'), JSON.stringify([...new Set(results)]));
    await store.close();
  });
});
