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
  /** `exports` (default): the secret is `secret`, usually `${exports.totp_secret}`. `store`: the subject's enrolled one. */
  secret_source?: 'exports' | 'store';
  secret?: string;
  /** With `secret_source: "store"`: whose secret, usually `${exports.username}`. */
  subject?: string;
  window?: number;
  digits?: 6 | 7 | 8;
  period?: number;
  algorithm?: 'sha1' | 'sha256' | 'sha512';
}

export const totpValidateSchema = {
  type: 'object',
  additionalProperties: false,
  if: { properties: { secret_source: { const: 'store' } }, required: ['secret_source'] },
  then: { required: ['subject'] },
  else: { required: ['secret'] },
  properties: {
    secret_source: { enum: ['exports', 'store'], description: 'exports (default): the secret is `secret`; store: the subject\'s secret enrolled with TotpEnroll, with its algorithm, digits and period (`secret`, if given, serves until one is enrolled).' },
    secret: { type: 'string', minLength: 1, description: 'Base32 secret, usually ${exports.totp_secret} (secret_source exports).' },
    subject: { type: 'string', minLength: 1, description: 'Whose enrolled secret, usually ${exports.username} (secret_source store).' },
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

/** The widest `window` the schema allows: a step claimed stays refused while any window could accept it. */
export const MAX_TOTP_WINDOW = 10;

/** The replay guard's key of a secret (a digest, never the secret); TotpEnroll claims the step its activation used. */
export function totpReplayKey(secret: string): string {
  return secretKey(secret);
}

function secretKey(secret: string): string {
  return createHash('sha256').update(`totp-step\0${secret}`).digest('hex');
}

export const totpValidate: ValveFactory<TotpValidateConfig> = (config, deps) => {
  const window = config.window ?? 1;
  const fromStore = config.secret_source === 'store';
  if (fromStore && !deps.enrolledTotp) throw new Error('TotpValidate: secret_source "store" needs a credential store');

  return {
    async run(ctx) {
      let digits = config.digits ?? 6;
      let period = config.period ?? 30;
      let algorithm = config.algorithm ?? 'sha1';
      let raw = config.secret ?? '';
      const subject = config.subject ?? '';
      if (fromStore) {
        // No enrolled secret is a wrong code, not a fault: the user has no app to take a code from.
        // An enrolled app replaces the `secret` given (if any), which serves until one is enrolled.
        const enrolled = subject ? await deps.enrolledTotp!(subject) : null;
        // Enrolled but not opening (CREDENTIAL_KEY lost its key, the value was changed): fail closed, never fall back.
        if (enrolled === 'unusable') return failFlow(FlowReason.VALVE_ERROR, 'the enrolled secret does not open with CREDENTIAL_KEY');
        if (enrolled) {
          ({ digits, period, algorithm } = enrolled);
          raw = enrolled.secret;
        } else if (!raw.trim()) {
          return failFlow(FlowReason.INVALID_OTP, 'no authenticator app is enrolled');
        }
      }
      const shape = new RegExp(`^[0-9]{${digits}}$`);
      const secret = normaliseTotpSecret(raw);
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
      if (fromStore) await deps.usedTotp?.(subject, now);
      return undefined;
    },
  };
};
