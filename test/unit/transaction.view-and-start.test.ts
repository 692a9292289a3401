import assert from 'node:assert/strict';
import {
  cancel,
  codesLeft,
  expiresIn,
  forgetAt,
  releaseSend,
  reserveSend,
  resendIn,
  startAction,
  viewState,
  type Lockout,
  type TransactionRecord,
} from '../../src/transaction/index.js';
import { S, T0, enter, newTx, policyWith, send } from './transaction.fixtures.js';

const policy = policyWith();
const lock = (until: number): Lockout => ({ authenticator_id: 'otp', subject: 'alice', until });

function exhausted(): TransactionRecord {
  let tx = send(newTx(), policy, T0).tx;
  tx = send(tx, policy, T0 + 30 * S, 'resend').tx;
  return send(tx, policy, T0 + 60 * S, 'resend').tx; // the last code lives until T0 + 660 s
}

describe('transaction: derived state and countdowns', () => {
  it('EXPIRED is derived: max_codes used and the last code expired, from exactly its expires_at', () => {
    const tx = exhausted();
    assert.equal(viewState(tx, policy, T0 + 660 * S - 1), 'PENDING');
    assert.equal(viewState(tx, policy, T0 + 660 * S), 'EXPIRED');
    assert.equal(tx.phase, 'PENDING', 'nothing is written to make it expired');
  });

  it('is not EXPIRED while codes are left: every code expired, but a resend can still come', () => {
    const { tx } = send(newTx(), policy, T0);
    assert.equal(viewState(tx, policy, T0 + 10_000 * S), 'PENDING');
    assert.equal(resendIn(tx, policy, T0 + 10_000 * S), 0);
  });

  it('is not EXPIRED while the last allowed send is still in flight', () => {
    let tx = send(newTx(), policy, T0).tx;
    tx = send(tx, policy, T0 + 30 * S, 'resend').tx;
    tx = reserveSend(tx, policy, T0 + 700 * S, 'resend').tx;
    assert.equal(codesLeft(tx, policy), 0);
    assert.equal(viewState(tx, policy, T0 + 700 * S), 'PENDING');
  });

  it('expires_in counts down the newest code in whole seconds, rounded up', () => {
    const { tx } = send(newTx(), policy, T0);
    assert.equal(expiresIn(tx, T0), 600);
    assert.equal(expiresIn(tx, T0 + 0.5 * S), 600);
    assert.equal(expiresIn(tx, T0 + 600 * S), 0);
    assert.equal(expiresIn(newTx(), T0), null);
  });

  it('a cancel finishes PENDING or EXPIRED; cancelling twice is fine; a completed one keeps its outcome', () => {
    const c = cancel(exhausted(), T0 + 700 * S);
    assert.equal(c.tx.phase, 'CANCELLED');
    assert.equal(c.tx.finished_at, T0 + 700 * S);
    assert.deepEqual(cancel(c.tx, T0 + 701 * S).outcome, { ok: true, already: true });
    const sent = send(newTx(), policy, T0);
    const done = enter(sent.tx, policy, T0 + S, sent.codeId).tx;
    assert.deepEqual(cancel(done, T0 + 2 * S).outcome, { ok: false, code: 'NO_PENDING_CODE', phase: 'COMPLETED' });
  });

  it('a finished record is forgotten ttl_seconds after it finished', () => {
    const c = cancel(send(newTx(), policy, T0).tx, T0 + 5 * S).tx;
    assert.equal(forgetAt(c, policy), T0 + 5 * S + 600 * S);
  });

  it('a pending record is forgotten ttl_seconds after its newest code expired (first-code time when none)', () => {
    assert.equal(forgetAt(exhausted(), policy), T0 + 660 * S + 600 * S);
    assert.equal(forgetAt(newTx(), policy), T0 + 1200 * S);
  });
});

describe('transaction: what GET does (startAction)', () => {
  const now = T0 + 10 * S;

  it('none: start; none while locked: LOCKED with retry_after', () => {
    assert.deepEqual(startAction(null, policy, now, null), { action: 'start', replaces: null });
    assert.deepEqual(startAction(null, policy, now, lock(now + 90.5 * S)), { action: 'locked', retry_after: 91 });
  });

  it('PENDING and EXPIRED: show, never send', () => {
    const { tx } = send(newTx(), policy, T0);
    assert.deepEqual(startAction(tx, policy, now, null), { action: 'show', state: 'PENDING' });
    assert.deepEqual(startAction(exhausted(), policy, T0 + 660 * S, null), { action: 'show', state: 'EXPIRED' });
  });

  it('COMPLETED: go on to the next location', () => {
    const sent = send(newTx(), policy, T0);
    const done = enter(sent.tx, policy, T0 + S, sent.codeId).tx;
    assert.deepEqual(startAction(done, policy, now, null), { action: 'completed' });
  });

  it('ABORTED: the failure while its lockout lasts, a new transaction once it ended', () => {
    const aborted = enter(enter(enter(send(newTx(), policy, T0).tx, policy, T0).tx, policy, T0).tx, policy, T0).tx;
    assert.equal(aborted.phase, 'ABORTED');
    const l = lock(T0 + 600 * S);
    assert.deepEqual(startAction(aborted, policy, T0 + 599 * S, l), { action: 'aborted' });
    assert.deepEqual(startAction(aborted, policy, T0 + 600 * S, l), { action: 'start', replaces: 'ABORTED' });
  });

  it('CANCELLED and FAILED: a new transaction, unless the subject is locked', () => {
    const cancelled = cancel(newTx(), T0).tx;
    assert.deepEqual(startAction(cancelled, policy, now, null), { action: 'start', replaces: 'CANCELLED' });
    assert.equal(startAction(cancelled, policy, now, lock(now + S)).action, 'locked');
    const r = reserveSend(newTx(), policy, T0, 'first');
    if (!r.outcome.ok) throw new Error('refused');
    const failed = releaseSend(r.tx, r.outcome.reservation_id, T0, { detail: 'FAILED TO SEND TO NUMBER' }).tx;
    assert.deepEqual(startAction(failed, policy, now, null), { action: 'start', replaces: 'FAILED' });
  });

  it('a PENDING transaction answers LOCKED while another session\'s abort locks the subject (start would refuse it)', () => {
    const { tx } = send(newTx(), policy, T0);
    assert.deepEqual(startAction(tx, policy, now, lock(now + 60 * S)), { action: 'locked', retry_after: 60 });
  });

  it('a COMPLETED transaction goes on even while the subject is locked', () => {
    const sent = send(newTx(), policy, T0);
    const done = enter(sent.tx, policy, T0 + S, sent.codeId).tx;
    assert.deepEqual(startAction(done, policy, now, lock(now + 60 * S)), { action: 'completed' });
  });
});
