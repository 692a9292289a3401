/**
 * Stable failure reasons of flows. The authenticators map them to HTTP error codes and report
 * details (SPEC sections 3 and 5), so a reason is never renamed or reused.
 */
export const FlowReason = {
  /** A valve did not settle within its `timeout_ms`. */
  VALVE_TIMEOUT: 'VALVE TIMEOUT',
  /** A valve threw, returned something that is not a result, or its expanded config is invalid. */
  VALVE_ERROR: 'VALVE ERROR',
  /** An `exec_if` failed while it was evaluated. */
  CONDITION_ERROR: 'CONDITION ERROR',
  /** The destination does not parse (INVALID_DESTINATION). */
  DATA_CHECK_FAILED: 'DATA CHECK FAILED',
  /** Policy refused the destination (DESTINATION_NOT_ALLOWED). */
  SUPPRESSED_SENDING_CODE: 'SUPPRESSED SENDING CODE',
  /** The gateway failed (DELIVERY_FAILED). */
  FAILED_TO_SEND: 'FAILED TO SEND TO NUMBER',
  /** The entered code matches no live code. */
  INVALID_OTP: 'INVALID OTP',
  /** The password step: unknown user or wrong password, alike. */
  INVALID_CREDENTIALS: 'INVALID CREDENTIALS',
  /** A send budget (rate limit) refused the delivery; the message names the limit (RATE_LIMITED). */
  RATE_LIMITED: 'RATE LIMITED',
  /** FlowFail without a configured reason. */
  FLOW_FAILED: 'FLOW FAILED',
} as const;

export type FlowReasonCode = (typeof FlowReason)[keyof typeof FlowReason];

/** The result a valve returns to fail the flow. */
export function failFlow(reason: string, message?: string): { fail: { reason: string; message?: string } } {
  return { fail: message === undefined ? { reason } : { reason, message } };
}
