import type { AppConfig, OtpAuthenticatorConfig, OtpRateLimitsConfig, SelectorConfig } from '../config/types.js';
import type { RateLimits } from '../limits/rate-limits.js';
import { splitLimits } from '../limits/split-limits.js';
import { expandString } from '../pipes/expand.js';
import type { OtpChoiceOptions } from '../otp/otp-router.js';
import { pipeDelivers } from '../valves/delivery-channels.js';

/**
 * What an OTP authenticator becomes as a choice of a Selector: the choices of one selector share their lockout
 * (the longest `lockout_seconds` of them, kept under the selector's id), one per-subject failure budget
 * (`failures_per_subject_per_hour`, the strictest value the choices set, counted under the selector's id), and
 * the attempt budget the store keeps per login (TxKey.group). Every other limit stays the choice's own: its sends
 * per destination, per address, per country, and its entries per transaction.
 */
export interface ChoiceSettings {
  config: OtpAuthenticatorConfig;
  limits: RateLimits;
  options: OtpChoiceOptions;
}

function strictest(values: (number | undefined | null)[]): number | null {
  const set = values.filter((v): v is number => typeof v === 'number');
  return set.length === 0 ? null : Math.min(...set);
}

/** The channel a code to `address` takes: e-mail by its @; a phone number by voice when the pre-pipe can only call. */
function channelOf(config: AppConfig, otp: OtpAuthenticatorConfig): (address: string) => string {
  const valves = new Set(config.pipes.find((p) => p.id === otp.pre_pipe_id)?.valves.map((v) => v.name) ?? []);
  const phone = pipeDelivers(valves, 'voice') && !pipeDelivers(valves, 'sms') ? 'voice' : 'sms';
  return (address) => (address.includes('@') ? 'email' : phone);
}

function redeemsRecoveryCodes(config: AppConfig, otp: OtpAuthenticatorConfig): boolean {
  return config.pipes.find((p) => p.id === otp.pipe_id)?.valves.some((v) => v.name === 'RecoveryCodeValidate') ?? false;
}

/** What a choice's availability may ask of the credential store. */
export interface ChoiceCredentials {
  recoveryCodesLeft(subject: string): Promise<number>;
  hasTotp(subject: string): Promise<boolean>;
}

/**
 * A choice whose validation pipe needs something of the subject is offered only when the subject has it: recovery
 * codes left (RecoveryCodeValidate); an enrolled app, or the `secret` that serves until one is (TotpValidate with
 * `secret_source: "store"`).
 */
function availability(config: AppConfig, otp: OtpAuthenticatorConfig, credentials: ChoiceCredentials): OtpChoiceOptions['available'] {
  const valves = config.pipes.find((p) => p.id === otp.pipe_id)?.valves ?? [];
  if (valves.some((v) => v.name === 'RecoveryCodeValidate')) return async (s) => (await credentials.recoveryCodesLeft(s)) > 0;
  const totp = valves.find((v) => v.name === 'TotpValidate' && (v.config as { secret_source?: string } | undefined)?.secret_source === 'store');
  if (!totp) return undefined;
  const fallback = (totp.config as { secret?: string }).secret;
  return async (s, exports) => (await credentials.hasTotp(s))
    || (fallback !== undefined && String(expandString(fallback, { exports } as unknown as Parameters<typeof expandString>[1]) ?? '').trim() !== '');
}

export function choiceSettings(
  config: AppConfig,
  limitsFor: (id: string, c: OtpAuthenticatorConfig) => RateLimits,
  credentials?: ChoiceCredentials,
): Map<string, ChoiceSettings> {
  const out = new Map<string, ChoiceSettings>();
  const byId = new Map(config.authenticators.map((a) => [a.id, a]));
  for (const selector of config.authenticators) {
    if (selector.canonicalType !== 'Selector') continue;
    const otps = (selector.config as unknown as SelectorConfig).choices
      .map((c) => byId.get(c.id))
      .filter((a) => a?.canonicalType === 'OTP' && !out.has(a.id))
      .map((a) => ({ id: a!.id, config: a!.config as unknown as OtpAuthenticatorConfig }));
    if (otps.length === 0) continue;
    const failures = strictest(otps.map((o) => o.config.rate_limits.failures_per_subject_per_hour));
    const lockout_seconds = Math.max(...otps.map((o) => o.config.lockout_seconds));
    const shared = limitsFor(selector.id, { ...otps[0]!.config, rate_limits: { ...otps[0]!.config.rate_limits, failures_per_subject_per_hour: failures as number } });
    for (const o of otps) {
      const rate_limits: OtpRateLimitsConfig = { ...o.config.rate_limits, failures_per_subject_per_hour: failures as number };
      const choice = { ...o.config, rate_limits, lockout_seconds };
      out.set(o.id, {
        config: choice,
        limits: splitLimits(limitsFor(o.id, choice), shared, ['failures_per_subject_per_hour']),
        options: {
          group: selector.id,
          channelOf: channelOf(config, o.config),
          // A recovery-code choice is offered only to a subject with codes left.
          ...(redeemsRecoveryCodes(config, o.config) ? { silentChannel: 'recovery' } : {}),
          ...(credentials && availability(config, o.config, credentials) ? { available: availability(config, o.config, credentials)! } : {}),
        },
      });
    }
  }
  return out;
}
