/**
 * The configuration every benchmark uses: one OTP authenticator (`/authn/otp`) with its send pipe (codes go to an
 * outbox file, nothing leaves the machine) and its validation pipe, attempts and limits set so that the measured
 * requests do the real work instead of being refused:
 * - allowed_otp_retry 20 (the schema's maximum): 21 entries are evaluated per transaction, so a session serves 20
 *   wrong-code `start`s that are each evaluated and answered INVALID_OTP (the 21st would abort);
 * - every rate limit at its schema maximum, and each bench session has its own subject and its own mobile number,
 *   so no per-subject (100/h) or per-destination (1000/min) budget is reached.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/index.js';
import type { AppConfig } from '../src/config/types.js';

export const OTP_PATH = '/authn/otp';
export const ALLOWED_OTP_RETRY = 20;
/** Wrong entries one session can take and still have each one evaluated and answered INVALID_OTP. */
export const STARTS_PER_SESSION = ALLOWED_OTP_RETRY;

export const BENCH_ENV: NodeJS.ProcessEnv = { OUTBOX_FILE: '', OTP_SECRET: 'bench-otp-secret', SESSION_SECRET: 'bench-session-secret' };

export const OTP_CONFIG = {
  base_path: '/authn',
  pre_pipe_id: 'otp-send',
  pipe_id: 'otp-validate',
  subject: '${exports.username}',
  custom_identifier: '${exports.username}',
  destination: { source: '${exports.mobile}' },
  success_location: '/account',
  failure_location: '/failed',
  cancel_location: '/cancelled',
  allowed_otp_retry: ALLOWED_OTP_RETRY,
  rate_limits: {
    sends_per_destination_per_minute: 1000,
    sends_per_ip_per_hour: 100000,
    entries_per_transaction_per_minute: 1000,
    failures_per_subject_per_hour: 100,
  },
};

export function benchConfig(outbox: string): AppConfig {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'otp-bench-config-'));
  const file = path.join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({
    globals: { app_name: 'Bench SSO' },
    logging: { events: { console: false } },
    pipes: [
      { id: 'otp-send', valves: [{ name: 'PhoneNormalize', config: { default_country: 'SE' } }, { name: 'OtpGenerate' }, { name: 'Outbox', config: { file: outbox, print: false } }] },
      { id: 'otp-validate', valves: [{ name: 'OtpValidate' }] },
    ],
    authenticators: [{ id: 'otp', type: 'OTP', config: OTP_CONFIG }],
  }, null, 2));
  return loadConfig(file, { ...process.env, ...BENCH_ENV });
}

/** The mobile number of bench session `i`: a valid Swedish mobile number, distinct per session. */
export function mobileOf(i: number): string {
  return `+4670${String(1_000_000 + i)}`;
}
