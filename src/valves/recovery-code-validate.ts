/**
 * RecoveryCodeValidate: the entered code (`state.otp`) is one of the subject's recovery codes, used up in the same
 * atomic step as the check (the credential store's redeemRecoveryCode), so a code works once, however many
 * requests carry it at once. Used in the validation pipe of an OTP authenticator without a pre-pipe: its attempts,
 * lockout and budgets count the wrong entries as for any code.
 */
import type { ValveFactory } from '../pipes/types.js';
import { FlowReason, failFlow } from '../pipes/reasons.js';

export interface RecoveryCodeValidateConfig {
  subject: string;
}

export const recoveryCodeValidateSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['subject'],
  properties: {
    subject: { type: 'string', minLength: 1, description: 'Whose recovery codes, usually ${exports.username}.' },
  },
};

export const recoveryCodeValidate: ValveFactory<RecoveryCodeValidateConfig> = (config, deps) => {
  if (!deps.redeemRecoveryCode) throw new Error('RecoveryCodeValidate needs a credential store');
  return {
    async run(ctx) {
      const subject = config.subject.trim();
      if (!subject) return failFlow(FlowReason.INVALID_OTP, 'no subject');
      const result = await deps.redeemRecoveryCode!(subject, ctx.state.otp, ctx.id);
      ctx.state['recovery_codes_left'] = result.left;
      if (!result.redeemed) return failFlow(FlowReason.INVALID_OTP, 'not a recovery code of the subject');
      return undefined;
    },
  };
};
