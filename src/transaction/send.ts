/**
 * Sending is two steps around the pre-pipe: `reserveSend` decides whether a code may go out and holds its
 * place (so parallel sends are counted before any is delivered), then `commitSend` records the delivered code
 * or `releaseSend` gives the place back when nothing was delivered.
 */
import type { OtpPolicy } from './policy.js';
import type {
  CodeRecord,
  CommitSendOutcome,
  DestinationChange,
  ReleaseSendOutcome,
  ReserveSendOutcome,
  SendFailure,
  SendKind,
  SentCode,
  Transition,
  TransactionRecord,
  TxDestination,
} from './record.js';
import { codesLeft, cooldownAnchor, distinctChanges, secondsUntil } from './view.js';
import { bump } from './open.js';
import { appended, withoutId } from './lists.js';

/**
 * Checks, in order (the first refusal answers): the transaction is PENDING and sends codes (NO_PENDING_CODE); a `first` send
 * only when nothing is sent or in flight (ALREADY_SENT); a change only when allowed (MAX_CHANGES); a code left
 * (MAX_CODES, counting sends in flight); for a change, distinct destinations within max_changes (MAX_CHANGES);
 * the cooldown (RESEND_TOO_SOON), which a change to another destination skips: it sends at once.
 *
 * `destination` is required for a change and must be normalised already (the same address the pre-pipe
 * will produce), because distinct destinations are compared by address.
 */
export function reserveSend(
  tx: TransactionRecord,
  policy: OtpPolicy,
  now: number,
  kind: SendKind,
  destination?: TxDestination,
): Transition<ReserveSendOutcome> {
  const refuse = (outcome: ReserveSendOutcome): Transition<ReserveSendOutcome> => ({ tx, outcome });
  // A transaction opened without a pre-pipe (TOTP) has no code to send.
  if (tx.phase !== 'PENDING' || !tx.sends_codes) return refuse({ ok: false, code: 'NO_PENDING_CODE' });
  if (kind === 'first' && (tx.codes_sent > 0 || tx.send_reservations.length > 0)) {
    return refuse({ ok: false, code: 'ALREADY_SENT' });
  }
  let changeTo: string | null = null;
  if (kind === 'change') {
    if (destination === undefined) throw new TypeError('reserveSend: a change needs the normalised destination');
    if (!policy.allow_change) return refuse({ ok: false, code: 'MAX_CHANGES' });
    changeTo = destination.address;
  }
  if (codesLeft(tx, policy) === 0) return refuse({ ok: false, code: 'MAX_CODES' });
  if (changeTo !== null) {
    const pending = tx.send_reservations.flatMap((r) => (r.destination === null ? [] : [r.destination]));
    if (distinctChanges(tx, [...pending, changeTo]) > policy.max_changes) return refuse({ ok: false, code: 'MAX_CHANGES' });
  }
  // A "change" to the current address would otherwise be a resend that dodges the cooldown.
  const sendsAtOnce = changeTo !== null && changeTo !== tx.current_destination?.address;
  const anchor = cooldownAnchor(tx);
  if (!sendsAtOnce && anchor !== null) {
    const allowedAt = anchor + policy.resend_cooldown_seconds * 1000;
    if (now < allowedAt) return refuse({ ok: false, code: 'RESEND_TOO_SOON', retry_after: Math.max(1, secondsUntil(allowedAt, now)) });
  }
  const next = bump(tx);
  const reservation_id = `${tx.id}:s${next.version}`;
  return {
    tx: { ...next, send_reservations: appended(tx.send_reservations, { id: reservation_id, kind, at: now, destination: changeTo }) },
    outcome: { ok: true, reservation_id, kind },
  };
}

/**
 * Records a delivered code. It is recorded whatever the phase (it reached the user, so it counts in the report),
 * but it is live only on a PENDING transaction. resend_strategy `new` kills every earlier code; a code to
 * another address than the current one is a change: it is recorded and kills every live code sent elsewhere.
 */
export function commitSend(
  tx: TransactionRecord,
  policy: OtpPolicy,
  reservationId: string,
  code: SentCode,
): Transition<CommitSendOutcome> {
  if (!tx.send_reservations.some((r) => r.id === reservationId)) {
    return { tx, outcome: { ok: false, code: 'UNKNOWN_RESERVATION' } };
  }
  const to = code.destination.address;
  const from = tx.current_destination?.address;
  const change: DestinationChange | null = from !== undefined && from !== to ? { from, to, at: code.sent_at } : null;
  const killed_code_ids: string[] = [];
  const earlier = tx.codes.map((c) => {
    const kill = !c.killed && (policy.resend_strategy === 'new' || (change !== null && c.destination !== to));
    if (!kill) return c;
    killed_code_ids.push(c.id);
    return { ...c, killed: true };
  });
  const codes = appended<CodeRecord>(earlier, { id: code.id, hash: code.hash, destination: to, sent_at: code.sent_at, expires_at: code.expires_at, killed: false });
  return {
    tx: {
      ...bump(tx),
      channel: code.channel ?? tx.channel,
      initial_destination: tx.initial_destination ?? code.destination,
      current_destination: code.destination,
      destinations_used: tx.destinations_used.includes(to) ? tx.destinations_used : appended(tx.destinations_used, to),
      destination_changes: change === null ? tx.destination_changes : appended(tx.destination_changes, change),
      codes,
      codes_sent: tx.codes_sent + 1,
      last_sent_at: tx.last_sent_at === null ? code.sent_at : Math.max(tx.last_sent_at, code.sent_at),
      send_reservations: withoutId(tx.send_reservations, reservationId),
    },
    outcome: { ok: true, change, killed_code_ids },
  };
}

/**
 * Gives back a send that delivered nothing: it is not a code sent. With a `failure` on a PENDING transaction
 * that never sent a code and has no other send in flight, the transaction becomes FAILED with that detail
 * (the report's DATA CHECK FAILED / SUPPRESSED SENDING CODE / FAILED TO SEND TO NUMBER); once a code has
 * reached the user, a failed resend or change leaves the transaction whole.
 */
export function releaseSend(
  tx: TransactionRecord,
  reservationId: string,
  now: number,
  failure?: SendFailure,
): Transition<ReleaseSendOutcome> {
  if (!tx.send_reservations.some((r) => r.id === reservationId)) {
    return { tx, outcome: { ok: false, code: 'UNKNOWN_RESERVATION' } };
  }
  const send_reservations = withoutId(tx.send_reservations, reservationId);
  const fails = failure !== undefined && tx.phase === 'PENDING' && tx.codes_sent === 0 && send_reservations.length === 0;
  const next: TransactionRecord = { ...bump(tx), send_reservations };
  if (!fails) return { tx: next, outcome: { ok: true, failed: false } };
  return {
    tx: {
      ...next,
      phase: 'FAILED',
      failure_detail: failure.detail,
      finished_at: now,
      initial_destination: tx.initial_destination ?? failure.destination ?? null,
      current_destination: tx.current_destination ?? failure.destination ?? null,
    },
    outcome: { ok: true, failed: true },
  };
}
