/**
 * The TransactionStore contract: the same scenarios for every store (memory, Redis). Each store is also run side
 * by side with a MemoryTransactionStore on random sequences of operations (fast-check), comparing every outcome
 * and every record field by field: the Redis Lua scripts for the entry steps must behave exactly as the pure
 * TypeScript functions the memory store applies.
 *
 * Times start at the real clock (a store that expires keys in real time, as Redis does with PEXPIREAT, must not
 * see a record written already past its time) and move on from there as fake `now`s.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoryTransactionStore } from '../../src/store/memory-store.js';
import type { TransactionStore, TxKey } from '../../src/store/types.js';
import { forgetAt, makeOtpPolicy, type OtpPolicy, type SendKind, type TxDestination } from '../../src/transaction/index.js';

export interface StoreHarness {
  /** A fresh, empty store with its own keyspace; `newId` makes transaction ids predictable. */
  create(options?: { newId?: () => string }): Promise<TransactionStore>;
  /** A second store over the same data through another connection (Redis), or the same store (memory). */
  twin(store: TransactionStore): Promise<TransactionStore>;
  /** Milliseconds until the backend drops a key by itself (Redis PTTL); omitted when the backend has no such TTL. */
  backendTtl?(store: TransactionStore, what: { tx: TxKey } | { lock: { authenticatorId: string; subject: string } }): Promise<number>;
}

const S = 1000;
const A: TxDestination = { address: '+46701234567', country: 'SE', line_type: 'mobile' };
const B: TxDestination = { address: '+46709876543', country: 'SE', line_type: 'mobile' };
const C: TxDestination = { address: '+447400123456', country: 'GB', line_type: 'mobile' };

/** A whole second at least one second ahead of the real clock. */
const startTime = (): number => Math.floor(Date.now() / S) * S + S;
const counterIds = (): (() => string) => {
  let n = 0;
  return () => `id${++n}`;
};
const session = (sessionId: string, subject = 'alice', authenticatorId = 'otp'): TxKey => ({ sessionId, authenticatorId, subject });

async function openWithCode(store: TransactionStore, key: TxKey, now: number, policy: OtpPolicy, codeId = `code-${key.sessionId}`): Promise<string> {
  const opened = await store.open(key, {}, policy, now);
  assert.equal(opened.ok, true, JSON.stringify(opened));
  const r = await store.reserveSend(key, policy, now, 'first');
  if (r.tx === null || !r.outcome.ok) throw new Error(`no reservation: ${JSON.stringify(r.outcome)}`);
  const c = await store.commitSend(key, policy, r.outcome.reservation_id, {
    id: codeId, hash: `hash-${codeId}`, destination: A, sent_at: now, expires_at: now + policy.ttl_seconds * S, channel: 'sms',
  });
  assert.equal(c.outcome.ok, true);
  return codeId;
}

async function entry(store: TransactionStore, key: TxKey, policy: OtpPolicy, now: number, matchedCodeId?: string) {
  const r = await store.reserveAttempt(key, policy, now);
  if (r.tx === null || !r.outcome.ok) return { reserved: r.outcome, recorded: null };
  const rec = await store.recordOutcome(key, policy, r.outcome.reservation_id, matchedCodeId === undefined ? {} : { matchedCodeId }, now);
  return { reserved: r.outcome, recorded: rec.tx === null ? rec.outcome : rec.outcome };
}

export function storeContract(name: string, harness: () => StoreHarness): void {
  const policy = makeOtpPolicy({ resend_cooldown_seconds: 30 });

  describe(`${name} store contract: open, send, cancel`, () => {
    it('open creates once, shows it after, keeps the reference; a cancelled one is replaced; another subject is another', async () => {
      const store = await harness().create({ newId: counterIds() });
      const T0 = startTime();
      const a = await store.open(session('s1'), { reference: 'r1', channel: 'sms' }, policy, T0);
      assert.ok(a.ok && a.created && a.tx.id === 'id1' && a.tx.reference === 'r1' && a.tx.channel === 'sms');
      assert.deepEqual(a.action, { action: 'start', replaces: null });
      const b = await store.open(session('s1'), {}, policy, T0 + S);
      assert.ok(b.ok && !b.created);
      assert.deepEqual(b.tx, a.tx);
      assert.deepEqual(b.action, { action: 'show', state: 'PENDING' });
      assert.deepEqual((await store.cancel(session('s1'), policy, T0 + 2 * S)).outcome, { ok: true, already: false });
      assert.deepEqual((await store.cancel(session('s1'), policy, T0 + 2 * S)).outcome, { ok: true, already: true });
      const c = await store.open(session('s1'), {}, policy, T0 + 3 * S);
      assert.ok(c.ok && c.created && c.tx.id === 'id2');
      assert.deepEqual(c.action, { action: 'start', replaces: 'CANCELLED' });
      const d = await store.open(session('s1', 'bob'), {}, policy, T0 + 3 * S);
      assert.ok(d.ok && d.created && d.tx.id === 'id3');
      assert.equal((await store.get(session('s1'), T0 + 3 * S))?.id, 'id2');
    });

    it('reserveSend / commitSend / releaseSend: ALREADY_SENT, cooldown, MAX_CODES, a failed first send is FAILED', async () => {
      const store = await harness().create({ newId: counterIds() });
      const T0 = startTime();
      const key = session('s1');
      await openWithCode(store, key, T0, policy, 'c1');
      assert.deepEqual((await store.reserveSend(key, policy, T0 + S, 'first')).outcome, { ok: false, code: 'ALREADY_SENT' });
      assert.deepEqual((await store.reserveSend(key, policy, T0 + 10 * S + 1, 'resend')).outcome, { ok: false, code: 'RESEND_TOO_SOON', retry_after: 20 });
      const r2 = await store.reserveSend(key, policy, T0 + 30 * S, 'resend');
      assert.ok(r2.tx !== null && r2.outcome.ok);
      assert.equal(r2.tx.send_reservations.length, 1);
      const released = await store.releaseSend(key, policy, r2.outcome.reservation_id, T0 + 31 * S, { detail: 'FAILED TO SEND TO NUMBER' });
      assert.deepEqual(released.outcome, { ok: true, failed: false }, 'a failed resend leaves a transaction that sent a code whole');
      assert.deepEqual(released.tx?.send_reservations, []);
      assert.deepEqual((await store.releaseSend(key, policy, r2.outcome.reservation_id, T0 + 31 * S)).outcome, { ok: false, code: 'UNKNOWN_RESERVATION' });
      for (const [i, id] of [[60, 'c2'], [90, 'c3']] as const) {
        const r = await store.reserveSend(key, policy, T0 + i * S, 'resend');
        if (r.tx === null || !r.outcome.ok) throw new Error(JSON.stringify(r.outcome));
        const c = await store.commitSend(key, policy, r.outcome.reservation_id, {
          id, hash: `h-${id}`, destination: A, sent_at: T0 + i * S, expires_at: T0 + (i + 600) * S,
        });
        assert.deepEqual(c.outcome, { ok: true, change: null, killed_code_ids: [] });
      }
      assert.deepEqual((await store.reserveSend(key, policy, T0 + 200 * S, 'resend')).outcome, { ok: false, code: 'MAX_CODES' });
      const tx = await store.get(key, T0 + 200 * S);
      assert.equal(tx?.codes_sent, 3);
      assert.deepEqual(tx?.codes.map((c) => c.id), ['c1', 'c2', 'c3']);

      const other = session('s2');
      await store.open(other, {}, policy, T0);
      const first = await store.reserveSend(other, policy, T0, 'first');
      if (first.tx === null || !first.outcome.ok) throw new Error('no reservation');
      const failed = await store.releaseSend(other, policy, first.outcome.reservation_id, T0 + S, { detail: 'SUPPRESSED SENDING CODE', destination: C });
      assert.deepEqual(failed.outcome, { ok: true, failed: true });
      assert.equal(failed.tx?.phase, 'FAILED');
      assert.equal(failed.tx?.failure_detail, 'SUPPRESSED SENDING CODE');
      assert.deepEqual(failed.tx?.initial_destination, C);
      const again = await store.open(other, {}, policy, T0 + 2 * S);
      assert.ok(again.ok && again.created);
      assert.deepEqual(again.action, { action: 'start', replaces: 'FAILED' });
    });

    it('a change of destination records the change and kills the codes sent elsewhere', async () => {
      const p = makeOtpPolicy({ allow_change: true, resend_strategy: 'keep_previous' });
      const store = await harness().create({ newId: counterIds() });
      const T0 = startTime();
      const key = session('s1');
      await openWithCode(store, key, T0, p, 'c1');
      const r = await store.reserveSend(key, p, T0 + S, 'change', B);
      if (r.tx === null || !r.outcome.ok) throw new Error(JSON.stringify(r.outcome));
      assert.equal(r.tx.send_reservations[0]?.destination, B.address);
      const c = await store.commitSend(key, p, r.outcome.reservation_id, { id: 'c2', hash: 'h2', destination: B, sent_at: T0 + S, expires_at: T0 + 601 * S });
      assert.deepEqual(c.outcome, { ok: true, change: { from: A.address, to: B.address, at: T0 + S }, killed_code_ids: ['c1'] });
      assert.deepEqual(c.tx?.destinations_used, [A.address, B.address]);
      assert.deepEqual(c.tx?.current_destination, B);
    });

    it('every step on a missing record answers NOT_FOUND; ping answers', async () => {
      const store = await harness().create();
      const T0 = startTime();
      const missing = { tx: null, outcome: { ok: false, code: 'NOT_FOUND' } };
      const x = session('nobody');
      assert.deepEqual(await store.reserveSend(x, policy, T0, 'first'), missing);
      assert.deepEqual(await store.commitSend(x, policy, 'r', { id: 'c', hash: 'h', destination: A, sent_at: T0, expires_at: T0 + S }), missing);
      assert.deepEqual(await store.releaseSend(x, policy, 'r', T0), missing);
      assert.deepEqual(await store.reserveAttempt(x, policy, T0), missing);
      assert.deepEqual(await store.recordOutcome(x, policy, 'r', {}, T0), missing);
      assert.deepEqual(await store.cancel(x, policy, T0), missing);
      assert.equal(await store.get(x, T0), null);
      assert.equal(await store.getLock('otp', 'nobody', T0), null);
      assert.equal(await store.unlock('otp', 'nobody'), false);
      assert.equal(await store.ping(), true);
    });
  });

  describe(`${name} store contract: entries`, () => {
    it('a wrong entry counts, the right one completes once, then nothing is pending', async () => {
      const store = await harness().create();
      const T0 = startTime();
      const key = session('s1');
      const code = await openWithCode(store, key, T0, policy);
      const r1 = await store.reserveAttempt(key, policy, T0 + S);
      assert.ok(r1.tx !== null && r1.outcome.ok);
      assert.deepEqual(r1.outcome.live_codes, [{ id: code, hash: `hash-${code}` }]);
      assert.equal(r1.tx.entry_reservations.length, 1);
      const w = await store.recordOutcome(key, policy, r1.outcome.reservation_id, {}, T0 + S);
      assert.deepEqual(w.outcome, { ok: false, code: 'INVALID_OTP', attempt: 1, attempts_left: 2 });
      assert.deepEqual(w.tx?.entry_reservations, []);
      assert.deepEqual((await store.recordOutcome(key, policy, r1.outcome.reservation_id, {}, T0 + S)).outcome, { ok: false, code: 'UNKNOWN_RESERVATION' });
      const right = await entry(store, key, policy, T0 + 2 * S, code);
      assert.deepEqual(right.recorded, { ok: true, code: 'COMPLETED', code_id: code, attempt: 2, attempts_left: 2 });
      const tx = await store.get(key, T0 + 2 * S);
      assert.equal(tx?.phase, 'COMPLETED');
      assert.equal(tx?.accepted_code_id, code);
      assert.equal(tx?.completed_at, T0 + 2 * S);
      assert.deepEqual((await store.reserveAttempt(key, policy, T0 + 3 * S)).outcome, { ok: false, code: 'NO_PENDING_CODE' });
      const opened = await store.open(key, {}, policy, T0 + 3 * S);
      assert.ok(opened.ok && opened.action.action === 'completed');
    });

    it('nothing sent yet answers NO_PENDING_CODE; a code entered after it expired is OTP_EXPIRED and counts', async () => {
      const store = await harness().create();
      const T0 = startTime();
      const key = session('s1');
      await store.open(key, {}, policy, T0);
      assert.deepEqual((await store.reserveAttempt(key, policy, T0)).outcome, { ok: false, code: 'NO_PENDING_CODE' });
      const code = await openWithCode(store, session('s2'), T0, policy);
      const late = await entry(store, session('s2'), policy, T0 + 600 * S, code);
      assert.deepEqual(late.reserved, { ok: true, reservation_id: late.reserved.ok ? late.reserved.reservation_id : '', live_codes: [] });
      assert.deepEqual(late.recorded, { ok: false, code: 'OTP_EXPIRED', attempt: 1, attempts_left: 2 });
    });

    it('a transaction without a pre-pipe (TOTP) completes on the pipe\'s own acceptance', async () => {
      const store = await harness().create();
      const T0 = startTime();
      const key = session('s1');
      await store.open(key, { sends_codes: false }, policy, T0);
      const r = await store.reserveAttempt(key, policy, T0);
      if (r.tx === null || !r.outcome.ok) throw new Error(JSON.stringify(r.outcome));
      assert.deepEqual(r.outcome.live_codes, []);
      const rec = await store.recordOutcome(key, policy, r.outcome.reservation_id, { accepted: true }, T0);
      assert.deepEqual(rec.outcome, { ok: true, code: 'COMPLETED', code_id: null, attempt: 1, attempts_left: 3 });
    });

    it('attempts in flight count: with all of them reserved the next entry is refused unevaluated', async () => {
      const store = await harness().create();
      const T0 = startTime();
      const key = session('s1');
      await openWithCode(store, key, T0, policy);
      const held = [];
      for (let i = 0; i < 3; i += 1) held.push(await store.reserveAttempt(key, policy, T0 + S));
      assert.ok(held.every((h) => h.outcome.ok));
      assert.deepEqual((await store.reserveAttempt(key, policy, T0 + S)).outcome, {
        ok: false, code: 'MAX_ATTEMPTS', evaluated: false, aborted: false, attempts_left: 3,
      });
    });
  });

  describe(`${name} store contract: lockout`, () => {
    it('the aborting entry sets the lockout in the same step; other sessions are LOCKED, the own one sees its failure', async () => {
      const store = await harness().create();
      const T0 = startTime();
      await openWithCode(store, session('s1'), T0, policy);
      await entry(store, session('s1'), policy, T0 + S);
      await entry(store, session('s1'), policy, T0 + 2 * S);
      assert.equal(await store.getLock('otp', 'alice', T0 + 2 * S), null);
      const last = await entry(store, session('s1'), policy, T0 + 3 * S);
      const lock = { authenticator_id: 'otp', subject: 'alice', until: T0 + 603 * S };
      assert.deepEqual(last.recorded, { ok: false, code: 'MAX_ATTEMPTS', evaluated: true, aborted: true, attempt: 3, attempts_left: 0, lockout: lock });
      assert.deepEqual(await store.getLock('otp', 'alice', T0 + 3 * S), lock);
      assert.deepEqual(await store.open(session('s2'), {}, policy, T0 + 4 * S), { ok: false, code: 'LOCKED', retry_after: 599, lock });
      assert.equal(await store.get(session('s2'), T0 + 4 * S), null, 'nothing opened');
      const own = await store.open(session('s1'), {}, policy, T0 + 4 * S);
      assert.ok(own.ok && !own.created && own.action.action === 'aborted');
      assert.deepEqual((await store.reserveAttempt(session('s1'), policy, T0 + 4 * S)).outcome, {
        ok: false, code: 'MAX_ATTEMPTS', evaluated: false, aborted: true, attempts_left: 0,
      });
      assert.equal((await store.open(session('s3', 'bob'), {}, policy, T0 + 4 * S)).ok, true, 'another subject');
      assert.equal((await store.open(session('s3', 'alice', 'phone'), {}, policy, T0 + 4 * S)).ok, true, 'another authenticator');
      if (harness().backendTtl) {
        const ttl = await harness().backendTtl!(store, { lock: { authenticatorId: 'otp', subject: 'alice' } });
        const expected = lock.until - Date.now();
        assert.ok(Math.abs(ttl - expected) < 2000, `lock PTTL ${ttl}, expected about ${expected}`);
      }
    });

    it('the lockout ends at its until; a later abort never shortens it; unlock lifts it; lockout_seconds 0 sets none', async () => {
      const short = makeOtpPolicy({ lockout_seconds: 60 });
      const store = await harness().create();
      const T0 = startTime();
      await openWithCode(store, session('s1'), T0, policy);
      for (let i = 0; i < 3; i += 1) await entry(store, session('s1'), policy, T0);
      // Two sessions opened before any lock; the first abort locks for 60 s, the second (30 s) must not shorten it.
      const store2 = await harness().create();
      await openWithCode(store2, session('a'), T0, short);
      await openWithCode(store2, session('b'), T0, short);
      for (let i = 0; i < 3; i += 1) await entry(store2, session('a'), short, T0);
      assert.equal((await store2.getLock('otp', 'alice', T0))?.until, T0 + 60 * S);
      const longer = makeOtpPolicy({ lockout_seconds: 30 });
      for (let i = 0; i < 3; i += 1) await entry(store2, session('b'), longer, T0 + S);
      assert.equal((await store2.getLock('otp', 'alice', T0 + S))?.until, T0 + 60 * S, 'the earlier, longer lockout is kept');
      assert.equal((await store2.open(session('c'), {}, short, T0 + 60 * S - 1)).ok, false);
      const after = await store2.open(session('a'), {}, short, T0 + 60 * S);
      assert.ok(after.ok && after.created);
      assert.deepEqual(after.action, { action: 'start', replaces: 'ABORTED' });
      assert.equal(after.tx.wrong_entries, 0);

      assert.equal(await store.unlock('otp', 'alice'), true);
      assert.equal(await store.unlock('otp', 'alice'), false);
      assert.equal((await store.open(session('s9'), {}, policy, T0 + S)).ok, true);

      const none = makeOtpPolicy({ lockout_seconds: 0 });
      const store3 = await harness().create();
      await openWithCode(store3, session('s1'), T0, none);
      let last;
      for (let i = 0; i < 3; i += 1) last = await entry(store3, session('s1'), none, T0);
      assert.ok(last?.recorded && last.recorded.code === 'MAX_ATTEMPTS' && 'lockout' in last.recorded && last.recorded.lockout === null);
      assert.equal(await store3.getLock('otp', 'alice', T0), null);
    });
  });

  describe(`${name} store contract: expiry`, () => {
    it('a pending record is forgotten ttl after its newest code expired, read with a later `now`; the backend expires it too', async () => {
      const store = await harness().create();
      const T0 = startTime();
      const key = session('s1');
      await openWithCode(store, key, T0, policy); // code ends at T0 + 600 s: forgotten at T0 + 1200 s
      const tx = await store.get(key, T0);
      assert.ok(tx);
      assert.equal(forgetAt(tx, policy), T0 + 1200 * S);
      if (harness().backendTtl) {
        const ttl = await harness().backendTtl!(store, { tx: key });
        const expected = T0 + 1200 * S - Date.now();
        assert.ok(Math.abs(ttl - expected) < 2000, `PTTL ${ttl}, expected about ${expected}`);
      }
      assert.ok(await store.get(key, T0 + 1200 * S - 1));
      assert.equal(await store.get(key, T0 + 1200 * S), null);
      assert.deepEqual(await store.reserveAttempt(key, policy, T0 + 1200 * S), { tx: null, outcome: { ok: false, code: 'NOT_FOUND' } });
      const again = await store.open(key, {}, policy, T0 + 1200 * S);
      assert.ok(again.ok && again.created);
      assert.deepEqual(again.action, { action: 'start', replaces: null });
    });

    it('a finished transaction is kept ttl_seconds after it finished; its backend TTL moves with it', async () => {
      const store = await harness().create();
      const T0 = startTime();
      const key = session('s1');
      const code = await openWithCode(store, key, T0, policy);
      await entry(store, key, policy, T0 + 100 * S, code);
      if (harness().backendTtl) {
        const ttl = await harness().backendTtl!(store, { tx: key });
        const expected = T0 + 700 * S - Date.now();
        assert.ok(Math.abs(ttl - expected) < 2000, `PTTL ${ttl}, expected about ${expected}`);
      }
      assert.equal((await store.get(key, T0 + 700 * S - 1))?.phase, 'COMPLETED');
      assert.equal(await store.get(key, T0 + 700 * S), null);
    });
  });

  describe(`${name} store contract: TOTP replay guard`, () => {
    const hash = (n: number) => `${'ab'.repeat(31)}${String(n).padStart(2, '0')}`;

    it('a step is claimed once; an earlier one never after it; a later one is; each secret apart', async () => {
      const store = await harness().create();
      const other = await harness().twin(store);
      const forget = startTime() + 120 * S;
      assert.equal(await store.claimTotpStep!(hash(1), 100, forget), true, 'first claim');
      assert.equal(await other.claimTotpStep!(hash(1), 100, forget), false, 'the same step again, through another connection');
      assert.equal(await other.claimTotpStep!(hash(1), 99, forget), false, 'an earlier step');
      assert.equal(await store.claimTotpStep!(hash(2), 99, forget), true, 'another secret is apart');
      assert.equal(await other.claimTotpStep!(hash(1), 101, forget), true, 'a later step');
      assert.equal(await store.claimTotpStep!(hash(1), 101, forget), false);
    });

    it('100 parallel claims of one step through two connections: exactly one wins', async function () {
      this.timeout(60_000);
      const store = await harness().create();
      const other = await harness().twin(store);
      const forget = startTime() + 120 * S;
      const claims = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? store : other).claimTotpStep!(hash(3), 7, forget)));
      assert.equal(claims.filter(Boolean).length, 1);
    });
  });

  describe(`${name} store contract: parallel requests`, () => {
    it('500 parallel entries through two connections: exactly allowed_otp_retry + 1 evaluated, one aborts and locks', async function () {
      this.timeout(60_000);
      const store = await harness().create();
      const other = await harness().twin(store);
      const T0 = startTime();
      const key = session('s1');
      await openWithCode(store, key, T0, policy);
      const entries = await Promise.all(Array.from({ length: 500 }, (_, i) => entry(i % 2 === 0 ? store : other, key, policy, T0 + S)));
      const evaluated = entries.filter((e) => e.recorded !== null).map((e) => e.recorded?.code);
      assert.equal(evaluated.length, 3, evaluated.join());
      assert.equal(evaluated.filter((c) => c === 'INVALID_OTP').length, 2);
      assert.equal(evaluated.filter((c) => c === 'MAX_ATTEMPTS').length, 1);
      for (const e of entries.filter((x) => x.recorded === null)) assert.equal(e.reserved.ok ? 'ok' : e.reserved.code, 'MAX_ATTEMPTS');
      const tx = await other.get(key, T0 + 2 * S);
      assert.equal(tx?.phase, 'ABORTED');
      assert.equal(tx?.wrong_entries, 3);
      assert.deepEqual(tx?.entry_reservations, []);
      assert.ok(await store.getLock('otp', 'alice', T0 + 2 * S));
    });

    it('the right code recorded 100 times in parallel completes once', async function () {
      this.timeout(60_000);
      const store = await harness().create();
      const other = await harness().twin(store);
      const T0 = startTime();
      const key = session('s1');
      const code = await openWithCode(store, key, T0, makeOtpPolicy({ allowed_otp_retry: 20 }));
      const p = makeOtpPolicy({ allowed_otp_retry: 20 });
      // Reserve 21 (the most there are), then record the right code 100 times in parallel, the reservations shared.
      const reservations: string[] = [];
      for (let i = 0; i < 21; i += 1) {
        const r = await store.reserveAttempt(key, p, T0 + S);
        if (r.tx === null || !r.outcome.ok) throw new Error(JSON.stringify(r.outcome));
        reservations.push(r.outcome.reservation_id);
      }
      const recorded = await Promise.all(Array.from({ length: 100 }, (_, i) =>
        (i % 2 === 0 ? store : other).recordOutcome(key, p, reservations[i % 21]!, { matchedCodeId: code }, T0 + 2 * S)));
      const codes = recorded.map((r) => (r.tx === null ? 'missing' : r.outcome.code));
      assert.equal(codes.filter((c) => c === 'COMPLETED').length, 1, codes.join());
      assert.ok(codes.every((c) => c === 'COMPLETED' || c === 'NO_PENDING_CODE' || c === 'UNKNOWN_RESERVATION'), codes.join());
      assert.equal(codes.filter((c) => c === 'NO_PENDING_CODE').length, 20);
      const tx = await store.get(key, T0 + 3 * S);
      assert.equal(tx?.phase, 'COMPLETED');
      assert.equal(tx?.wrong_entries, 0);
    });

    it('the right code entered 100 times in parallel (reserve and record) is accepted once', async function () {
      this.timeout(60_000);
      const store = await harness().create();
      const other = await harness().twin(store);
      const T0 = startTime();
      const key = session('s1');
      const code = await openWithCode(store, key, T0, policy);
      const entries = await Promise.all(Array.from({ length: 100 }, (_, i) => entry(i % 2 === 0 ? store : other, key, policy, T0 + S, code)));
      const codes = entries.map((e) => e.recorded?.code ?? (e.reserved.ok ? 'reserved' : e.reserved.code));
      assert.equal(codes.filter((c) => c === 'COMPLETED').length, 1, codes.join());
      assert.ok(codes.every((c) => c === 'COMPLETED' || c === 'NO_PENDING_CODE' || c === 'MAX_ATTEMPTS'), codes.join());
    });

    it('parallel resends never exceed max_codes; parallel GETs open one transaction', async function () {
      this.timeout(60_000);
      const p = makeOtpPolicy({ resend_cooldown_seconds: 0 });
      const store = await harness().create();
      const other = await harness().twin(store);
      const T0 = startTime();
      const key = session('s1');
      await openWithCode(store, key, T0, p);
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? store : other).reserveSend(key, p, T0 + S, 'resend')));
      assert.equal(results.filter((r) => r.outcome.ok).length, 2);
      assert.ok(results.every((r) => r.outcome.ok || r.outcome.code === 'MAX_CODES'));
      assert.equal((await store.get(key, T0 + S))?.send_reservations.length, 2);

      const opened = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? store : other).open(session('s2'), {}, p, T0)));
      assert.equal(new Set(opened.map((o) => (o.ok ? o.tx.id : 'locked'))).size, 1);
      assert.equal(opened.filter((o) => o.ok && o.created).length, 1);
    });
  });

  describe(`${name} store contract: behaves as the memory store on random sequences`, () => {
    it('every outcome and every record equal the memory store\'s, step by step', async function () {
      this.timeout(120_000);
      const policies = [
        makeOtpPolicy({}),
        makeOtpPolicy({ allowed_otp_retry: 0, max_codes: 1, lockout_seconds: 0 }),
        makeOtpPolicy({ allowed_otp_retry: 1, max_codes: 2, resend_cooldown_seconds: 0, resend_strategy: 'new', ttl_seconds: 30 }),
        makeOtpPolicy({ allow_change: true, max_changes: 1, resend_cooldown_seconds: 10, lockout_seconds: 60, ttl_seconds: 60 }),
      ];
      const dests = [A, B, C];
      // Weighted towards the steps that matter (sends, entries) and mostly on one session, so that runs reach
      // completions, aborts, expired and killed codes; `seen` proves they did.
      const op = fc.oneof(
        { weight: 1, arbitrary: fc.record({ t: fc.constant('open' as const), s: fc.nat(1), totp: fc.integer({ min: 0, max: 4 }).map((n) => n === 0) }) },
        { weight: 3, arbitrary: fc.record({ t: fc.constant('send' as const), s: fc.constantFrom(0, 0, 0, 1), kind: fc.constantFrom<SendKind>('first', 'resend', 'change'), d: fc.nat(2) }) },
        { weight: 3, arbitrary: fc.record({ t: fc.constant('commit' as const), s: fc.constantFrom(0, 0, 0, 1), d: fc.nat(2) }) },
        { weight: 2, arbitrary: fc.record({ t: fc.constant('release' as const), s: fc.nat(1), fail: fc.boolean() }) },
        { weight: 4, arbitrary: fc.record({ t: fc.constant('reserve' as const), s: fc.constantFrom(0, 0, 0, 1) }) },
        { weight: 4, arbitrary: fc.record({ t: fc.constant('record' as const), s: fc.constantFrom(0, 0, 0, 1), match: fc.integer({ min: -1, max: 5 }), accepted: fc.boolean() }) },
        { weight: 1, arbitrary: fc.record({ t: fc.constant('cancel' as const), s: fc.nat(1) }) },
        { weight: 1, arbitrary: fc.record({ t: fc.constant('unlock' as const) }) },
        { weight: 4, arbitrary: fc.record({ t: fc.constant('enter' as const), s: fc.constantFrom(0, 0, 0, 1), match: fc.integer({ min: -1, max: 3 }) }) },
        { weight: 2, arbitrary: fc.record({ t: fc.constant('wait' as const), ms: fc.oneof(fc.integer({ min: 0, max: 40_000 }), fc.integer({ min: 0, max: 1_300_000 })) }) },
      );
      const seen = new Set<string>();
      await fc.assert(
        fc.asyncProperty(fc.nat(policies.length - 1), fc.array(op, { minLength: 5, maxLength: 40 }), async (pi, ops) => {
          const p = policies[pi]!;
          const model = new MemoryTransactionStore({ sweepIntervalMs: 0, newId: counterIds() });
          const real = await harness().create({ newId: counterIds() });
          let now = startTime();
          let codeSeq = 0;
          const sends: string[][] = [[], []];
          const attempts: string[][] = [[], []];
          const codeIds: string[] = [];
          const keyOf = (s: number) => session(`s${s}`);
          // Every run starts with a code sent in session 0, so most runs reach entries.
          const start = [{ t: 'open' as const, s: 0, totp: false }, { t: 'send' as const, s: 0, kind: 'first' as const, d: 0 }, { t: 'commit' as const, s: 0, d: 0 }];
          for (const o of [...start, ...ops]) {
            const both = async <T>(f: (st: TransactionStore) => Promise<T>, label: string = o.t): Promise<T> => {
              const [m, r] = [await f(model), await f(real)];
              assert.deepEqual(r, m, `${JSON.stringify(o)} at ${now}`);
              const outcome = (m as { outcome?: { code?: string; ok?: boolean; evaluated?: boolean } } | null)?.outcome;
              if (outcome) seen.add(`${label}:${outcome.code ?? (outcome.ok ? 'ok' : '?')}${outcome.evaluated ? ':evaluated' : ''}`);
              return m;
            };
            switch (o.t) {
              case 'open':
                await both((st) => st.open(keyOf(o.s), { sends_codes: !o.totp }, p, now));
                break;
              case 'send': {
                const r = await both((st) => st.reserveSend(keyOf(o.s), p, now, o.kind, o.kind === 'change' ? dests[o.d] : undefined));
                if (r.outcome.ok) sends[o.s]!.push(r.outcome.reservation_id);
                break;
              }
              case 'commit': {
                const rid = sends[o.s]!.shift() ?? 'none';
                codeSeq += 1;
                const id = `c${codeSeq}`;
                codeIds.push(id);
                await both((st) => st.commitSend(keyOf(o.s), p, rid, {
                  id, hash: `h${id}`, destination: dests[o.d]!, sent_at: now, expires_at: now + p.ttl_seconds * S, channel: 'sms',
                }));
                break;
              }
              case 'release': {
                const rid = sends[o.s]!.shift() ?? 'none';
                await both((st) => st.releaseSend(keyOf(o.s), p, rid, now, o.fail ? { detail: 'FAILED TO SEND TO NUMBER' } : undefined));
                break;
              }
              case 'reserve': {
                const r = await both((st) => st.reserveAttempt(keyOf(o.s), p, now));
                if (r.outcome.ok) attempts[o.s]!.push(r.outcome.reservation_id);
                break;
              }
              case 'record': {
                const rid = attempts[o.s]!.shift() ?? 'none';
                const matched = o.match < 0 ? undefined : codeIds[codeIds.length - 1 - o.match];
                const tx = await model.get(keyOf(o.s), now);
                const code = tx?.codes.find((c) => c.id === matched);
                if (code?.killed) seen.add('record:killed-code');
                const verdict = { ...(matched === undefined ? {} : { matchedCodeId: matched }), ...(o.accepted ? { accepted: true } : {}) };
                await both((st) => st.recordOutcome(keyOf(o.s), p, rid, verdict, now));
                break;
              }
              case 'enter': {
                const r = await both((st) => st.reserveAttempt(keyOf(o.s), p, now), 'reserve');
                if (!r.outcome.ok) break;
                const matched = o.match < 0 ? undefined : codeIds[codeIds.length - 1 - o.match];
                const code = (await model.get(keyOf(o.s), now))?.codes.find((c) => c.id === matched);
                if (code?.killed) seen.add('record:killed-code');
                const rid = r.outcome.reservation_id;
                await both((st) => st.recordOutcome(keyOf(o.s), p, rid, matched === undefined ? {} : { matchedCodeId: matched }, now), 'record');
                break;
              }
              case 'cancel':
                await both((st) => st.cancel(keyOf(o.s), p, now));
                break;
              case 'unlock':
                // Whether a lockout that already ended still counts as "one was there" depends on when a store
                // dropped it; what matters, and is compared after every step, is that none holds afterwards.
                await model.unlock('otp', 'alice');
                await real.unlock('otp', 'alice');
                break;
              case 'wait':
                now += o.ms;
                break;
            }
            await both((st) => st.get(keyOf(0), now));
            await both((st) => st.get(keyOf(1), now));
            await both((st) => st.getLock('otp', 'alice', now));
          }
          await real.close();
        }),
        // A fixed seed: the same 250 sequences every run, so the coverage check below is not a matter of luck.
        { numRuns: 250, seed: 424242 },
      );
      for (const must of ['record:COMPLETED', 'record:INVALID_OTP', 'record:OTP_EXPIRED', 'record:MAX_ATTEMPTS:evaluated', 'record:killed-code',
        'reserve:MAX_ATTEMPTS', 'reserve:NO_PENDING_CODE', 'send:RESEND_TOO_SOON', 'send:MAX_CODES', 'send:MAX_CHANGES', 'release:ok']) {
        assert.ok(seen.has(must), `the random runs never reached ${must}: ${[...seen].sort().join(', ')}`);
      }
    });
  });
}
