/**
 * An entry is two steps around the validation pipe: `reserveAttempt` holds one of the transaction's
 * allowed_otp_retry + 1 entries before anything is evaluated, and `recordOutcome` settles it. Wrong entries plus
 * entries in flight never exceed that number, so no amount of parallel requests gets more entries evaluated.
 * Attempts belong to the transaction, never to one code: a resend gives none back.
 */
import { maxEntries, type OtpPolicy } from './policy.js';
import type { EntryVerdict, RecordOutcome, ReserveAttemptOutcome, Transition, TransactionRecord } from './record.js';
import { bump } from './open.js';
import { appended, withoutId } from './lists.js';
import { lockoutAfterAbort } from './lockout.js';
import { attemptsLeft, isCodeLive, liveCodes, newestCode } from './view.js';

/**
 * Refusals, unevaluated: ABORTED answers MAX_ATTEMPTS (aborted) as every entry after an abort must; another
 * finished phase, or a PENDING transaction that sends codes and has sent none, answers NO_PENDING_CODE; all
 * remaining attempts in flight answer MAX_ATTEMPTS (not aborted). An EXPIRED transaction is still evaluated:
 * the entry matches nothing and counts as OTP_EXPIRED, as SPEC section 3 describes.
 */
export function reserveAttempt(tx: TransactionRecord, policy: OtpPolicy, now: number): Transition<ReserveAttemptOutcome> {
  if (tx.phase === 'ABORTED') {
    return { tx, outcome: { ok: false, code: 'MAX_ATTEMPTS', evaluated: false, aborted: true, attempts_left: 0 } };
  }
  if (tx.phase !== 'PENDING' || (tx.sends_codes && tx.codes_sent === 0)) {
    return { tx, outcome: { ok: false, code: 'NO_PENDING_CODE' } };
  }
  if (tx.wrong_entries + tx.entry_reservations.length >= maxEntries(policy)) {
    return {
      tx,
      outcome: { ok: false, code: 'MAX_ATTEMPTS', evaluated: false, aborted: false, attempts_left: attemptsLeft(tx, policy) },
    };
  }
  const next = bump(tx);
  const reservation_id = `${tx.id}:a${next.version}`;
  return {
    tx: { ...next, entry_reservations: appended(tx.entry_reservations, { id: reservation_id, at: now }) },
    outcome: { ok: true, reservation_id, live_codes: liveCodes(tx, now) },
  };
}

/**
 * Settles a reserved entry at `now` (the time the pipe finished). Accepting is a compare-and-set: only a
 * PENDING transaction and a code still live at `now` complete it, so a code works once and a second accept
 * (of the same or another code) answers NO_PENDING_CODE. A match of a code that died meanwhile is a wrong entry.
 * A wrong entry on a transaction finished meanwhile (completed by a parallel entry, cancelled) is not counted.
 */
export function recordOutcome(
  tx: TransactionRecord,
  policy: OtpPolicy,
  reservationId: string,
  verdict: EntryVerdict,
  now: number,
): Transition<RecordOutcome> {
  if (!tx.entry_reservations.some((r) => r.id === reservationId)) {
    return { tx, outcome: { ok: false, code: 'UNKNOWN_RESERVATION' } };
  }
  const released: TransactionRecord = {
    ...bump(tx),
    entry_reservations: withoutId(tx.entry_reservations, reservationId),
  };
  if (tx.phase === 'ABORTED') {
    // Unreachable while the invariant holds (an abort leaves no entry in flight); answered as any later entry.
    return { tx: released, outcome: { ok: false, code: 'MAX_ATTEMPTS', evaluated: false, aborted: true, attempts_left: 0 } };
  }
  if (tx.phase !== 'PENDING') return { tx: released, outcome: { ok: false, code: 'NO_PENDING_CODE' } };
  const matched = verdict.matchedCodeId === undefined ? undefined : tx.codes.find((c) => c.id === verdict.matchedCodeId);
  const accepts = matched !== undefined ? isCodeLive(tx, matched, now) : verdict.accepted === true && !tx.sends_codes;
  const attempt = tx.wrong_entries + 1;
  if (accepts) {
    return {
      tx: { ...released, phase: 'COMPLETED', accepted_code_id: matched?.id ?? null, finished_at: now, completed_at: now },
      outcome: { ok: true, code: 'COMPLETED', code_id: matched?.id ?? null, attempt, attempts_left: attemptsLeft(tx, policy) },
    };
  }
  const wrong: TransactionRecord = { ...released, wrong_entries: attempt };
  if (attempt >= maxEntries(policy)) {
    return {
      tx: { ...wrong, phase: 'ABORTED', finished_at: now },
      outcome: {
        ok: false,
        code: 'MAX_ATTEMPTS',
        evaluated: true,
        aborted: true,
        attempt,
        attempts_left: 0,
        lockout: lockoutAfterAbort(tx, policy, now),
      },
    };
  }
  const newest = newestCode(tx);
  const expired = newest !== undefined && now >= newest.expires_at;
  return {
    tx: wrong,
    outcome: { ok: false, code: expired ? 'OTP_EXPIRED' : 'INVALID_OTP', attempt, attempts_left: attemptsLeft(wrong, policy) },
  };
}
