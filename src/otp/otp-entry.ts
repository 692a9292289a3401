import { consumeAll } from '../limits/rate-limits.js';
import { OtpError } from '../errors.js';
import { normaliseEnteredCode } from '../codes/code-hash.js';
import {
  maskReport, buildReport, maxEntries, type EntryVerdict, type LiveCode, type RecordOutcome, type TransactionRecord, type ReportFacts,
} from '../transaction/index.js';
import type { SendContext } from './otp-sending.js';
import type { OtpRequest } from './otp-request.js';
import { lockOwnerOf, type StoreStep } from '../store/types.js';

/**
 * One entry of a code, in SPEC section 3's order: lockout, rate limits, reserve an attempt (atomic), the
 * validation pipe, record the outcome (atomic). Exactly allowed_otp_retry + 1 entries are ever evaluated,
 * however many arrive in parallel.
 */
export interface EntryContext extends SendContext {
  validatePipeId: string;
}

export type EntryResult =
  | { ok: true; tx: TransactionRecord; attempt: number; facts: ReportFacts }
  /**
   * `decided`: this very entry ended the transaction (the abort), as against one refused after it. `tx`: the record
   * as the entry's own step left it, when it was evaluated (an answer's counts need no second read). `missing`: there
   * was no transaction at all (none opened, or gone from the store), as against one no longer pending.
   */
  | { ok: false; error: OtpError; decided?: boolean; tx?: TransactionRecord; missing?: true };

/** A reserved attempt: what the validation pipe needs, and how to record its verdict (the second atomic step). */
interface Reservation {
  tx: TransactionRecord;
  liveCodes: readonly LiveCode[];
  record(verdict: EntryVerdict): Promise<StoreStep<RecordOutcome>>;
  /** Gives back the subject's failure point when the entry turns out right or unevaluated (the step-by-step path). */
  giveBack(): Promise<void>;
}

type Reserved = { ok: true; reservation: Reservation } | { ok: false; result: EntryResult };

function locked(r: OtpRequest, retryAfter: number): Reserved {
  r.emit('OTP_200009', { retry_after: retryAfter });
  return { ok: false, result: { ok: false, error: new OtpError('LOCKED', { retry_after: retryAfter }) } };
}

function limited(r: OtpRequest, limit: string, retryAfter: number): Reserved {
  r.emit('OTP_200011', { limit });
  return { ok: false, result: { ok: false, error: new OtpError('RATE_LIMITED', { retry_after: retryAfter }) } };
}

function unavailableAttempt(r: OtpRequest, outcome: { ok: false; code: string; aborted?: boolean; attempts_left?: number } | null): Reserved {
  if (!outcome || outcome.code !== 'MAX_ATTEMPTS') return { ok: false, result: refuse(r, new OtpError('NO_PENDING_CODE'), 'nothing pending') };
  return { ok: false, result: refuse(r, new OtpError('MAX_ATTEMPTS', { aborted: outcome.aborted ?? true, attempts_left: outcome.attempts_left ?? 0 }), 'no attempts left') };
}

/** One round trip: a store that folds the lockout and both entry budgets into its reservation (Redis). */
async function reserveAtomically(c: EntryContext, r: OtpRequest): Promise<Reserved> {
  const { store } = c.services;
  const limits = c.config.rate_limits;
  const budget = { entries_per_transaction_per_minute: limits.entries_per_transaction_per_minute, failures_per_subject_per_hour: limits.failures_per_subject_per_hour };
  const step = await store.reserveEntry!(r.key, c.policy, c.services.now(), budget);
  if (!step.tx) return { ok: false, result: missing(r) };
  const o = step.outcome;
  if (!o.ok) {
    if (o.code === 'LOCKED') return locked(r, o.retry_after);
    if (o.code === 'RATE_LIMITED') return limited(r, o.limit, o.retry_after);
    return unavailableAttempt(r, o);
  }
  return { ok: true, reservation: {
    tx: step.tx, liveCodes: o.live_codes,
    record: (verdict) => store.recordEntry!(r.key, c.policy, o.reservation_id, verdict, c.services.now(), budget),
    giveBack: async () => {},
  } };
}

/** Step by step, for a store where each step is cheap (memory): lockout, budgets, then the reservation. */
async function reserveStepwise(c: EntryContext, r: OtpRequest, tx: TransactionRecord): Promise<Reserved> {
  const { store, limits } = c.services;
  const now = c.services.now();
  const lock = await store.getLock(lockOwnerOf(r.key), r.subject, now);
  if (lock) return locked(r, Math.max(1, Math.ceil((lock.until - now) / 1000)));
  const budget = await consumeAll(limits, [
    { limit: 'entries_per_transaction_per_minute', key: tx.id },
    { limit: 'failures_per_subject_per_hour', key: r.subject },
  ]);
  if (!budget.ok) return limited(r, budget.limit, budget.retryAfterSeconds);
  // The failure budget is taken up front so parallel entries cannot overspend it; a right or unevaluated entry gives it back.
  const giveBack = () => limits.refund('failures_per_subject_per_hour', r.subject);
  const reserved = await store.reserveAttempt(r.key, c.policy, c.services.now());
  if (!reserved.tx || !reserved.outcome.ok) {
    await giveBack();
    return unavailableAttempt(r, reserved.tx && !reserved.outcome.ok ? reserved.outcome : null);
  }
  const reservationId = reserved.outcome.reservation_id;
  return { ok: true, reservation: {
    tx: reserved.tx, liveCodes: reserved.outcome.live_codes,
    record: (verdict) => store.recordOutcome(r.key, c.policy, reservationId, verdict, c.services.now()),
    giveBack,
  } };
}

export async function enterCode(c: EntryContext, r: OtpRequest, entered: string): Promise<EntryResult> {
  const { store } = c.services;
  let reserved: Reserved;
  if (store.reserveEntry && store.recordEntry) {
    reserved = await reserveAtomically(c, r);
  } else {
    const tx = await store.get(r.key, c.services.now());
    if (!tx) return missing(r);
    if (tx.phase === 'ABORTED') return refuse(r, new OtpError('MAX_ATTEMPTS', { aborted: true, attempts_left: 0 }), 'aborted');
    reserved = await reserveStepwise(c, r, tx);
  }
  if (!reserved.ok) return reserved.result;
  const { tx, liveCodes, record, giveBack } = reserved.reservation;

  const pipe = c.services.pipes.get(c.validatePipeId);
  if (!pipe) throw new Error(`validation pipe ${c.validatePipeId} is not built`);
  const flow = r.flow({ transaction_id: tx.id, otp: normaliseEnteredCode(entered, c.config.code.charset), live_codes: [...liveCodes] });
  const result = await pipe.run(flow);
  const matched = result.ok ? flow.state.matched_code_id : undefined;
  // Without a pre-pipe nothing was sent: the validation pipe (TOTP, say) decides alone, and passing is accepting.
  const verdict = matched ? { matchedCodeId: matched } : { accepted: result.ok && !tx.sends_codes };
  const recorded = await record(verdict);
  if (!recorded.tx) {
    await giveBack();
    return refuse(r, new OtpError('NO_PENDING_CODE'), 'transaction gone');
  }
  const o = recorded.outcome;
  if (o.ok) {
    await giveBack();
    const facts = factsOf(flow.state);
    r.emit('WEB_100019', { attempt: o.attempt, attempts_left: o.attempts_left, aborted: false, report: finalReport(c, recorded.tx, facts) });
    return { ok: true, tx: recorded.tx, attempt: o.attempt, facts };
  }
  switch (o.code) {
    case 'INVALID_OTP': case 'OTP_EXPIRED':
      r.emit('WEB_100020', { attempt: o.attempt, attempts_left: o.attempts_left, aborted: false, reason: o.code });
      if (o.code === 'OTP_EXPIRED') r.emit('OTP_200010', { attempt: o.attempt });
      return { ok: false, error: new OtpError(o.code, { attempts_left: o.attempts_left }), tx: recorded.tx };
    case 'MAX_ATTEMPTS':
      if (o.evaluated) {
        r.emit('WEB_100020', { attempt: o.attempt, attempts_left: 0, aborted: true, reason: 'MAX_ATTEMPTS' });
        r.emit('OTP_200008', { attempt: o.attempt, lockout_until: o.lockout ? new Date(o.lockout.until).toISOString() : null, max_entries: maxEntries(c.policy), report: finalReport(c, recorded.tx) });
        return { ok: false, error: new OtpError('MAX_ATTEMPTS', { aborted: true, attempts_left: 0 }), decided: true, tx: recorded.tx };
      }
      await giveBack();
      return refuse(r, new OtpError('MAX_ATTEMPTS', { aborted: true, attempts_left: 0 }), 'aborted');
    default:
      await giveBack();
      return refuse(r, new OtpError('NO_PENDING_CODE'), o.code === 'NO_PENDING_CODE' ? 'already completed' : 'reservation lost');
  }
}

/** What the validation pipe's valves left in the flow state for the report (RecoveryCodeValidate: codes left). */
function factsOf(state: Record<string, unknown>): ReportFacts {
  const left = state['recovery_codes_left'];
  return typeof left === 'number' ? { recovery_codes_left: left } : {};
}

/** The report written with a transaction's final event (SPEC section 5), destinations masked as events require. */
export function finalReport(c: EntryContext | { policy: EntryContext['policy']; services: EntryContext['services'] }, tx: TransactionRecord, facts: ReportFacts = {}): Record<string, unknown> {
  return maskReport(buildReport(tx, c.policy, c.services.now(), facts)) as unknown as Record<string, unknown>;
}

function missing(r: OtpRequest): EntryResult {
  return { ...refuse(r, new OtpError('NO_PENDING_CODE'), 'no transaction'), missing: true } as EntryResult;
}

function refuse(r: OtpRequest, error: OtpError, reason: string): EntryResult {
  r.emit('OTP_200007', { reason: `${error.code}: ${reason}` });
  return { ok: false, error };
}
