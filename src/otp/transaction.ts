/**
 * The OTP state machine: pure functions over an immutable `TransactionRecord`, no I/O, time passed in as epoch
 * milliseconds. Each transition returns `{ tx, outcome }`; a refusal returns the same `tx` object unchanged.
 * Handlers reach these through a `TransactionStore` (src/store/types.ts), which applies each one atomically.
 *
 * Life of a transaction (docs/state-machine.md):
 *   openTransaction -> reserveSend -> (pre-pipe) -> commitSend | releaseSend
 *   reserveAttempt -> (validation pipe) -> recordOutcome        cancel at any time while PENDING
 * Phases: PENDING, COMPLETED, ABORTED, CANCELLED, FAILED; EXPIRED is derived by `viewState`.
 */
export * from './transaction-types.js';
export { openTransaction, cancel } from './transaction-open.js';
export { reserveSend, commitSend, releaseSend } from './transaction-send.js';
export { reserveAttempt, recordOutcome } from './transaction-entry.js';
export {
  viewState,
  attemptsLeft,
  codesLeft,
  resendIn,
  expiresIn,
  liveCodes,
  isCodeLive,
  newestCode,
  distinctChanges,
  expiredAt,
  forgetAt,
} from './transaction-view.js';
export { isLocked, lockRetryAfter, lockoutAfterAbort, mergeLockouts } from './transaction-lockout.js';
export { startAction, type StartAction } from './transaction-start.js';
export {
  DEFAULT_OTP_POLICY,
  makeOtpPolicy,
  otpPolicyFromConfig,
  maxEntries,
  type OtpPolicy,
  type OtpPolicyConfig,
  type ResendStrategy,
} from './policy.js';
