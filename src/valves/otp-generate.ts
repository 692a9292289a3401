/**
 * OtpGenerate: makes a one-time code with the CSPRNG and its keyed hash. The clear code goes to
 * `state.code.value` only so a delivery valve later in the same flow can send it.
 */
import { randomInt } from 'node:crypto';
import type { ValveFactory } from '../pipes/types.js';
import { FlowReason, failFlow } from '../pipes/reasons.js';
import { CODE_ALPHABETS, hashCode, type CodeCharset } from '../codes/code-hash.js';

export { CODE_ALPHABETS };

/** Both minima give about 20 bits or more (10^6, 32^4). */
export const CODE_LENGTHS: Readonly<Record<CodeCharset, { min: number; max: number }>> = {
  numeric: { min: 6, max: 10 },
  alphanumeric: { min: 4, max: 10 },
};

export function checkCodePolicy(length: unknown, charset: unknown): string | null {
  if (charset !== 'numeric' && charset !== 'alphanumeric') return `unknown code charset "${String(charset)}"`;
  const { min, max } = CODE_LENGTHS[charset];
  if (!Number.isInteger(length) || (length as number) < min || (length as number) > max) {
    return `a ${charset} code has ${min} to ${max} characters, not ${String(length)}`;
  }
  return null;
}

export function generateCode(length: number, charset: CodeCharset): string {
  const problem = checkCodePolicy(length, charset);
  if (problem) throw new RangeError(problem);
  const alphabet = CODE_ALPHABETS[charset];
  let code = '';
  // randomInt draws without modulo bias.
  for (let i = 0; i < length; i++) code += alphabet[randomInt(alphabet.length)];
  return code;
}

export interface OtpGenerateConfig {
  length?: number;
  charset?: CodeCharset;
}

export const otpGenerateSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    length: { type: 'integer', minimum: 4, maximum: 10, description: 'Overrides the authenticator code.length.' },
    charset: { enum: ['numeric', 'alphanumeric'], description: 'Overrides the authenticator code.charset.' },
  },
};

export const otpGenerate: ValveFactory<OtpGenerateConfig> = (config, deps) => {
  if (deps.otpKeys.filter((k) => k.length > 0).length === 0) throw new Error('OtpGenerate needs at least one OTP key');
  return {
    run(ctx) {
      const transactionId = ctx.state.transaction_id;
      if (typeof transactionId !== 'string' || transactionId === '') {
        return failFlow(FlowReason.VALVE_ERROR, 'no transaction id to bind the code to');
      }
      const charset = config.charset ?? ctx.authenticator.code?.charset ?? 'numeric';
      const length = config.length ?? ctx.authenticator.code?.length ?? 6;
      const problem = checkCodePolicy(length, charset);
      if (problem) return failFlow(FlowReason.VALVE_ERROR, problem);
      const value = generateCode(length, charset);
      ctx.state.code = { value, hash: hashCode(deps.otpKeys, transactionId, value) };
      return undefined;
    },
  };
};
