import assert from 'node:assert/strict';
import {
  attemptsLeft,
  cancel,
  recordOutcome,
  reserveAttempt,
  viewState,
  type TransactionRecord,
} from '../../src/transaction/index.js';
import { S, T0, enter, newTx, policyWith, send } from './transaction.fixtures.js';

const policy = policyWith(); // allowed_otp_retry 2: three entries in all

function wrong(tx: TransactionRecord, times: number, now = T0 + S): TransactionRecord {
  let t = tx;
  for (let i = 0; i < times; i += 1) t = enter(t, policy, now).tx;
  return t;
}

describe('transaction: entering codes', () => {
  it('starts with allowed_otp_retry + 1 attempts (3 with the default)', () => {
    assert.equal(attemptsLeft(newTx(), policy), 3);
  });

  it('a wrong entry answers INVALID_OTP with attempts_left, counting per transaction', () => {
    const { tx } = send(newTx(), policy, T0);
    const first = enter(tx, policy, T0 + S);
    assert.deepEqual(first.outcome, { ok: false, code: 'INVALID_OTP', attempt: 1, attempts_left: 2 });
    assert.deepEqual(enter(first.tx, policy, T0 + S).outcome, { ok: false, code: 'INVALID_OTP', attempt: 2, attempts_left: 1 });
  });

  it('the last attempt aborts: MAX_ATTEMPTS, aborted, attempts_left 0, and a lockout of lockout_seconds', () => {
    const tx = wrong(send(newTx(), policy, T0).tx, 2);
    const last = enter(tx, policy, T0 + 5 * S);
    assert.deepEqual(last.outcome, {
      ok: false,
      code: 'MAX_ATTEMPTS',
      evaluated: true,
      aborted: true,
      attempt: 3,
      attempts_left: 0,
      lockout: { authenticator_id: 'otp', subject: 'alice', until: T0 + 5 * S + 600 * S },
    });
    assert.equal(last.tx.phase, 'ABORTED');
    assert.equal(last.tx.finished_at, T0 + 5 * S);
  });

  it('the right code on the last attempt still completes', () => {
    const sent = send(newTx(), policy, T0);
    const tx = wrong(sent.tx, 2);
    assert.equal(enter(tx, policy, T0 + 2 * S, sent.codeId).outcome?.code, 'COMPLETED');
  });

  it('with allowed_otp_retry 0 the first wrong entry aborts', () => {
    const strict = policyWith({ allowed_otp_retry: 0 });
    const { tx } = send(newTx(), strict, T0);
    assert.equal(enter(tx, strict, T0 + S).outcome?.code, 'MAX_ATTEMPTS');
  });

  it('with lockout_seconds 0 an abort sets no lockout', () => {
    const noLock = policyWith({ allowed_otp_retry: 0, lockout_seconds: 0 });
    const { outcome } = enter(send(newTx(), noLock, T0).tx, noLock, T0 + S);
    assert.ok(outcome?.code === 'MAX_ATTEMPTS' && outcome.evaluated);
    assert.equal(outcome.lockout, null);
  });

  it('an entry after an abort answers MAX_ATTEMPTS (aborted) without being evaluated or counted', () => {
    const sent = send(newTx(), policy, T0);
    const aborted = wrong(sent.tx, 3);
    const again = reserveAttempt(aborted, policy, T0 + 10 * S);
    assert.deepEqual(again.outcome, { ok: false, code: 'MAX_ATTEMPTS', evaluated: false, aborted: true, attempts_left: 0 });
    assert.equal(again.tx, aborted);
    assert.equal(again.tx.wrong_entries, 3);
  });

  it('a code works once: the same code again, or another one, answers NO_PENDING_CODE', () => {
    const first = send(newTx(), policy, T0);
    const second = send(first.tx, policy, T0 + 30 * S, 'resend');
    const done = enter(second.tx, policy, T0 + 31 * S, second.codeId);
    assert.equal(done.outcome?.code, 'COMPLETED');
    assert.deepEqual(enter(done.tx, policy, T0 + 32 * S, second.codeId).reserved, { ok: false, code: 'NO_PENDING_CODE' });
    assert.deepEqual(enter(done.tx, policy, T0 + 32 * S, first.codeId).reserved, { ok: false, code: 'NO_PENDING_CODE' });
  });

  it('two entries in flight that both match: the compare-and-set accepts one, the other answers NO_PENDING_CODE', () => {
    const sent = send(newTx(), policy, T0);
    const r1 = reserveAttempt(sent.tx, policy, T0 + S);
    const r2 = reserveAttempt(r1.tx, policy, T0 + S);
    if (!r1.outcome.ok || !r2.outcome.ok) throw new Error('refused');
    const a = recordOutcome(r2.tx, policy, r1.outcome.reservation_id, { matchedCodeId: sent.codeId }, T0 + 2 * S);
    const b = recordOutcome(a.tx, policy, r2.outcome.reservation_id, { matchedCodeId: sent.codeId }, T0 + 2 * S);
    assert.equal(a.outcome.code, 'COMPLETED');
    assert.deepEqual(b.outcome, { ok: false, code: 'NO_PENDING_CODE' });
    assert.equal(b.tx.phase, 'COMPLETED');
    assert.equal(b.tx.entry_reservations.length, 0);
  });

  it('a wrong entry that lands after a parallel accept is not counted', () => {
    const sent = send(newTx(), policy, T0);
    const r1 = reserveAttempt(sent.tx, policy, T0 + S);
    const r2 = reserveAttempt(r1.tx, policy, T0 + S);
    if (!r1.outcome.ok || !r2.outcome.ok) throw new Error('refused');
    const a = recordOutcome(r2.tx, policy, r1.outcome.reservation_id, { matchedCodeId: sent.codeId }, T0 + 2 * S);
    const b = recordOutcome(a.tx, policy, r2.outcome.reservation_id, {}, T0 + 2 * S);
    assert.deepEqual(b.outcome, { ok: false, code: 'NO_PENDING_CODE' });
    assert.equal(b.tx.wrong_entries, 0);
  });

  it('entries in flight hold attempts: with all of them reserved, another answers MAX_ATTEMPTS unevaluated, not aborted', () => {
    let tx = send(newTx(), policy, T0).tx;
    for (let i = 0; i < 3; i += 1) {
      const r = reserveAttempt(tx, policy, T0 + S);
      assert.equal(r.outcome.ok, true);
      tx = r.tx;
    }
    assert.deepEqual(reserveAttempt(tx, policy, T0 + S).outcome, {
      ok: false,
      code: 'MAX_ATTEMPTS',
      evaluated: false,
      aborted: false,
      attempts_left: 3,
    });
    assert.equal(tx.phase, 'PENDING');
  });

  it('a code is live until just before expires_at and expired at exactly expires_at', () => {
    const sent = send(newTx(), policy, T0);
    const expiresAt = T0 + 600 * S;
    assert.equal(enter(sent.tx, policy, expiresAt - 1, sent.codeId).outcome?.code, 'COMPLETED');
    const late = enter(sent.tx, policy, expiresAt, sent.codeId);
    assert.equal(late.outcome?.code, 'OTP_EXPIRED');
    assert.equal(late.tx.wrong_entries, 1);
  });

  it('a code that expires between reserve and record is not accepted (the record step checks it again)', () => {
    const sent = send(newTx(), policy, T0);
    const r = reserveAttempt(sent.tx, policy, T0 + 599 * S);
    if (!r.outcome.ok) throw new Error('refused');
    assert.equal(r.outcome.live_codes.length, 1);
    const rec = recordOutcome(r.tx, policy, r.outcome.reservation_id, { matchedCodeId: sent.codeId }, T0 + 600 * S);
    assert.equal(rec.outcome.code, 'OTP_EXPIRED');
  });

  it('a wrong entry after every code expired answers OTP_EXPIRED and counts', () => {
    const sent = send(newTx(), policy, T0);
    const { outcome } = enter(sent.tx, policy, T0 + 700 * S);
    assert.deepEqual(outcome, { ok: false, code: 'OTP_EXPIRED', attempt: 1, attempts_left: 2 });
  });

  it('a resend gives back no attempts', () => {
    const tx = wrong(send(newTx(), policy, T0).tx, 2);
    const resent = send(tx, policy, T0 + 30 * S, 'resend');
    assert.equal(attemptsLeft(resent.tx, policy), 1);
    assert.equal(enter(resent.tx, policy, T0 + 31 * S).outcome?.code, 'MAX_ATTEMPTS');
  });

  it('nothing sent yet answers NO_PENDING_CODE', () => {
    assert.deepEqual(reserveAttempt(newTx(), policy, T0).outcome, { ok: false, code: 'NO_PENDING_CODE' });
  });

  it('a cancelled transaction answers NO_PENDING_CODE, and an entry in flight at the cancel is not counted', () => {
    const sent = send(newTx(), policy, T0);
    const r = reserveAttempt(sent.tx, policy, T0 + S);
    if (!r.outcome.ok) throw new Error('refused');
    const cancelled = cancel(r.tx, T0 + 2 * S).tx;
    assert.deepEqual(reserveAttempt(cancelled, policy, T0 + 3 * S).outcome, { ok: false, code: 'NO_PENDING_CODE' });
    const rec = recordOutcome(cancelled, policy, r.outcome.reservation_id, {}, T0 + 3 * S);
    assert.deepEqual(rec.outcome, { ok: false, code: 'NO_PENDING_CODE' });
    assert.equal(rec.tx.wrong_entries, 0);
  });

  it('an unknown code id in the verdict is a wrong entry, never an accept', () => {
    const sent = send(newTx(), policy, T0);
    assert.equal(enter(sent.tx, policy, T0 + S, 'no-such-code').outcome?.code, 'INVALID_OTP');
  });

  it('recording a reservation twice answers UNKNOWN_RESERVATION and counts once', () => {
    const sent = send(newTx(), policy, T0);
    const r = reserveAttempt(sent.tx, policy, T0 + S);
    if (!r.outcome.ok) throw new Error('refused');
    const once = recordOutcome(r.tx, policy, r.outcome.reservation_id, {}, T0 + S);
    const twice = recordOutcome(once.tx, policy, r.outcome.reservation_id, {}, T0 + S);
    assert.deepEqual(twice.outcome, { ok: false, code: 'UNKNOWN_RESERVATION' });
    assert.equal(twice.tx.wrong_entries, 1);
  });

  it('without a pre-pipe (TOTP) entries are evaluated with nothing sent and the pipe accepts by itself', () => {
    const totp = newTx({ sends_codes: false });
    const r = reserveAttempt(totp, policy, T0);
    if (!r.outcome.ok) throw new Error('refused');
    assert.deepEqual(r.outcome.live_codes, []);
    const rec = recordOutcome(r.tx, policy, r.outcome.reservation_id, { accepted: true }, T0 + S);
    assert.equal(rec.outcome.code, 'COMPLETED');
    assert.equal(viewState(rec.tx, policy, T0 + S), 'COMPLETED');
  });

  it('"accepted" without a code is ignored when the transaction sends codes', () => {
    const sent = send(newTx(), policy, T0);
    const r = reserveAttempt(sent.tx, policy, T0 + S);
    if (!r.outcome.ok) throw new Error('refused');
    assert.equal(recordOutcome(r.tx, policy, r.outcome.reservation_id, { accepted: true }, T0 + S).outcome.code, 'INVALID_OTP');
  });
});
