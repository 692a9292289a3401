import { consumeAll } from '../limits/rate-limits.js';
import { OtpError } from '../errors.js';
import { normaliseEnteredCode } from './code-hash.js';
import type { SendContext } from './otp-sending.js';
import type { OtpRequest } from './otp-request.js';
import { maxEntries } from './policy.js';
import type { TransactionRecord } from './transaction-types.js';

/**
 * One entry of a code, in SPEC section 3's order: lockout, rate limits, reserve an attempt (atomic), the
 * validation pipe, record the outcome (atomic). Exactly allowed_otp_retry + 1 entries are ever evaluated,
 * however many arrive in parallel.
 */
export interface EntryContext extends SendContext {
  validatePipeId: string;
}

export type EntryResult =
  | { ok: true; tx: TransactionRecord; attempt: number }
  | { ok: false; error: OtpError };

export async function enterCode(c: EntryContext, r: OtpRequest, entered: string): Promise<EntryResult> {
  const { store, limits } = c.services;
  const now = c.services.now();
  const tx = await store.get(r.key, now);
  if (!tx) return refuse(r, new OtpError('NO_PENDING_CODE'), 'no transaction');
  if (tx.phase === 'ABORTED') return refuse(r, new OtpError('MAX_ATTEMPTS', { aborted: true, attempts_left: 0 }), 'aborted');

  const lock = await store.getLock(r.key.authenticatorId, r.subject, now);
  if (lock) {
    const retryAfter = Math.max(1, Math.ceil((lock.until - now) / 1000));
    r.emit('OTP_200009', { retry_after: retryAfter });
    return { ok: false, error: new OtpError('LOCKED', { retry_after: retryAfter }) };
  }

  const budget = await consumeAll(limits, [
    { limit: 'entries_per_transaction_per_minute', key: tx.id },
    { limit: 'failures_per_subject_per_hour', key: r.subject },
  ]);
  if (!budget.ok) {
    r.emit('OTP_200011', { limit: budget.limit });
    return { ok: false, error: new OtpError('RATE_LIMITED', { retry_after: budget.retryAfterSeconds }) };
  }
  // The failure budget is taken up front so parallel entries cannot overspend it; a right or unevaluated entry gives it back.
  const giveBack = () => limits.refund('failures_per_subject_per_hour', r.subject);

  const reserved = await store.reserveAttempt(r.key, c.policy, c.services.now());
  if (!reserved.tx || !reserved.outcome.ok) {
    await giveBack();
    const outcome = reserved.outcome;
    if (!reserved.tx || outcome.ok || outcome.code !== 'MAX_ATTEMPTS') return refuse(r, new OtpError('NO_PENDING_CODE'), 'nothing pending');
    return refuse(r, new OtpError('MAX_ATTEMPTS', { aborted: outcome.aborted, attempts_left: outcome.attempts_left }), 'no attempts left');
  }

  const pipe = c.services.pipes.get(c.validatePipeId);
  if (!pipe) throw new Error(`validation pipe ${c.validatePipeId} is not built`);
  const flow = r.flow({ transaction_id: tx.id, otp: normaliseEnteredCode(entered, c.config.code.charset), live_codes: [...reserved.outcome.live_codes] });
  const result = await pipe.run(flow);
  const matched = result.ok ? flow.state.matched_code_id : undefined;
  // Without a pre-pipe nothing was sent: the validation pipe (TOTP, say) decides alone, and passing is accepting.
  const verdict = matched ? { matchedCodeId: matched } : { accepted: result.ok && !tx.sends_codes };
  const recorded = await store.recordOutcome(r.key, c.policy, reserved.outcome.reservation_id, verdict, c.services.now());
  if (!recorded.tx) {
    await giveBack();
    return refuse(r, new OtpError('NO_PENDING_CODE'), 'transaction gone');
  }
  const o = recorded.outcome;
  if (o.ok) {
    await giveBack();
    r.emit('WEB_100019', { attempt: o.attempt, attempts_left: o.attempts_left, aborted: false });
    return { ok: true, tx: recorded.tx, attempt: o.attempt };
  }
  switch (o.code) {
    case 'INVALID_OTP': case 'OTP_EXPIRED':
      r.emit('WEB_100020', { attempt: o.attempt, attempts_left: o.attempts_left, aborted: false, reason: o.code });
      if (o.code === 'OTP_EXPIRED') r.emit('OTP_200010', { attempt: o.attempt });
      return { ok: false, error: new OtpError(o.code, { attempts_left: o.attempts_left }) };
    case 'MAX_ATTEMPTS':
      if (o.evaluated) {
        r.emit('WEB_100020', { attempt: o.attempt, attempts_left: 0, aborted: true, reason: 'MAX_ATTEMPTS' });
        r.emit('OTP_200008', { attempt: o.attempt, lockout_until: o.lockout ? new Date(o.lockout.until).toISOString() : null, max_entries: maxEntries(c.policy) });
        return { ok: false, error: new OtpError('MAX_ATTEMPTS', { aborted: true, attempts_left: 0 }) };
      }
      await giveBack();
      return refuse(r, new OtpError('MAX_ATTEMPTS', { aborted: true, attempts_left: 0 }), 'aborted');
    default:
      await giveBack();
      return refuse(r, new OtpError('NO_PENDING_CODE'), o.code === 'NO_PENDING_CODE' ? 'already completed' : 'reservation lost');
  }
}

function refuse(r: OtpRequest, error: OtpError, reason: string): EntryResult {
  r.emit('OTP_200007', { reason: `${error.code}: ${reason}` });
  return { ok: false, error };
}
