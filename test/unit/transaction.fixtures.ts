// Shared builders for the state-machine tests (not a test file itself: mocha only loads *.test.ts).
import assert from 'node:assert/strict';
import {
  commitSend,
  makeOtpPolicy,
  openTransaction,
  recordOutcome,
  reserveAttempt,
  reserveSend,
  type OtpPolicy,
  type RecordOutcome,
  type ReserveAttemptOutcome,
  type SendKind,
  type TransactionInit,
  type TransactionRecord,
  type TxDestination,
} from '../../src/transaction/index.js';

export const S = 1000;
export const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

export const A: TxDestination = { address: '+46701234567', country: 'SE', line_type: 'mobile' };
export const B: TxDestination = { address: '+46709876543', country: 'SE', line_type: 'mobile' };
export const C: TxDestination = { address: '+447400123456', country: 'GB', line_type: 'mobile' };
export const D: TxDestination = { address: '+4930123456', country: 'DE', line_type: 'landline' };

export const policyWith = (overrides: Partial<OtpPolicy> = {}): OtpPolicy => makeOtpPolicy(overrides);

export function newTx(init: Partial<TransactionInit> = {}, now = T0): TransactionRecord {
  return openTransaction({ id: 'tx1', authenticator_id: 'otp', subject: 'alice', session_id: 'sess1', ...init }, now);
}

let codeSeq = 0;

/** Reserves and commits one send; fails the test when the reservation is refused. */
export function send(
  tx: TransactionRecord,
  policy: OtpPolicy,
  now: number,
  kind: SendKind = 'first',
  destination: TxDestination = A,
): { tx: TransactionRecord; codeId: string } {
  const reserved = reserveSend(tx, policy, now, kind, kind === 'change' ? destination : undefined);
  assert.equal(reserved.outcome.ok, true, `send refused: ${JSON.stringify(reserved.outcome)}`);
  if (!reserved.outcome.ok) throw new Error('unreachable');
  codeSeq += 1;
  const codeId = `c${codeSeq}`;
  const committed = commitSend(reserved.tx, policy, reserved.outcome.reservation_id, {
    id: codeId,
    hash: `hash-${codeId}`,
    destination,
    sent_at: now,
    expires_at: now + policy.ttl_seconds * S,
    channel: 'sms',
  });
  assert.equal(committed.outcome.ok, true);
  return { tx: committed.tx, codeId };
}

/** One whole entry: reserve, then record the verdict at the same time. */
export function enter(
  tx: TransactionRecord,
  policy: OtpPolicy,
  now: number,
  matchedCodeId?: string,
): { tx: TransactionRecord; reserved: ReserveAttemptOutcome; outcome: RecordOutcome | null } {
  const r = reserveAttempt(tx, policy, now);
  if (!r.outcome.ok) return { tx: r.tx, reserved: r.outcome, outcome: null };
  const verdict = matchedCodeId === undefined ? {} : { matchedCodeId };
  const rec = recordOutcome(r.tx, policy, r.outcome.reservation_id, verdict, now);
  return { tx: rec.tx, reserved: r.outcome, outcome: rec.outcome };
}
