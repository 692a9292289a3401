import type { AppConfig } from '../config/types.js';
import { createHash } from 'node:crypto';
import type { Secrets } from '../config/secrets.js';

/** The demo API key's development secret (config/default.json's VERIFY_API_DEMO_SECRET fallback). */
const DEV_VERIFY_API_SECRET = 'demo-secret';
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * What production refuses (SPEC section 2): development secrets, the Outbox valve, the memory store, and session
 * cookies that are not `secure`. With NODE_ENV=production any of them stops the process (exit 2, saying why);
 * elsewhere each is a warning, said once.
 */
export interface GuardProblem {
  key: string;
  message: string;
}

export function productionProblems(config: AppConfig, secrets: Secrets): GuardProblem[] {
  const out: GuardProblem[] = [];
  if (secrets.development.session) out.push({ key: 'dev-session-secret', message: 'SESSION_SECRET is not set (the development secret is in use)' });
  if (secrets.development.otp) out.push({ key: 'dev-otp-secret', message: 'OTP_SECRET is not set (the development key for code hashes is in use)' });
  // Only a configuration that keeps credentials (an enrolment step, or TotpValidate reading the store) needs the key.
  if (secrets.development.credential && usesCredentials(config)) out.push({ key: 'dev-credential-key', message: 'CREDENTIAL_KEY is not set (the development key for enrolled secrets is in use)' });
  const outboxes = config.pipes.filter((p) => p.valves.some((v) => v.name === 'Outbox' && v.enabled !== false)).map((p) => p.id);
  if (outboxes.length > 0) out.push({ key: 'outbox', message: `the Outbox valve (development delivery) is configured in pipe${outboxes.length > 1 ? 's' : ''} ${outboxes.join(', ')}` });
  const hostless = config.pipes.filter((p) => p.valves.some((v) => v.name === 'SmsSend' && v.enabled !== false
    && (v.config as { webotp?: boolean; webotp_host?: string } | undefined)?.webotp === true
    && !(v.config as { webotp_host?: string }).webotp_host)).map((p) => p.id);
  // Without a fixed host the WebOTP line names whatever Host header the request carried: a phishing proxy's own.
  if (hostless.length > 0) out.push({ key: 'webotp-host', message: `SmsSend has webotp: true without webotp_host in pipe${hostless.length > 1 ? 's' : ''} ${hostless.join(', ')}` });
  if (config.oidc) {
    if (!config.oidc.jwks_file && secrets.development.oidc_jwks) out.push({ key: 'dev-oidc-jwks', message: 'OIDC_JWKS is not set and oidc.jwks_file is absent (the development signing key is in use)' });
    if (secrets.development.oidc_cookie_keys) out.push({ key: 'dev-oidc-cookie-keys', message: 'OIDC_COOKIE_KEYS is not set (the development cookie key is in use)' });
    if (!config.oidc.issuer.startsWith('https://')) out.push({ key: 'oidc-http-issuer', message: `oidc.issuer ${config.oidc.issuer} is not https` });
  }
  const devKeys = (config.verify_api?.keys ?? []).filter((k) => k.secret === DEV_VERIFY_API_SECRET || k.secret_sha256 === sha256(DEV_VERIFY_API_SECRET)).map((k) => k.key_id);
  if (devKeys.length > 0) out.push({ key: 'dev-verify-api-secret', message: `verify_api key ${devKeys.join(', ')} has the development secret (set VERIFY_API_DEMO_SECRET, or the key's own)` });
  if (config.store.type === 'memory') out.push({ key: 'memory-store', message: 'store.type is "memory" (one process, state lost on restart); use "redis"' });
  if (!config.server.session.secure) out.push({ key: 'insecure-cookie', message: 'server.session.secure is false: session cookies would travel over plain HTTP' });
  return out;
}

export function usesCredentials(config: AppConfig): boolean {
  return config.authenticators.some((a) => a.canonicalType === 'TotpEnroll' || a.canonicalType === 'RecoveryCodes')
    || config.pipes.some((p) => p.valves.some((v) => v.name === 'RecoveryCodeValidate'
      || (v.name === 'TotpValidate' && (v.config as { secret_source?: string } | undefined)?.secret_source === 'store')));
}

export class ProductionRefusedError extends Error {
  constructor(readonly problems: GuardProblem[]) {
    super(`refusing to start with NODE_ENV=production:\n${problems.map((p) => `  - ${p.message}`).join('\n')}`);
    this.name = 'ProductionRefusedError';
  }
}
