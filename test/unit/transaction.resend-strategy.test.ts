import assert from 'node:assert/strict';
import { liveCodes } from '../../src/transaction/index.js';
import { S, T0, enter, newTx, policyWith, send } from './transaction.fixtures.js';

describe('transaction: an earlier code after a resend', () => {
  it('with keep_previous the earlier code stays valid and is accepted (a late SMS still works)', () => {
    const policy = policyWith({ resend_strategy: 'keep_previous' });
    const first = send(newTx(), policy, T0);
    const second = send(first.tx, policy, T0 + 30 * S, 'resend');
    assert.deepEqual(
      liveCodes(second.tx, T0 + 31 * S).map((c) => c.id),
      [first.codeId, second.codeId],
    );
    const { outcome } = enter(second.tx, policy, T0 + 40 * S, first.codeId);
    assert.equal(outcome?.code, 'COMPLETED');
  });

  it('with keep_previous the earlier code still dies at its own expiry, not the newest one', () => {
    const policy = policyWith({ resend_strategy: 'keep_previous' });
    const first = send(newTx(), policy, T0);
    const second = send(first.tx, policy, T0 + 30 * S, 'resend');
    assert.deepEqual(liveCodes(second.tx, T0 + 600 * S).map((c) => c.id), [second.codeId]);
    const { outcome } = enter(second.tx, policy, T0 + 600 * S, first.codeId);
    assert.equal(outcome?.code, 'INVALID_OTP', 'the newest code is still live, so it is not OTP_EXPIRED');
  });

  it('with new the earlier code is killed: entering it is a wrong entry', () => {
    const policy = policyWith({ resend_strategy: 'new' });
    const first = send(newTx(), policy, T0);
    const second = send(first.tx, policy, T0 + 30 * S, 'resend');
    assert.equal(second.tx.codes.find((c) => c.id === first.codeId)?.killed, true);
    assert.deepEqual(liveCodes(second.tx, T0 + 31 * S).map((c) => c.id), [second.codeId]);
    const { outcome } = enter(second.tx, policy, T0 + 31 * S, first.codeId);
    assert.equal(outcome?.code, 'INVALID_OTP');
    assert.equal(outcome !== null && 'attempts_left' in outcome ? outcome.attempts_left : -1, 2);
  });

  it('with new the newest code is accepted', () => {
    const policy = policyWith({ resend_strategy: 'new' });
    const first = send(newTx(), policy, T0);
    const second = send(first.tx, policy, T0 + 30 * S, 'resend');
    assert.equal(enter(second.tx, policy, T0 + 31 * S, second.codeId).outcome?.code, 'COMPLETED');
  });
});
