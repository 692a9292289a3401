/**
 * The verification report of SPEC section 5: Socure's `status`, Onfido's `result` and `breakdown`, PhoneMatch's
 * `action` and `detail`, from one transaction record. Destinations are whole here (a host app reads it);
 * events and logs mask them. The code is never stored in clear, so the report cannot carry it.
 */
import type { OtpPolicy } from './policy.js';
import type { Channel, FailureDetail, TransactionRecord } from './record.js';
import { distinctChanges, expiredAt, viewState } from './view.js';

export type ReportStatus = 'pending' | 'approved' | 'reject';
export type ReportResult = 'clear' | 'consider';
export type ReportAction = 'PENDING' | 'PASS' | 'FAIL';
export type ReportDetail =
  | 'TRANSACTION REQUIRES FURTHER ATTENTION'
  | 'ALL CHECKS PASSED'
  | 'FAILED OUT-OF-BAND CHECK'
  | 'TRANSACTION CANCELLED'
  | FailureDetail;

export interface OtpReport {
  transaction_id: string;
  reference: string | null;
  /** Entries evaluated: the wrong ones plus the accepted one; entries refused unevaluated are not counted. */
  attempt_count: number;
  status: ReportStatus;
  result: ReportResult | null;
  breakdown: {
    attempts: { result: ReportResult | null };
    phone_number: { result: ReportResult | null };
  };
  action: ReportAction;
  detail: ReportDetail;
  properties: {
    channel: Channel | null;
    phone_number_changes: number;
    destination_changes: { from: string; to: string; at: string }[];
    initial_destination: string | null;
    final_destination: string | null;
    codes_sent: number;
    last_code_sent_at: string | null;
    created_at: string;
    completed_at: string | null;
    /** Set when a recovery code was redeemed (the RecoveryCodeValidate valve): the subject's unused codes left. */
    recovery_codes_left?: number;
    /** With `recovery_codes_left`: true at RECOVERY_CODES_LOW or fewer, time to make a new set. */
    recovery_codes_low?: boolean;
  };
}

/** What a validation pipe learned that the transaction record does not keep, added to the report. */
export interface ReportFacts {
  recovery_codes_left?: number;
}

/** At this many recovery codes left or fewer, the report says so and each use also logs OTP_200020. */
export const RECOVERY_CODES_LOW = 2;

/** 2 or fewer distinct changes are clear; 3 or more need a look (reachable only when max_changes allows it). */
export const PHONE_CHANGES_CONSIDER_AT = 3;

interface Verdict {
  status: ReportStatus;
  attempts: ReportResult | null;
  action: ReportAction;
  detail: ReportDetail;
}

function verdictOf(tx: TransactionRecord, policy: OtpPolicy, now: number): Verdict {
  const state = viewState(tx, policy, now);
  switch (state) {
    case 'PENDING':
      return { status: 'pending', attempts: null, action: 'PENDING', detail: 'TRANSACTION REQUIRES FURTHER ATTENTION' };
    case 'COMPLETED':
      return { status: 'approved', attempts: 'clear', action: 'PASS', detail: 'ALL CHECKS PASSED' };
    case 'ABORTED':
    case 'EXPIRED':
      return { status: 'reject', attempts: 'consider', action: 'FAIL', detail: 'FAILED OUT-OF-BAND CHECK' };
    case 'CANCELLED':
      return { status: 'reject', attempts: 'consider', action: 'FAIL', detail: 'TRANSACTION CANCELLED' };
    case 'FAILED':
      return { status: 'reject', attempts: null, action: 'FAIL', detail: tx.failure_detail ?? 'FAILED TO SEND TO NUMBER' };
  }
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * `phone_number` has no verdict while the transaction is pending or when no code was ever sent (FAILED): there
 * is no verified number to judge. A FAILED report is `consider` by the table itself, with both breakdowns null.
 * `completed_at` is when the outcome was reached: the finish time, or for EXPIRED the end of its last code.
 */
export function buildReport(tx: TransactionRecord, policy: OtpPolicy, now: number, facts: ReportFacts = {}): OtpReport {
  const v = verdictOf(tx, policy, now);
  const changes = distinctChanges(tx);
  const phone: ReportResult | null =
    v.status === 'pending' || tx.phase === 'FAILED' ? null : changes >= PHONE_CHANGES_CONSIDER_AT ? 'consider' : 'clear';
  const result: ReportResult | null =
    v.status === 'pending' ? null : v.status === 'reject' || v.attempts === 'consider' || phone === 'consider' ? 'consider' : 'clear';
  const pendingView = v.status === 'pending';
  return {
    transaction_id: tx.id,
    reference: tx.reference,
    attempt_count: tx.wrong_entries + (tx.phase === 'COMPLETED' ? 1 : 0),
    status: v.status,
    result,
    breakdown: { attempts: { result: v.attempts }, phone_number: { result: phone } },
    action: v.action,
    detail: v.detail,
    properties: {
      channel: tx.channel,
      phone_number_changes: changes,
      destination_changes: tx.destination_changes.map((c) => ({ from: c.from, to: c.to, at: new Date(c.at).toISOString() })),
      initial_destination: tx.initial_destination?.address ?? null,
      final_destination: tx.current_destination?.address ?? null,
      codes_sent: tx.codes_sent,
      last_code_sent_at: iso(tx.last_sent_at),
      created_at: new Date(tx.created_at).toISOString(),
      completed_at: pendingView ? null : tx.finished_at !== null ? iso(tx.finished_at) : iso(expiredAt(tx)),
      ...(facts.recovery_codes_left === undefined ? {} : {
        recovery_codes_left: facts.recovery_codes_left,
        recovery_codes_low: facts.recovery_codes_left <= RECOVERY_CODES_LOW,
      }),
    },
  };
}
