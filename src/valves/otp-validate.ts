/**
 * OtpValidate: checks the entered code (`state.otp`) against the transaction's live code hashes
 * (`state.live_codes`). Single use is the transaction's business: it records the match with a
 * compare-and-set after the flow, using `state.matched_code_id`.
 */
import type { ValveFactory } from '../pipes/types.js';
import { FlowReason, failFlow } from '../pipes/reasons.js';
import { matchCode, normaliseEnteredCode } from '../codes/code-hash.js';

export const otpValidateSchema = { type: 'object', additionalProperties: false, properties: {} };

export const otpValidate: ValveFactory = (_config, deps) => {
  if (deps.otpKeys.filter((k) => k.length > 0).length === 0) throw new Error('OtpValidate needs at least one OTP key');
  return {
    run(ctx) {
      const transactionId = ctx.state.transaction_id;
      if (typeof transactionId !== 'string' || transactionId === '') {
        return failFlow(FlowReason.VALVE_ERROR, 'no transaction id to check the code against');
      }
      const charset = ctx.authenticator.code?.charset ?? 'numeric';
      const entered = normaliseEnteredCode(ctx.state.otp, charset);
      const live = Array.isArray(ctx.state.live_codes) ? ctx.state.live_codes : [];
      const matched = matchCode(deps.otpKeys, transactionId, entered, live);
      if (matched === null) return failFlow(FlowReason.INVALID_OTP);
      ctx.state.matched_code_id = matched;
      return undefined;
    },
  };
};
