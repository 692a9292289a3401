/**
 * The transaction record and the outcomes of its transitions. A record is plain JSON (numbers are epoch
 * milliseconds) so a Redis store can keep it as one value and a Lua script can read it; nothing here is a class.
 */
/** How a code reaches the user (the report's `properties.channel`). */
export type Channel = 'sms' | 'voice' | 'email';

/** A live code's keyed hash, as the transaction hands it to a validation flow. */
export interface LiveCode {
  readonly id: string;
  readonly hash: string;
}

/** Stored phases. EXPIRED is not one: `viewState` derives it, so no timer has to flip a record. */
export type Phase = 'PENDING' | 'COMPLETED' | 'ABORTED' | 'CANCELLED' | 'FAILED';

/** What the user and the `status` answer see. */
export type ViewState = Phase | 'EXPIRED';

/** Why a transaction's first send was refused: the valve reasons of SPEC section 6, the report details of section 5. */
export type FailureDetail = 'DATA CHECK FAILED' | 'SUPPRESSED SENDING CODE' | 'FAILED TO SEND TO NUMBER';

/** A normalised destination: E.164 for a phone, the lower-cased address for e-mail. */
export interface TxDestination {
  readonly address: string;
  readonly country?: string;
  readonly line_type?: string;
}

export interface DestinationChange {
  readonly from: string;
  readonly to: string;
  readonly at: number;
}

export interface CodeRecord {
  readonly id: string;
  /** The keyed hash (OtpGenerate); the clear code is never stored. */
  readonly hash: string;
  /** The address it was sent to. */
  readonly destination: string;
  readonly sent_at: number;
  /** The code is live while now < expires_at: at exactly expires_at it is expired. */
  readonly expires_at: number;
  /** Killed by a later code (resend_strategy `new`) or by a change of destination. */
  readonly killed: boolean;
}

export type SendKind = 'first' | 'resend' | 'change';

export interface SendReservation {
  readonly id: string;
  readonly kind: SendKind;
  readonly at: number;
  /** For a change: the normalised destination it was reserved for. */
  readonly destination: string | null;
}

export interface EntryReservation {
  readonly id: string;
  readonly at: number;
}

export interface TransactionRecord {
  /** Bumped by every transition; reservation ids are made from it, and a store may use it for compare-and-set. */
  readonly version: number;
  readonly id: string;
  readonly authenticator_id: string;
  readonly subject: string;
  readonly session_id: string;
  /** An optional caller reference from config, carried into the report. */
  readonly reference: string | null;
  readonly created_at: number;
  /** False for an authenticator without a pre-pipe (TOTP): entries are evaluated with nothing sent. */
  readonly sends_codes: boolean;
  /** Known once a code is sent (the pre-pipe decides it) unless the authenticator said so at open. */
  readonly channel: Channel | null;
  readonly initial_destination: TxDestination | null;
  readonly current_destination: TxDestination | null;
  /** Every distinct address a code was sent to, in order of first use; the initial one first. */
  readonly destinations_used: readonly string[];
  readonly destination_changes: readonly DestinationChange[];
  readonly codes: readonly CodeRecord[];
  readonly codes_sent: number;
  readonly last_sent_at: number | null;
  readonly send_reservations: readonly SendReservation[];
  readonly wrong_entries: number;
  readonly entry_reservations: readonly EntryReservation[];
  readonly phase: Phase;
  /** Set with phase FAILED only. */
  readonly failure_detail: FailureDetail | null;
  readonly accepted_code_id: string | null;
  /** When the phase left PENDING. */
  readonly finished_at: number | null;
  /** When a code was accepted (phase COMPLETED). */
  readonly completed_at: number | null;
  /**
   * Set on a choice of a Selector: the selector's id. Its choices share one login's attempt budget, their lockout
   * (kept under this id) and their failure budget (docs/state-machine.md, "The shared budget"). Absent otherwise.
   */
  readonly budget_group?: string;
  /** The login's wrong entries across the group's choices as of this record's last step (this one's included). */
  readonly group_wrong_entries?: number;
}

/**
 * The attempt budget of one login shared by the choices of a Selector, as the store holds it beside the records:
 * wrong entries counted across the choices (never given back, whatever becomes of a choice's record) and entries
 * in flight across them. The entry transitions check and count against it instead of the record's own counters.
 */
export interface SharedBudget {
  readonly wrong: number;
  readonly in_flight: number;
  /** When the latest entry was reserved: past STALE_RESERVATION_MS every one still in flight is taken as lost. */
  readonly reserved_at?: number;
}

/** What opening needs beyond the time; the store fills in `id`. */
export interface TransactionInit {
  readonly id: string;
  readonly authenticator_id: string;
  readonly subject: string;
  readonly session_id: string;
  readonly reference?: string | null;
  readonly channel?: Channel | null;
  readonly sends_codes?: boolean;
  /** A choice of a Selector: the selector's id, and the login's wrong entries so far (see SharedBudget). */
  readonly budget_group?: string;
  readonly group_wrong_entries?: number;
}

/** A code the pre-pipe delivered, as `commitSend` records it. */
export interface SentCode {
  readonly id: string;
  readonly hash: string;
  readonly destination: TxDestination;
  readonly sent_at: number;
  readonly expires_at: number;
  readonly channel?: Channel;
}

/** A lockout of one subject for one authenticator (in every session), after an abort. */
export interface Lockout {
  readonly authenticator_id: string;
  readonly subject: string;
  readonly until: number;
}

/** Every transition answers the new record (the same object when nothing changed) and what happened. */
export interface Transition<O> {
  readonly tx: TransactionRecord;
  readonly outcome: O;
}

/**
 * Codes the handlers see are the stable error codes of SPEC section 3, except the internal ones:
 * `ALREADY_SENT` (a first send when one is sent or in flight: show the transaction, send nothing) and
 * `UNKNOWN_RESERVATION` (the reservation is not on this record, e.g. the record was replaced: answer NO_PENDING_CODE).
 */
export type ReserveSendOutcome =
  | { readonly ok: true; readonly reservation_id: string; readonly kind: SendKind }
  | { readonly ok: false; readonly code: 'NO_PENDING_CODE' | 'ALREADY_SENT' | 'MAX_CODES' | 'MAX_CHANGES' }
  | { readonly ok: false; readonly code: 'RESEND_TOO_SOON'; readonly retry_after: number };

export type CommitSendOutcome =
  | { readonly ok: true; readonly change: DestinationChange | null; readonly killed_code_ids: readonly string[] }
  | { readonly ok: false; readonly code: 'UNKNOWN_RESERVATION' };

export interface SendFailure {
  readonly detail: FailureDetail;
  /** The normalised destination that was tried, when the pre-pipe got that far; kept for the report. */
  readonly destination?: TxDestination;
}

export type ReleaseSendOutcome =
  | { readonly ok: true; readonly failed: boolean }
  | { readonly ok: false; readonly code: 'UNKNOWN_RESERVATION' };

export type ReserveAttemptOutcome =
  | { readonly ok: true; readonly reservation_id: string; readonly live_codes: LiveCode[] }
  | { readonly ok: false; readonly code: 'NO_PENDING_CODE' }
  | {
      readonly ok: false;
      readonly code: 'MAX_ATTEMPTS';
      readonly evaluated: false;
      /** True when the transaction is ABORTED; false when the attempts left are all in flight. */
      readonly aborted: boolean;
      readonly attempts_left: number;
    };

/** What the validation pipe concluded. */
export interface EntryVerdict {
  /** The live code the entry matched (OtpValidate's `matched_code_id`). */
  readonly matchedCodeId?: string;
  /** Honoured only when the transaction sends no codes (TOTP): the pipe accepted the entry itself. */
  readonly accepted?: boolean;
}

export type RecordOutcome =
  | {
      readonly ok: true;
      readonly code: 'COMPLETED';
      readonly code_id: string | null;
      /** 1-based number of the evaluated entry, for WEB_100019. */
      readonly attempt: number;
      readonly attempts_left: number;
    }
  | {
      readonly ok: false;
      readonly code: 'INVALID_OTP' | 'OTP_EXPIRED';
      readonly attempt: number;
      readonly attempts_left: number;
    }
  | {
      readonly ok: false;
      readonly code: 'MAX_ATTEMPTS';
      readonly evaluated: true;
      readonly aborted: true;
      readonly attempt: number;
      readonly attempts_left: 0;
      /** The lockout the store must set for (authenticator, subject); null when lockout_seconds is 0. */
      readonly lockout: Lockout | null;
    }
  | { readonly ok: false; readonly code: 'MAX_ATTEMPTS'; readonly evaluated: false; readonly aborted: true; readonly attempts_left: 0 }
  | { readonly ok: false; readonly code: 'NO_PENDING_CODE' | 'UNKNOWN_RESERVATION' };

export type CancelOutcome =
  | { readonly ok: true; readonly already: boolean }
  | { readonly ok: false; readonly code: 'NO_PENDING_CODE'; readonly phase: Phase };
