/**
 * Read-only views of a transaction: what the user sees (state, counters, countdowns) and what the store needs
 * (when to forget a record). All pure; `now` is epoch milliseconds.
 */
import { maxEntries, type OtpPolicy } from './policy.js';
import type { CodeRecord, LiveCode, TransactionRecord, ViewState } from './record.js';

const SECOND = 1000;

/** A code is live while now < expires_at (at exactly expires_at it is expired), until killed or the tx finishes. */
export function isCodeLive(tx: TransactionRecord, code: CodeRecord, now: number): boolean {
  return tx.phase === 'PENDING' && !code.killed && tx.accepted_code_id !== code.id && now < code.expires_at;
}

export function liveCodes(tx: TransactionRecord, now: number): LiveCode[] {
  return tx.codes.filter((c) => isCodeLive(tx, c, now)).map((c) => ({ id: c.id, hash: c.hash }));
}

export function newestCode(tx: TransactionRecord): CodeRecord | undefined {
  return tx.codes[tx.codes.length - 1];
}

/**
 * EXPIRED is derived: PENDING, max_codes used (none in flight either) and no code left alive. Only cancel remains.
 */
export function viewState(tx: TransactionRecord, policy: OtpPolicy, now: number): ViewState {
  if (tx.phase !== 'PENDING') return tx.phase;
  if (isExhausted(tx, policy, now)) return 'EXPIRED';
  return 'PENDING';
}

function isExhausted(tx: TransactionRecord, policy: OtpPolicy, now: number): boolean {
  return (
    tx.sends_codes &&
    tx.codes_sent >= policy.max_codes &&
    tx.send_reservations.length === 0 &&
    !tx.codes.some((c) => isCodeLive(tx, c, now))
  );
}

/** The moment an EXPIRED transaction became so (its last code's end), for the report. */
export function expiredAt(tx: TransactionRecord): number | null {
  const ends = tx.codes.map((c) => c.expires_at);
  return ends.length === 0 ? null : Math.max(...ends);
}

/** `allowed_otp_retry` + 1 - wrong entries so far; entries in flight are not subtracted until recorded. */
export function attemptsLeft(tx: TransactionRecord, policy: OtpPolicy): number {
  return Math.max(0, maxEntries(policy) - wrongSoFar(tx));
}

/** The wrong entries that count against this transaction: its own, or its login's across a Selector's choices. */
export function wrongSoFar(tx: TransactionRecord): number {
  return tx.group_wrong_entries === undefined ? tx.wrong_entries : Math.max(tx.wrong_entries, tx.group_wrong_entries);
}

/** Sends still possible; sends reserved but not yet committed are counted as sent. */
export function codesLeft(tx: TransactionRecord, policy: OtpPolicy): number {
  return Math.max(0, policy.max_codes - tx.codes_sent - tx.send_reservations.length);
}

/** The cooldown runs from the latest send, committed or still in flight (so parallel resends cannot both pass). */
export function cooldownAnchor(tx: TransactionRecord): number | null {
  let anchor = tx.last_sent_at;
  for (const r of tx.send_reservations) if (anchor === null || r.at > anchor) anchor = r.at;
  return anchor;
}

/** Whole seconds until a resend is allowed, rounded up; 0 when allowed now; null when no resend can ever come. */
export function resendIn(tx: TransactionRecord, policy: OtpPolicy, now: number): number | null {
  if (tx.phase !== 'PENDING' || !tx.sends_codes || codesLeft(tx, policy) === 0) return null;
  const anchor = cooldownAnchor(tx);
  if (anchor === null) return 0;
  return secondsUntil(anchor + policy.resend_cooldown_seconds * SECOND, now);
}

/** Whole seconds the newest code has left, rounded up; null when nothing was sent or the tx is finished. */
export function expiresIn(tx: TransactionRecord, now: number): number | null {
  const code = newestCode(tx);
  if (tx.phase !== 'PENDING' || code === undefined) return null;
  return secondsUntil(code.expires_at, now);
}

/** Distinct destinations used besides the initial one: what max_changes limits and phone_number_changes reports. */
export function distinctChanges(tx: TransactionRecord, extra: readonly string[] = []): number {
  const used = new Set([...tx.destinations_used, ...extra]);
  const initial = tx.initial_destination?.address;
  if (initial !== undefined) used.delete(initial);
  return used.size;
}

/**
 * When a store may forget the record. Finished: `ttl_seconds` after it finished (SPEC section 3). Pending:
 * `ttl_seconds` after its newest code expired, or after the first code would have expired when none was sent
 * (a TOTP transaction, a send that never completed), so an EXPIRED transaction stays visible for one more ttl.
 */
export function forgetAt(tx: TransactionRecord, policy: OtpPolicy): number {
  const ttl = policy.ttl_seconds * SECOND;
  if (tx.finished_at !== null) return tx.finished_at + ttl;
  const lastCodeEnd = expiredAt(tx) ?? 0;
  return Math.max(tx.created_at + ttl, lastCodeEnd) + ttl;
}

export function secondsUntil(at: number, now: number): number {
  return Math.max(0, Math.ceil((at - now) / SECOND));
}
