/**
 * Secrets come from the environment, never from the config file. Without them the process runs on fixed
 * development values; ops/production-guards warns once about them, and production refuses them.
 */
export const DEV_SESSION_SECRET = 'otp-authenticator-dev-session-secret-do-not-use-in-production';
export const DEV_OTP_SECRET = 'otp-authenticator-dev-otp-secret-do-not-use-in-production';

export interface Secrets {
  /** express-session signing secrets: the first signs, all verify. */
  sessionSecrets: string[];
  /** HMAC keys for codes (OTP_SECRET, comma-separated): the first signs, all verify. */
  otpKeys: string[];
  /** Which of the two are the development fallbacks. */
  development: { session: boolean; otp: boolean };
}

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

export function readSecrets(env: NodeJS.ProcessEnv = process.env): Secrets {
  const session = list(env.SESSION_SECRET);
  const otp = list(env.OTP_SECRET);
  return {
    sessionSecrets: session.length > 0 ? session : [DEV_SESSION_SECRET],
    otpKeys: otp.length > 0 ? otp : [DEV_OTP_SECRET],
    development: { session: session.length === 0, otp: otp.length === 0 },
  };
}
