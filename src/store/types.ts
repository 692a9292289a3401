/**
 * Where transactions and lockouts live. Every mutating operation is ONE atomic step: read the record, apply the
 * pure transition of src/transaction/index.ts, write the result (and its expiry). The memory store does it in one
 * synchronous critical section; a Redis store does it as one Lua script (one round trip), the keys of one
 * transaction sharing a hash tag. That is why each operation takes the key and its inputs rather than a record:
 * the caller never holds a record across an await and writes it back. For Redis Cluster, hash-tag keys by
 * (authenticator, subject), not by session: `recordOutcome` writes the record and the subject's lockout in one
 * script, and `open` reads both, so the two must live in one slot.
 *
 * Time is passed in (epoch milliseconds), as everywhere in the state machine.
 *
 * Expiry of records (both implementations):
 * - a finished transaction is forgotten `ttl_seconds` after it finished (SPEC section 3);
 * - a pending one `ttl_seconds` after its newest code expired (or after created_at + ttl_seconds when it has
 *   none), so an EXPIRED transaction stays visible, with only cancel left, for one more ttl;
 *   see `forgetAt` in src/transaction/view.ts;
 * - a lockout at its `until`.
 * A record past its time is never returned, even before the store has physically removed it.
 */
import type { RateLimitConfig } from '../limits/rate-limits.js';
import type {
  OtpPolicy, StartAction, CancelOutcome, Channel, CommitSendOutcome, EntryVerdict, Lockout, RecordOutcome,
  ReleaseSendOutcome, ReserveAttemptOutcome, ReserveSendOutcome, SendFailure, SendKind, SentCode, TransactionRecord,
  TxDestination,
} from '../transaction/index.js';

/**
 * One transaction per (session, authenticator, subject): a different subject in the same session is another.
 * `group` is set for a choice of a Selector (the selector's id): the choices of one login then share an attempt
 * budget the store keeps per (session, group, subject), and their lockout is the group's (SharedBudget).
 */
export interface TxKey {
  readonly sessionId: string;
  readonly authenticatorId: string;
  readonly subject: string;
  readonly group?: string;
}

/** Whose lockout a key's transaction meets: its selector's for a choice (lockOwner of the record), else its own. */
export function lockOwnerOf(key: TxKey): string {
  return key.group ?? key.authenticatorId;
}

/** How long a Selector's shared budget outlives its last change: the failure budget's window. */
export const SHARED_BUDGET_TTL_MS = 3_600_000;

/** What `open` needs to create a transaction; the store chooses the id. */
export interface OpenInit {
  readonly channel?: Channel | null;
  readonly reference?: string | null;
  /** False for an authenticator without a pre-pipe (TOTP): entries are evaluated with nothing sent. Default true. */
  readonly sends_codes?: boolean;
}

export type OpenResult =
  | {
      readonly ok: true;
      readonly tx: TransactionRecord;
      /** True when this call created `tx` (action `start`): run the pre-pipe for the first code. */
      readonly created: boolean;
      /** What GET should do (SPEC section 3's table), see `startAction`. */
      readonly action: StartAction;
    }
  | { readonly ok: false; readonly code: 'LOCKED'; readonly retry_after: number; readonly lock: Lockout };

/** The record is not there (never opened, forgotten, or replaced by a newer one): answer NO_PENDING_CODE. */
export interface MissingTransaction {
  readonly ok: false;
  readonly code: 'NOT_FOUND';
}

/** A store step's answer: the record after the step and the transition's outcome, or the record is missing. */
export type StoreStep<O> =
  | { readonly tx: TransactionRecord; readonly outcome: O }
  | { readonly tx: null; readonly outcome: MissingTransaction };

/** An entry's rate limits, for `reserveEntry`/`recordEntry`: the authenticator's configured points (null = off). */
export type EntryBudget = Pick<RateLimitConfig, 'entries_per_transaction_per_minute' | 'failures_per_subject_per_hour'>;

/** `reserveAttempt`'s outcome, or the refusals a start checks before it (lockout, rate limits). */
export type ReserveEntryOutcome =
  | ReserveAttemptOutcome
  | { readonly ok: false; readonly code: 'LOCKED'; readonly retry_after: number; readonly lock: Lockout }
  | {
      readonly ok: false;
      readonly code: 'RATE_LIMITED';
      readonly limit: 'entries_per_transaction_per_minute' | 'failures_per_subject_per_hour';
      readonly retry_after: number;
    };

export interface TransactionStore {
  /** The live record at `now` (default: the store's clock), or null. No side effects on a live record. */
  get(key: TxKey, now?: number): Promise<TransactionRecord | null>;

  /**
   * Atomically: find the record, decide with `startAction` (using this subject's lockout), and either return
   * it or create a new PENDING one (replacing a cancelled, failed or unlocked aborted one). Refuses LOCKED when
   * the subject is locked for this authenticator (its selector, for a choice) by an abort that is not this
   * transaction's own. A new record of a choice starts with its login's wrong entries so far.
   */
  open(key: TxKey, init: OpenInit, policy: OtpPolicy, now: number): Promise<OpenResult>;

  /** `reserveSend` atomically. A change needs the normalised destination. */
  reserveSend(
    key: TxKey,
    policy: OtpPolicy,
    now: number,
    kind: SendKind,
    destination?: TxDestination,
  ): Promise<StoreStep<ReserveSendOutcome>>;

  /** `commitSend` atomically, after the pre-pipe delivered the code. */
  commitSend(key: TxKey, policy: OtpPolicy, reservationId: string, code: SentCode): Promise<StoreStep<CommitSendOutcome>>;

  /** `releaseSend` atomically, when the pre-pipe delivered nothing (refused, failed, or a rate limit stopped it). */
  releaseSend(
    key: TxKey,
    policy: OtpPolicy,
    reservationId: string,
    now: number,
    failure?: SendFailure,
  ): Promise<StoreStep<ReleaseSendOutcome>>;

  /**
   * `reserveAttempt` atomically: the first of an entry's two steps, before the validation pipe runs. For a key
   * with a `group`, against the login's shared budget, which the same step counts.
   */
  reserveAttempt(key: TxKey, policy: OtpPolicy, now: number): Promise<StoreStep<ReserveAttemptOutcome>>;

  /**
   * `recordOutcome` atomically, after the validation pipe. When the entry aborts the transaction, the same step
   * sets the lockout of (authenticator, subject) it names (keeping a later one already set). For a key with a
   * `group`, the same step settles the reservation on the shared budget (sharedAfterRecord).
   */
  recordOutcome(
    key: TxKey,
    policy: OtpPolicy,
    reservationId: string,
    verdict: EntryVerdict,
    now: number,
  ): Promise<StoreStep<RecordOutcome>>;

  /** `cancel` atomically. */
  cancel(key: TxKey, policy: OtpPolicy, now: number): Promise<StoreStep<CancelOutcome>>;

  /**
   * A Selector's change of choice, counted atomically in the login's shared budget (a key with a `group`): true
   * when it is within `max` and was counted, false when `max` changes were already counted. Parallel requests of
   * one session race on the session's copy; this count does not.
   */
  claimSwitch(key: TxKey, max: number, now: number): Promise<boolean>;

  /** The subject's lockout for this authenticator (or selector: see lockOwner), or null when none is running at `now`. */
  getLock(authenticatorId: string, subject: string, now: number): Promise<Lockout | null>;

  /** Lifts a lockout (the help desk's `otp-authenticator unlock`); true when one was there. */
  unlock(authenticatorId: string, subject: string): Promise<boolean>;

  /**
   * Optional, for stores where each step is a round trip (Redis): `reserveAttempt` with the checks a `start` makes
   * before it (lockout, the entry and failure budgets) in one atomic step, and `recordOutcome` that gives the
   * failure point back unless the entry counted as wrong. A store without them is driven step by step.
   */
  reserveEntry?(key: TxKey, policy: OtpPolicy, now: number, budget: EntryBudget): Promise<StoreStep<ReserveEntryOutcome>>;
  recordEntry?(key: TxKey, policy: OtpPolicy, reservationId: string, verdict: EntryVerdict, now: number, budget: EntryBudget): Promise<StoreStep<RecordOutcome>>;

  /**
   * TOTP replay guard (TotpValidate): records that time step `step` of the secret `secretHash` names was accepted,
   * unless that step or a later one already was; true when this call recorded it. Atomic, so of two processes
   * accepting the same code one wins. The record may go at `forgetAt` (ms), when no window accepts the step. A store
   * without it leaves the guard to each process.
   */
  claimTotpStep?(secretHash: string, step: number, forgetAt: number): Promise<boolean>;

  /** Whether the store answers (readiness); false rather than a throw when it does not. */
  ping(): Promise<boolean>;

  /** Stops timers and connections; the store answers nothing after. */
  close(): Promise<void>;
}
