import {
  buildReport, maskDestination, maskReport, attemptsLeft, codesLeft, expiresIn, resendIn, viewState, type OtpPolicy,
  type TransactionRecord,
} from '../transaction/index.js';

/** The JSON shapes of SPEC section 3, built from a record; no rules here, only views the state machine gives. */
export function pendingAnswer(tx: TransactionRecord, policy: OtpPolicy, now: number): Record<string, unknown> {
  const destination = tx.current_destination?.address ?? tx.initial_destination?.address;
  return {
    status: viewState(tx, policy, now),
    destination: destination ? maskDestination(destination) : null,
    channel: tx.channel,
    expires_in: expiresIn(tx, now),
    resend_in: resendIn(tx, policy, now),
    codes_left: codesLeft(tx, policy),
    attempts_left: attemptsLeft(tx, policy),
  };
}

export function statusAnswer(tx: TransactionRecord, policy: OtpPolicy, now: number): Record<string, unknown> {
  return { ...pendingAnswer(tx, policy, now), report: maskReport(buildReport(tx, policy, now)) };
}
