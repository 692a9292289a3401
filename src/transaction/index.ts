/**
 * The OTP state machine: pure functions over an immutable `TransactionRecord`, no I/O, time passed in as epoch
 * milliseconds. Each transition returns `{ tx, outcome }`; a refusal returns the same `tx` object unchanged.
 * Handlers reach these through a `TransactionStore` (src/store/types.ts), which applies each one atomically.
 * This file is the room's one face: the rest of src/ imports the rules from here (docs/architecture.md).
 *
 * Life of a transaction (docs/state-machine.md):
 *   openTransaction -> reserveSend -> (pre-pipe) -> commitSend | releaseSend
 *   reserveAttempt -> (validation pipe) -> recordOutcome        cancel at any time while PENDING
 * Phases: PENDING, COMPLETED, ABORTED, CANCELLED, FAILED; EXPIRED is derived by `viewState`.
 */
export * from './record.js';
export { openTransaction, cancel } from './open.js';
export { reserveSend, commitSend, releaseSend } from './send.js';
export { reserveAttempt, recordOutcome, countsAsWrong, liveShared, sharedAfterReserve, sharedAfterRecord, sharedOnOpen, STALE_RESERVATION_MS } from './entry.js';
export {
  viewState,
  attemptsLeft,
  wrongSoFar,
  codesLeft,
  resendIn,
  expiresIn,
  liveCodes,
  isCodeLive,
  newestCode,
  distinctChanges,
  expiredAt,
  forgetAt,
} from './view.js';
export { isLocked, lockRetryAfter, lockoutAfterAbort, lockOwner, mergeLockouts } from './lockout.js';
export { startAction, type StartAction } from './start.js';
export {
  DEFAULT_OTP_POLICY,
  makeOtpPolicy,
  otpPolicyFromConfig,
  maxEntries,
  type OtpPolicy,
  type OtpPolicyConfig,
  type ResendStrategy,
} from './policy.js';
export { buildReport, PHONE_CHANGES_CONSIDER_AT, RECOVERY_CODES_LOW, type OtpReport, type ReportFacts, type ReportAction, type ReportDetail, type ReportResult, type ReportStatus } from './report.js';
export { maskDestination, maskEmail, maskPhone, maskReport } from './mask.js';
export { flatString, newId } from './ids.js';
