/**
 * TotpValidate: checks a TOTP (RFC 6238) from an authenticator app against a base32 secret, usually from exports
 * (`"secret": "${exports.totp_secret}"`), with otplib 13 (whose `verify()` answers an object, not a boolean).
 *
 * Replay: a time step once accepted for a secret is never accepted again, nor any earlier step. The transaction
 * store keeps the last accepted step per secret (keyed by a SHA-256 of the secret, never the secret;
 * `TransactionStore.claimTotpStep`, in Redis for a Redis store), so every process sharing the store refuses a code
 * one of them accepted; a pipe built without a store guards in this process's memory. The valve also honours
 * `state.totp_last_step` when a caller supplies it, and reports the step it accepted in `state.totp_step`.
 */
import { createHash } from 'node:crypto';
import { verify } from 'otplib';
import type { ValveFactory } from '../pipes/types.js';
import { FlowReason, failFlow } from '../pipes/reasons.js';
import { normaliseEnteredCode } from '../codes/code-hash.js';
import { UsedTotpSteps } from '../codes/used-totp-steps.js';

export interface TotpValidateConfig {
  secret: string;
  window?: number;
  digits?: 6 | 7 | 8;
  period?: number;
  algorithm?: 'sha1' | 'sha256' | 'sha512';
}

export const totpValidateSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['secret'],
  properties: {
    secret: { type: 'string', minLength: 1, description: 'Base32 secret, usually ${exports.totp_secret}.' },
    window: { type: 'integer', minimum: 0, maximum: 10, description: 'Time steps accepted either side of now (default 1).' },
    digits: { enum: [6, 7, 8], description: 'Digits of a code (default 6).' },
    period: { type: 'integer', minimum: 15, maximum: 300, description: 'Seconds a time step lasts (default 30).' },
    algorithm: { enum: ['sha1', 'sha256', 'sha512'], description: 'HMAC algorithm (default sha1, as authenticator apps use).' },
  },
};

/** The guard of a pipe built without a store (deps.claimTotpStep absent): this process only. */
const processSteps = new UsedTotpSteps();

/** Forgets every step used in this process (tests). */
export function clearUsedTotpSteps(): void {
  processSteps.clear();
}

/** Spaces and `=` padding dropped, upper-cased; null when it is not base32. */
export function normaliseTotpSecret(secret: string): string | null {
  const s = secret.replace(/[\s-]/g, '').replace(/=+$/, '').toUpperCase();
  return /^[A-Z2-7]+$/.test(s) ? s : null;
}

function secretKey(secret: string): string {
  return createHash('sha256').update(`totp-step\0${secret}`).digest('hex');
}

export const totpValidate: ValveFactory<TotpValidateConfig> = (config, deps) => {
  const window = config.window ?? 1;
  const digits = config.digits ?? 6;
  const period = config.period ?? 30;
  const algorithm = config.algorithm ?? 'sha1';
  const shape = new RegExp(`^[0-9]{${digits}}$`);

  return {
    async run(ctx) {
      const secret = normaliseTotpSecret(config.secret);
      if (!secret) return failFlow(FlowReason.VALVE_ERROR, 'the TOTP secret is missing or not base32');
      const token = normaliseEnteredCode(ctx.state.otp, 'numeric');
      if (!shape.test(token)) return failFlow(FlowReason.INVALID_OTP, 'the code does not match');

      const now = deps.now();
      const epoch = Math.floor(now / 1000);
      const maxStep = Math.floor(epoch / period) + window;
      const key = secretKey(secret);
      const supplied = ctx.state['totp_last_step'];
      const after = typeof supplied === 'number' && Number.isSafeInteger(supplied) && supplied >= 0 ? supplied : undefined;
      if (after !== undefined && after >= maxStep) return failFlow(FlowReason.INVALID_OTP, 'the code does not match');

      let result;
      try {
        result = await verify({
          strategy: 'totp',
          secret,
          token,
          digits,
          period,
          algorithm,
          epoch,
          epochTolerance: window * period,
          ...(after !== undefined ? { afterTimeStep: after } : {}),
        });
      } catch (error) {
        const name = error instanceof Error ? error.name : 'error';
        return failFlow(FlowReason.VALVE_ERROR, `the TOTP secret is not usable (${name})`);
      }
      if (!result.valid || !('timeStep' in result)) return failFlow(FlowReason.INVALID_OTP, 'the code does not match');

      // Check and record in one atomic step, so two entries racing with the same code (in any process) accept it once.
      const step = result.timeStep;
      const forgetAt = (step + window + 1) * period * 1000;
      const claimed = deps.claimTotpStep ? await deps.claimTotpStep(key, step, forgetAt) : processSteps.claim(key, step, forgetAt, now);
      if (!claimed) return failFlow(FlowReason.INVALID_OTP, 'the code was already used');

      ctx.state['totp_step'] = step;
      ctx.state['totp_accepted'] = true;
      return undefined;
    },
  };
};
