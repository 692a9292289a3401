/**
 * Secrets come from the environment, never from the config file. Without them the process runs on fixed
 * development values; ops/production-guards warns once about them, and production refuses them.
 */
export const DEV_SESSION_SECRET = 'otp-authenticator-dev-session-secret-do-not-use-in-production';
export const DEV_OTP_SECRET = 'otp-authenticator-dev-otp-secret-do-not-use-in-production';
export const DEV_CREDENTIAL_KEY = 'otp-authenticator-dev-credential-key-do-not-use-in-production';

export interface Secrets {
  /** express-session signing secrets: the first signs, all verify. */
  sessionSecrets: string[];
  /** HMAC keys for codes (OTP_SECRET, comma-separated): the first signs, all verify. */
  otpKeys: string[];
  /** AES-256-GCM keys for enrolled secrets (CREDENTIAL_KEY, comma-separated): the first seals, all open. */
  credentialKeys: string[];
  /** Which are the development fallbacks (the OIDC provider's signing keys and cookie keys, when it is configured). */
  development: { session: boolean; otp: boolean; credential: boolean; oidc_jwks: boolean; oidc_cookie_keys: boolean };
}

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

export function readSecrets(env: NodeJS.ProcessEnv = process.env): Secrets {
  const session = list(env.SESSION_SECRET);
  const otp = list(env.OTP_SECRET);
  const credential = list(env.CREDENTIAL_KEY);
  return {
    sessionSecrets: session.length > 0 ? session : [DEV_SESSION_SECRET],
    otpKeys: otp.length > 0 ? otp : [DEV_OTP_SECRET],
    credentialKeys: credential.length > 0 ? credential : [DEV_CREDENTIAL_KEY],
    development: {
      session: session.length === 0, otp: otp.length === 0, credential: credential.length === 0,
      oidc_jwks: !env.OIDC_JWKS, oidc_cookie_keys: list(env.OIDC_COOKIE_KEYS).length === 0,
    },
  };
}
