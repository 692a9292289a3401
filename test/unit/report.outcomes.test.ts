import assert from 'node:assert/strict';
import { buildReport, type OtpReport } from '../../src/transaction/report.js';
import { cancel, releaseSend, reserveSend, type FailureDetail, type TransactionRecord } from '../../src/transaction/index.js';
import { A, B, C, D, S, T0, enter, newTx, policyWith, send } from './transaction.fixtures.js';

const policy = policyWith();
const iso = (ms: number): string => new Date(ms).toISOString();

type Row = Pick<OtpReport, 'status' | 'result' | 'action' | 'detail'> & { attempts: OtpReport['breakdown']['attempts']['result'] };
const row = (r: OtpReport): Row => ({ status: r.status, result: r.result, attempts: r.breakdown.attempts.result, action: r.action, detail: r.detail });

function failedWith(detail: FailureDetail): TransactionRecord {
  const r = reserveSend(newTx({ reference: 'ref-42' }), policy, T0, 'first');
  if (!r.outcome.ok) throw new Error('refused');
  return releaseSend(r.tx, r.outcome.reservation_id, T0 + S, { detail }).tx;
}

describe('report: every outcome of SPEC section 5', () => {
  it('code sent, waiting: pending, no result, PENDING, TRANSACTION REQUIRES FURTHER ATTENTION', () => {
    const r = buildReport(send(newTx(), policy, T0).tx, policy, T0 + S);
    assert.deepEqual(row(r), { status: 'pending', result: null, attempts: null, action: 'PENDING', detail: 'TRANSACTION REQUIRES FURTHER ATTENTION' });
    assert.equal(r.breakdown.phone_number.result, null);
    assert.equal(r.properties.completed_at, null);
  });

  it('a code accepted: approved, clear, PASS, ALL CHECKS PASSED', () => {
    const sent = send(newTx(), policy, T0);
    const wrongOnce = enter(sent.tx, policy, T0 + S).tx;
    const done = enter(wrongOnce, policy, T0 + 2 * S, sent.codeId).tx;
    const r = buildReport(done, policy, T0 + 3 * S);
    assert.deepEqual(row(r), { status: 'approved', result: 'clear', attempts: 'clear', action: 'PASS', detail: 'ALL CHECKS PASSED' });
    assert.equal(r.breakdown.phone_number.result, 'clear');
    assert.equal(r.attempt_count, 2);
    assert.equal(r.properties.completed_at, iso(T0 + 2 * S));
  });

  it('aborted, too many wrong entries: reject, consider, FAIL, FAILED OUT-OF-BAND CHECK', () => {
    let tx = send(newTx(), policy, T0).tx;
    for (let i = 0; i < 3; i += 1) tx = enter(tx, policy, T0 + S).tx;
    const r = buildReport(tx, policy, T0 + 2 * S);
    assert.deepEqual(row(r), { status: 'reject', result: 'consider', attempts: 'consider', action: 'FAIL', detail: 'FAILED OUT-OF-BAND CHECK' });
    assert.equal(r.attempt_count, 3);
  });

  it('every code expired, none left: reject, consider, FAIL, FAILED OUT-OF-BAND CHECK, completed when the last code died', () => {
    let tx = send(newTx(), policy, T0).tx;
    tx = send(tx, policy, T0 + 30 * S, 'resend').tx;
    tx = send(tx, policy, T0 + 60 * S, 'resend').tx;
    const r = buildReport(tx, policy, T0 + 660 * S);
    assert.deepEqual(row(r), { status: 'reject', result: 'consider', attempts: 'consider', action: 'FAIL', detail: 'FAILED OUT-OF-BAND CHECK' });
    assert.equal(r.properties.completed_at, iso(T0 + 660 * S));
    assert.equal(r.properties.codes_sent, 3);
    assert.equal(r.properties.last_code_sent_at, iso(T0 + 60 * S));
  });

  it('cancelled: reject, consider, FAIL, TRANSACTION CANCELLED', () => {
    const r = buildReport(cancel(send(newTx(), policy, T0).tx, T0 + S).tx, policy, T0 + 2 * S);
    assert.deepEqual(row(r), { status: 'reject', result: 'consider', attempts: 'consider', action: 'FAIL', detail: 'TRANSACTION CANCELLED' });
  });

  for (const detail of ['DATA CHECK FAILED', 'SUPPRESSED SENDING CODE', 'FAILED TO SEND TO NUMBER'] as const) {
    it(`first send refused (${detail}): reject, consider, attempts null, FAIL`, () => {
      const r = buildReport(failedWith(detail), policy, T0 + 2 * S);
      assert.deepEqual(row(r), { status: 'reject', result: 'consider', attempts: null, action: 'FAIL', detail });
      assert.equal(r.breakdown.phone_number.result, null);
      assert.equal(r.properties.codes_sent, 0);
      assert.equal(r.properties.last_code_sent_at, null);
      assert.equal(r.reference, 'ref-42');
    });
  }

  it('phone_number is clear with 2 distinct changes and consider with 3, which makes an approved result consider', () => {
    const p = policyWith({ allow_change: true, max_changes: 3, max_codes: 10 });
    let tx = send(newTx(), p, T0).tx;
    tx = send(tx, p, T0 + S, 'change', B).tx;
    const two = send(tx, p, T0 + 2 * S, 'change', C);
    assert.equal(buildReport(enter(two.tx, p, T0 + 3 * S, two.codeId).tx, p, T0 + 3 * S).breakdown.phone_number.result, 'clear');
    const three = send(two.tx, p, T0 + 3 * S, 'change', D);
    const r = buildReport(enter(three.tx, p, T0 + 4 * S, three.codeId).tx, p, T0 + 4 * S);
    assert.equal(r.breakdown.phone_number.result, 'consider');
    assert.equal(r.breakdown.attempts.result, 'clear');
    assert.equal(r.status, 'approved');
    assert.equal(r.action, 'PASS');
    assert.equal(r.result, 'consider');
    assert.equal(r.properties.phone_number_changes, 3);
  });

  it('carries the properties with whole destinations and ISO timestamps', () => {
    const p = policyWith({ allow_change: true, max_codes: 10 });
    let tx = send(newTx({ reference: 'case-7' }), p, T0).tx;
    tx = send(tx, p, T0 + S, 'change', B).tx;
    tx = send(tx, p, T0 + 2 * S, 'change', A).tx;
    const r = buildReport(tx, p, T0 + 3 * S);
    assert.equal(r.transaction_id, 'tx1');
    assert.equal(r.reference, 'case-7');
    assert.equal(r.attempt_count, 0);
    assert.deepEqual(r.properties, {
      channel: 'sms',
      phone_number_changes: 1,
      destination_changes: [
        { from: A.address, to: B.address, at: iso(T0 + S) },
        { from: B.address, to: A.address, at: iso(T0 + 2 * S) },
      ],
      initial_destination: A.address,
      final_destination: A.address,
      codes_sent: 3,
      last_code_sent_at: iso(T0 + 2 * S),
      created_at: iso(T0),
      completed_at: null,
    });
  });

  it('is plain JSON: it survives a round trip unchanged', () => {
    const r = buildReport(send(newTx(), policy, T0).tx, policy, T0 + S);
    assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
  });
});
