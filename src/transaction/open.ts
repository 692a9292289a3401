/**
 * Opening and cancelling a transaction, and the one helper every transition uses to move the version on.
 */
import { NONE } from './lists.js';
import type { CancelOutcome, Transition, TransactionInit, TransactionRecord } from './record.js';

export function openTransaction(init: TransactionInit, now: number): TransactionRecord {
  return {
    version: 1,
    id: init.id,
    authenticator_id: init.authenticator_id,
    subject: init.subject,
    session_id: init.session_id,
    reference: init.reference ?? null,
    created_at: now,
    sends_codes: init.sends_codes ?? true,
    channel: init.channel ?? null,
    initial_destination: null,
    current_destination: null,
    destinations_used: NONE,
    destination_changes: NONE,
    codes: NONE,
    codes_sent: 0,
    last_sent_at: null,
    send_reservations: NONE,
    wrong_entries: 0,
    entry_reservations: NONE,
    phase: 'PENDING',
    failure_detail: null,
    accepted_code_id: null,
    finished_at: null,
    completed_at: null,
    ...(init.budget_group !== undefined ? { budget_group: init.budget_group, group_wrong_entries: init.group_wrong_entries ?? 0 } : {}),
  };
}

/** A copy with the next version; reservation ids are `${tx.id}:<kind><version>`, unique across replacements. */
export function bump(tx: TransactionRecord): TransactionRecord {
  return { ...tx, version: tx.version + 1 };
}

/**
 * The user gives up: PENDING (or EXPIRED, which is PENDING underneath) becomes CANCELLED. Cancelling twice is
 * not an error; a transaction that finished otherwise keeps its outcome and answers NO_PENDING_CODE.
 * Entries and sends in flight stay on the record: their later record/commit find it finished.
 */
export function cancel(tx: TransactionRecord, now: number): Transition<CancelOutcome> {
  if (tx.phase === 'CANCELLED') return { tx, outcome: { ok: true, already: true } };
  if (tx.phase !== 'PENDING') return { tx, outcome: { ok: false, code: 'NO_PENDING_CODE', phase: tx.phase } };
  return { tx: { ...bump(tx), phase: 'CANCELLED', finished_at: now }, outcome: { ok: true, already: false } };
}
