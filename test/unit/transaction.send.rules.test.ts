import assert from 'node:assert/strict';
import {
  codesLeft,
  commitSend,
  releaseSend,
  reserveSend,
  resendIn,
  viewState,
  type TransactionRecord,
} from '../../src/transaction/index.js';
import { A, S, T0, newTx, policyWith, send } from './transaction.fixtures.js';

const policy = policyWith();

describe('transaction: sending codes', () => {
  it('a first send is recorded with its destination, channel and time', () => {
    const { tx, codeId } = send(newTx(), policy, T0);
    assert.equal(tx.codes_sent, 1);
    assert.equal(tx.last_sent_at, T0);
    assert.equal(tx.channel, 'sms');
    assert.deepEqual(tx.initial_destination, A);
    assert.deepEqual(tx.current_destination, A);
    assert.deepEqual(tx.destinations_used, [A.address]);
    assert.equal(tx.codes[0]?.id, codeId);
    assert.equal(tx.send_reservations.length, 0);
  });

  it('a second first send is refused ALREADY_SENT, once a code is sent or while one is in flight', () => {
    const { tx } = send(newTx(), policy, T0);
    assert.deepEqual(reserveSend(tx, policy, T0 + 60 * S, 'first').outcome, { ok: false, code: 'ALREADY_SENT' });
    const inFlight = reserveSend(newTx(), policy, T0, 'first');
    assert.equal(inFlight.outcome.ok, true);
    assert.deepEqual(reserveSend(inFlight.tx, policy, T0, 'first').outcome, { ok: false, code: 'ALREADY_SENT' });
  });

  it('a resend inside the cooldown answers RESEND_TOO_SOON with the seconds left, rounded up', () => {
    const { tx } = send(newTx(), policy, T0);
    const refused = reserveSend(tx, policy, T0 + 10.5 * S, 'resend');
    assert.deepEqual(refused.outcome, { ok: false, code: 'RESEND_TOO_SOON', retry_after: 20 });
    assert.equal(refused.tx, tx, 'a refusal leaves the record untouched');
    assert.equal(resendIn(tx, policy, T0 + 10.5 * S), 20);
  });

  it('a resend one millisecond before the cooldown ends is refused with retry_after 1; at the end it is allowed', () => {
    const { tx } = send(newTx(), policy, T0);
    assert.deepEqual(reserveSend(tx, policy, T0 + 30 * S - 1, 'resend').outcome, { ok: false, code: 'RESEND_TOO_SOON', retry_after: 1 });
    assert.equal(reserveSend(tx, policy, T0 + 30 * S, 'resend').outcome.ok, true);
    assert.equal(resendIn(tx, policy, T0 + 30 * S), 0);
  });

  it('the cooldown also runs from a send still in flight, so two parallel resends do not both go out', () => {
    const { tx } = send(newTx(), policy, T0);
    const first = reserveSend(tx, policy, T0 + 40 * S, 'resend');
    assert.equal(first.outcome.ok, true);
    const second = reserveSend(first.tx, policy, T0 + 40 * S, 'resend');
    assert.deepEqual(second.outcome, { ok: false, code: 'RESEND_TOO_SOON', retry_after: 30 });
  });

  it('max_codes counts the first code: the (max_codes + 1)-th send answers MAX_CODES, before any cooldown', () => {
    let tx = send(newTx(), policy, T0).tx;
    tx = send(tx, policy, T0 + 30 * S, 'resend').tx;
    tx = send(tx, policy, T0 + 60 * S, 'resend').tx;
    assert.equal(codesLeft(tx, policy), 0);
    assert.deepEqual(reserveSend(tx, policy, T0 + 61 * S, 'resend').outcome, { ok: false, code: 'MAX_CODES' });
    assert.equal(resendIn(tx, policy, T0 + 61 * S), null);
  });

  it('parallel send reservations never exceed max_codes', () => {
    const p = policyWith({ max_codes: 4, resend_cooldown_seconds: 0 });
    let tx: TransactionRecord = send(newTx(), p, T0).tx;
    let granted = 0;
    for (let i = 0; i < 10; i += 1) {
      const r = reserveSend(tx, p, T0 + S, 'resend');
      tx = r.tx;
      if (r.outcome.ok) granted += 1;
      else assert.equal(r.outcome.code, 'MAX_CODES');
    }
    assert.equal(granted, 3);
    assert.equal(codesLeft(tx, p), 0);
  });

  it('a failed delivery is not a code sent: codes_left and the cooldown come back', () => {
    const { tx } = send(newTx(), policy, T0);
    const r = reserveSend(tx, policy, T0 + 30 * S, 'resend');
    if (!r.outcome.ok) throw new Error('refused');
    assert.equal(codesLeft(r.tx, policy), 1);
    const released = releaseSend(r.tx, r.outcome.reservation_id, T0 + 31 * S, { detail: 'FAILED TO SEND TO NUMBER' });
    assert.deepEqual(released.outcome, { ok: true, failed: false });
    assert.equal(released.tx.codes_sent, 1);
    assert.equal(released.tx.phase, 'PENDING');
    assert.equal(codesLeft(released.tx, policy), 2);
    assert.equal(reserveSend(released.tx, policy, T0 + 31 * S, 'resend').outcome.ok, true);
  });

  for (const detail of ['DATA CHECK FAILED', 'SUPPRESSED SENDING CODE', 'FAILED TO SEND TO NUMBER'] as const) {
    it(`a first send refused with ${detail} makes the transaction FAILED`, () => {
      const r = reserveSend(newTx(), policy, T0, 'first');
      if (!r.outcome.ok) throw new Error('refused');
      const released = releaseSend(r.tx, r.outcome.reservation_id, T0 + 2 * S, { detail, destination: A });
      assert.deepEqual(released.outcome, { ok: true, failed: true });
      assert.equal(released.tx.phase, 'FAILED');
      assert.equal(released.tx.failure_detail, detail);
      assert.equal(released.tx.finished_at, T0 + 2 * S);
      assert.equal(released.tx.codes_sent, 0);
      assert.deepEqual(released.tx.initial_destination, A);
      assert.equal(viewState(released.tx, policy, T0 + 3 * S), 'FAILED');
    });
  }

  it('a first send released without a failure (stopped by a rate limit) leaves the transaction PENDING', () => {
    const r = reserveSend(newTx(), policy, T0, 'first');
    if (!r.outcome.ok) throw new Error('refused');
    const released = releaseSend(r.tx, r.outcome.reservation_id, T0);
    assert.equal(released.tx.phase, 'PENDING');
    assert.equal(reserveSend(released.tx, policy, T0, 'first').outcome.ok, true);
  });

  it('a failed resend after a code reached the user leaves the transaction whole', () => {
    const { tx } = send(newTx(), policy, T0);
    const r = reserveSend(tx, policy, T0 + 30 * S, 'resend');
    if (!r.outcome.ok) throw new Error('refused');
    const released = releaseSend(r.tx, r.outcome.reservation_id, T0 + 31 * S, { detail: 'FAILED TO SEND TO NUMBER' });
    assert.equal(released.tx.phase, 'PENDING');
    assert.equal(released.tx.failure_detail, null);
  });

  it('a finished transaction sends nothing: NO_PENDING_CODE', () => {
    const r = reserveSend(newTx(), policy, T0, 'first');
    if (!r.outcome.ok) throw new Error('refused');
    const failed = releaseSend(r.tx, r.outcome.reservation_id, T0, { detail: 'DATA CHECK FAILED' }).tx;
    assert.deepEqual(reserveSend(failed, policy, T0 + 60 * S, 'resend').outcome, { ok: false, code: 'NO_PENDING_CODE' });
  });

  it('a transaction opened without a pre-pipe (TOTP) sends nothing: NO_PENDING_CODE', () => {
    assert.deepEqual(reserveSend(newTx({ sends_codes: false }), policy, T0, 'first').outcome, { ok: false, code: 'NO_PENDING_CODE' });
  });

  it('committing or releasing a reservation the record does not hold answers UNKNOWN_RESERVATION', () => {
    const tx = newTx();
    const code = { id: 'x', hash: 'h', destination: A, sent_at: T0, expires_at: T0 + 600 * S };
    assert.deepEqual(commitSend(tx, policy, 'other:s9', code).outcome, { ok: false, code: 'UNKNOWN_RESERVATION' });
    assert.deepEqual(releaseSend(tx, 'other:s9', T0).outcome, { ok: false, code: 'UNKNOWN_RESERVATION' });
  });

  it('reservation ids carry the transaction id, so a replaced record never accepts an old reservation', () => {
    const r = reserveSend(newTx({ id: 'first-tx' }), policy, T0, 'first');
    if (!r.outcome.ok) throw new Error('refused');
    const replacement = reserveSend(newTx({ id: 'second-tx' }), policy, T0, 'first').tx;
    assert.match(r.outcome.reservation_id, /^first-tx:/);
    assert.equal(releaseSend(replacement, r.outcome.reservation_id, T0).outcome.ok, false);
  });
});
