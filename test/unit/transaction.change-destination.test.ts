import assert from 'node:assert/strict';
import { codesLeft, distinctChanges, liveCodes, reserveSend } from '../../src/transaction/index.js';
import { A, B, C, D, S, T0, enter, newTx, policyWith, send } from './transaction.fixtures.js';

const changing = policyWith({ allow_change: true, max_changes: 2, max_codes: 10 });

describe('transaction: changing the destination', () => {
  it('is refused with MAX_CHANGES when allow_change is false (login MFA)', () => {
    const policy = policyWith();
    const { tx } = send(newTx(), policy, T0);
    assert.deepEqual(reserveSend(tx, policy, T0 + 60 * S, 'change', B).outcome, { ok: false, code: 'MAX_CHANGES' });
  });

  it('sends at once, not held by the resend cooldown', () => {
    const { tx } = send(newTx(), changing, T0);
    assert.equal(reserveSend(tx, changing, T0 + S, 'change', B).outcome.ok, true);
  });

  it('to the current destination is a resend: the cooldown holds it', () => {
    const { tx } = send(newTx(), changing, T0);
    assert.deepEqual(reserveSend(tx, changing, T0 + S, 'change', A).outcome, { ok: false, code: 'RESEND_TOO_SOON', retry_after: 29 });
  });

  it('is recorded as { from, to, at } and kills every live code sent to another destination', () => {
    const keep = policyWith({ allow_change: true, resend_strategy: 'keep_previous', max_codes: 10 });
    const a1 = send(newTx(), keep, T0);
    const a2 = send(a1.tx, keep, T0 + 30 * S, 'resend');
    const b1 = send(a2.tx, keep, T0 + 40 * S, 'change', B);
    assert.deepEqual(b1.tx.destination_changes, [{ from: A.address, to: B.address, at: T0 + 40 * S }]);
    assert.deepEqual(b1.tx.current_destination, B);
    assert.deepEqual(liveCodes(b1.tx, T0 + 41 * S).map((c) => c.id), [b1.codeId]);
    assert.equal(enter(b1.tx, keep, T0 + 41 * S, a2.codeId).outcome?.code, 'INVALID_OTP');
  });

  it('back to the initial destination counts no new change (A -> B -> A is one), and old codes to A stay dead', () => {
    const a1 = send(newTx(), changing, T0);
    const b = send(a1.tx, changing, T0 + S, 'change', B);
    const back = send(b.tx, changing, T0 + 2 * S, 'change', A);
    assert.equal(distinctChanges(back.tx), 1);
    assert.equal(back.tx.destination_changes.length, 2);
    assert.deepEqual(liveCodes(back.tx, T0 + 3 * S).map((c) => c.id), [back.codeId]);
  });

  it('allows max_changes distinct destinations and refuses one more with MAX_CHANGES; used ones stay allowed', () => {
    let tx = send(newTx(), changing, T0).tx;
    tx = send(tx, changing, T0 + S, 'change', B).tx;
    tx = send(tx, changing, T0 + 2 * S, 'change', C).tx;
    assert.equal(distinctChanges(tx), 2);
    assert.deepEqual(reserveSend(tx, changing, T0 + 3 * S, 'change', D).outcome, { ok: false, code: 'MAX_CHANGES' });
    assert.equal(reserveSend(tx, changing, T0 + 3 * S, 'change', B).outcome.ok, true);
    assert.equal(reserveSend(tx, changing, T0 + 3 * S, 'change', A).outcome.ok, true);
  });

  it('counts changes still in flight, so parallel changes cannot pass max_changes', () => {
    const one = policyWith({ allow_change: true, max_changes: 1, max_codes: 10 });
    const { tx } = send(newTx(), one, T0);
    const toB = reserveSend(tx, one, T0 + S, 'change', B);
    assert.equal(toB.outcome.ok, true);
    assert.deepEqual(reserveSend(toB.tx, one, T0 + S, 'change', C).outcome, { ok: false, code: 'MAX_CHANGES' });
    assert.equal(reserveSend(toB.tx, one, T0 + S, 'change', B).outcome.ok, true, 'the same new destination is still one change');
  });

  it('counts toward max_codes: every code sent, first, resent or after a change', () => {
    const p = policyWith({ allow_change: true, max_changes: 5, max_codes: 3 });
    let tx = send(newTx(), p, T0).tx;
    tx = send(tx, p, T0 + S, 'change', B).tx;
    tx = send(tx, p, T0 + 2 * S, 'change', C).tx;
    assert.equal(codesLeft(tx, p), 0);
    assert.deepEqual(reserveSend(tx, p, T0 + 3 * S, 'change', D).outcome, { ok: false, code: 'MAX_CODES' });
  });

  it('with max_changes 0 only the initial destination is allowed', () => {
    const none = policyWith({ allow_change: true, max_changes: 0 });
    const { tx } = send(newTx(), none, T0);
    assert.deepEqual(reserveSend(tx, none, T0 + S, 'change', B).outcome, { ok: false, code: 'MAX_CHANGES' });
  });

  it('needs the normalised destination', () => {
    const { tx } = send(newTx(), changing, T0);
    assert.throws(() => reserveSend(tx, changing, T0 + S, 'change'), /normalised destination/);
  });
});
