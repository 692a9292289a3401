/**
 * The configuration every benchmark uses: one OTP authenticator (`/authn/otp`) with its send pipe (codes go to an
 * outbox file, nothing leaves the machine) and its validation pipe, attempts and limits set so that the measured
 * requests do the real work instead of being refused:
 * - allowed_otp_retry 20 (the schema's maximum): 21 entries are evaluated per transaction, so a session serves 20
 *   wrong-code `start`s that are each evaluated and answered INVALID_OTP (the 21st would abort);
 * - every rate limit at its schema maximum, and each bench session has its own subject and its own mobile number,
 *   so no per-subject (100/h) or per-destination (1000/min) budget is reached.
 * And the verification API (`verify_api`, mounted by bench/server.ts at VERIFY_PATH as docs/verify-api.md tells a
 * host): one key (VERIFY_KEY_ID) for an OTP authenticator of its own (`api-otp`, `web: false`) with the same pipes,
 * allowed_otp_retry 20 and every limit at its schema maximum, the key's requests_per_minute too (1,000,000), so
 * that a verification takes 20 wrong checks, each evaluated and answered INVALID_OTP `pending` (the 21st would
 * reject it); each verification has its own subject (none given at create) and its own number (verifyMobileOf).
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

/** Wrong checks one verification can take and still have each one evaluated and answered INVALID_OTP pending. */
export const CHECKS_PER_VERIFICATION = ALLOWED_OTP_RETRY;
/** Where bench/server.ts mounts authn.verifyApi, and the bench key (Authorization: Bearer <id>.<secret>). */
export const VERIFY_PATH = '/api/verify';
export const VERIFY_KEY_ID = 'bench';
export const VERIFY_KEY_SECRET = 'bench-verify-secret';
export const VERIFY_AUTHORIZATION = `Bearer ${VERIFY_KEY_ID}.${VERIFY_KEY_SECRET}`;

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

/** The API's authenticator: as config/default.json's `api-otp`, with the form's attempts and limits. */
export const API_OTP_CONFIG = {
  web: false,
  pre_pipe_id: 'otp-send',
  pipe_id: 'otp-validate',
  subject: '${exports.subject}',
  destination: { source: '${exports.to}' },
  allowed_otp_retry: ALLOWED_OTP_RETRY,
  rate_limits: OTP_CONFIG.rate_limits,
};

export const VERIFY_API_CONFIG = {
  keys: [{
    key_id: VERIFY_KEY_ID,
    secret: VERIFY_KEY_SECRET,
    authenticator: 'api-otp',
    scopes: ['verifications:create', 'verifications:check'],
    requests_per_minute: 1_000_000,
  }],
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
    authenticators: [{ id: 'otp', type: 'OTP', config: OTP_CONFIG }, { id: 'api-otp', type: 'OTP', config: API_OTP_CONFIG }],
    verify_api: VERIFY_API_CONFIG,
  }, null, 2));
  return loadConfig(file, { ...process.env, ...BENCH_ENV });
}

/** The mobile number of bench session `i`: a valid Swedish mobile number, distinct per session. */
export function mobileOf(i: number): string {
  return `+4670${String(1_000_000 + i)}`;
}

/** The mobile number of bench verification `i`: distinct per verification and from every session's (mobileOf). */
export function verifyMobileOf(i: number): string {
  return mobileOf(5_000_000 + i);
}
