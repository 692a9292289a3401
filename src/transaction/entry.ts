/**
 * An entry is two steps around the validation pipe: `reserveAttempt` holds one of the transaction's
 * allowed_otp_retry + 1 entries before anything is evaluated, and `recordOutcome` settles it. Wrong entries plus
 * entries in flight never exceed that number, so no amount of parallel requests gets more entries evaluated.
 * Attempts belong to the transaction, never to one code: a resend gives none back.
 *
 * A choice of a Selector passes `shared`, its login's budget across the selector's choices (SharedBudget): the
 * limit is then checked against the login's wrong entries and entries in flight, and the entry that uses the last
 * attempt aborts, whichever choice it was made in. The store applies `sharedAfterReserve` / `sharedAfterRecord` to
 * the budget in the same atomic step as the transition.
 */
import { maxEntries, type OtpPolicy } from './policy.js';
import type { EntryVerdict, RecordOutcome, ReserveAttemptOutcome, SharedBudget, Transition, TransactionRecord } from './record.js';
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
export function reserveAttempt(tx: TransactionRecord, policy: OtpPolicy, now: number, budget?: SharedBudget): Transition<ReserveAttemptOutcome> {
  const max = maxEntries(policy);
  const shared = budget === undefined ? undefined : liveShared(budget, tx, now);
  if (tx.phase === 'ABORTED' || (shared !== undefined && shared.wrong >= max)) {
    return { tx, outcome: { ok: false, code: 'MAX_ATTEMPTS', evaluated: false, aborted: true, attempts_left: 0 } };
  }
  if (tx.phase !== 'PENDING' || (tx.sends_codes && tx.codes_sent === 0)) {
    return { tx, outcome: { ok: false, code: 'NO_PENDING_CODE' } };
  }
  const used = shared === undefined ? tx.wrong_entries + tx.entry_reservations.length : shared.wrong + shared.in_flight;
  if (used >= max) {
    const left = shared === undefined ? attemptsLeft(tx, policy) : Math.max(0, max - shared.wrong);
    return { tx, outcome: { ok: false, code: 'MAX_ATTEMPTS', evaluated: false, aborted: false, attempts_left: left } };
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
  budget?: SharedBudget,
): Transition<RecordOutcome> {
  const shared = budget === undefined ? undefined : liveShared(budget, tx, now);
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
  // The entry's number and the abort count the login's wrong entries when the budget is shared.
  const attempt = (shared === undefined ? tx.wrong_entries : shared.wrong) + 1;
  const max = maxEntries(policy);
  if (accepts) {
    return {
      tx: { ...released, phase: 'COMPLETED', accepted_code_id: matched?.id ?? null, finished_at: now, completed_at: now },
      outcome: { ok: true, code: 'COMPLETED', code_id: matched?.id ?? null, attempt, attempts_left: Math.max(0, max - attempt + 1) },
    };
  }
  const wrong: TransactionRecord = {
    ...released,
    wrong_entries: tx.wrong_entries + 1,
    ...(shared !== undefined ? { group_wrong_entries: attempt } : {}),
  };
  if (attempt >= max) {
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

/** Whether a recorded entry counted as a wrong one (it used an attempt for good). */
export function countsAsWrong(outcome: RecordOutcome): boolean {
  return outcome.code === 'INVALID_OTP' || outcome.code === 'OTP_EXPIRED' || (outcome.code === 'MAX_ATTEMPTS' && outcome.evaluated);
}

/**
 * An entry whose process died between its two steps never settles its reservation. On a record that dies with the
 * record; in a shared budget it would hold an attempt for the login's whole hour. No validation pipe runs this long
 * (a valve's timeout is at most 120 s), so reservations older than this are taken as lost.
 */
export const STALE_RESERVATION_MS = 180_000;

/**
 * The budget as the entry steps count it: reservations gone stale dropped, and never fewer wrong entries than the
 * record's own (a budget lost from the store, evicted say, cannot give attempts back).
 */
export function liveShared(shared: SharedBudget, tx: TransactionRecord, now: number): SharedBudget {
  const stale = shared.reserved_at !== undefined && now - shared.reserved_at > STALE_RESERVATION_MS;
  const wrong = Math.max(shared.wrong, tx.wrong_entries);
  return stale || wrong !== shared.wrong ? { ...shared, wrong, in_flight: stale ? 0 : shared.in_flight } : shared;
}

/** The shared budget after `reserveAttempt` answered `outcome`: one more in flight when it reserved. */
export function sharedAfterReserve(shared: SharedBudget, tx: TransactionRecord, outcome: ReserveAttemptOutcome, now: number): SharedBudget {
  if (!outcome.ok) return shared;
  const live = liveShared(shared, tx, now);
  return { wrong: live.wrong, in_flight: live.in_flight + 1, reserved_at: now };
}

/**
 * The budget a new transaction of a choice starts from. Spent (an abort) and yet a transaction may start: the
 * lockout ended or the help desk lifted it (or lockouts are off), so the login gets its attempts again, as a
 * transaction replacing an aborted one does outside a selector.
 */
export function sharedOnOpen(shared: SharedBudget, policy: OtpPolicy): SharedBudget {
  return shared.wrong >= maxEntries(policy) ? { wrong: 0, in_flight: 0 } : shared;
}

/**
 * The shared budget once a reservation `reserveAttempt` took is settled: one fewer in flight, one more wrong if it
 * counted. Also when the record answered UNKNOWN_RESERVATION or was gone: the reservation was taken from the budget.
 */
export function sharedAfterRecord(shared: SharedBudget, tx: TransactionRecord | null, outcome: RecordOutcome | null, now: number): SharedBudget {
  const live = tx === null ? shared : liveShared(shared, tx, now);
  const counted = outcome !== null && countsAsWrong(outcome) ? 1 : 0;
  return { ...live, wrong: live.wrong + counted, in_flight: Math.max(0, live.in_flight - 1) };
}
