import type { AppConfig, OtpAuthenticatorConfig, OtpRateLimitsConfig, SelectorConfig } from '../config/types.js';
import type { RateLimits } from '../limits/rate-limits.js';
import type { OtpChoiceOptions } from '../otp/otp-router.js';

/**
 * What an OTP authenticator becomes as a choice of a Selector: the choices of one selector share their lockout
 * (the longest `lockout_seconds` of them, kept under the selector's id), one set of rate limits (the strictest
 * value of each; the per-subject failure budget so counts across the choices, and resend budgets stay per
 * destination because they are keyed by it), and the attempt budget the store keeps per login (TxKey.group).
 */
export interface ChoiceSettings {
  config: OtpAuthenticatorConfig;
  limits: RateLimits;
  options: OtpChoiceOptions;
}

function strictest(values: (number | undefined | null)[]): number | undefined {
  const set = values.filter((v): v is number => typeof v === 'number');
  return set.length === 0 ? undefined : Math.min(...set);
}

/** The channel a code to `address` takes: e-mail by its @; a phone number by voice when the pre-pipe can only call. */
function channelOf(config: AppConfig, otp: OtpAuthenticatorConfig): (address: string) => string {
  const valves = new Set(config.pipes.find((p) => p.id === otp.pre_pipe_id)?.valves.map((v) => v.name) ?? []);
  const phone = valves.has('VoiceCall') && !valves.has('SmsSend') && !valves.has('Outbox') ? 'voice' : 'sms';
  return (address) => (address.includes('@') ? 'email' : phone);
}

export function choiceSettings(config: AppConfig, limitsFor: (id: string, c: OtpAuthenticatorConfig) => RateLimits): Map<string, ChoiceSettings> {
  const out = new Map<string, ChoiceSettings>();
  const byId = new Map(config.authenticators.map((a) => [a.id, a]));
  for (const selector of config.authenticators) {
    if (selector.canonicalType !== 'Selector') continue;
    const otps = (selector.config as unknown as SelectorConfig).choices
      .map((c) => byId.get(c.id))
      .filter((a) => a?.canonicalType === 'OTP' && !out.has(a.id))
      .map((a) => ({ id: a!.id, config: a!.config as unknown as OtpAuthenticatorConfig }));
    if (otps.length === 0) continue;
    const names = Object.keys(otps[0]!.config.rate_limits) as (keyof OtpRateLimitsConfig)[];
    const rate_limits = Object.fromEntries(names.map((n) => [n, strictest(otps.map((o) => o.config.rate_limits[n]))])
      .filter(([, v]) => v !== undefined)) as unknown as OtpRateLimitsConfig;
    const lockout_seconds = Math.max(...otps.map((o) => o.config.lockout_seconds));
    const limits = limitsFor(selector.id, { ...otps[0]!.config, rate_limits });
    for (const o of otps) {
      out.set(o.id, {
        config: { ...o.config, rate_limits, lockout_seconds },
        limits,
        options: { group: selector.id, channelOf: channelOf(config, o.config) },
      });
    }
  }
  return out;
}
