import { createHash, timingSafeEqual } from 'node:crypto';
import type { VerifyApiKeyConfig, VerifyScope } from '../config/types.js';

/**
 * API keys of the verification API: `Authorization: Bearer <key_id>.<secret>`, the secret compared as its SHA-256
 * in constant time. Only the digest is kept; an unknown key id costs the same work as a known one.
 */
export interface ApiKey {
  keyId: string;
  authenticator: string;
  scopes: ReadonlySet<VerifyScope>;
  digest: Buffer;
  requestsPerMinute: number;
  /** Whether its requests may bring their own message text. */
  allowMessage: boolean;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
/** Compared against when the key id is unknown, so the answer takes as long. */
const NOBODY = sha256('otp-authenticator: no such key');

export function apiKeys(keys: readonly VerifyApiKeyConfig[]): Map<string, ApiKey> {
  return new Map(keys.map((k) => [k.key_id, {
    keyId: k.key_id,
    authenticator: k.authenticator,
    scopes: new Set(k.scopes),
    digest: k.secret_sha256 ? Buffer.from(k.secret_sha256, 'hex') : sha256(k.secret ?? ''),
    requestsPerMinute: k.requests_per_minute,
    allowMessage: k.allow_message === true,
  }]));
}

/** The key a request's Authorization header names and proves, or null. */
export function authenticate(header: string | undefined, keys: ReadonlyMap<string, ApiKey>): ApiKey | null {
  const match = /^Bearer ([A-Za-z0-9_-]{1,64})\.(\S{1,500})$/.exec(header ?? '');
  return match ? proved(match[1]!, match[2]!, keys) : null;
}

/** The key PhoneMatch's `user` (the key id) and `pass` (its secret) name and prove, or null. */
export function authenticateLogin(user: unknown, pass: unknown, keys: ReadonlyMap<string, ApiKey>): ApiKey | null {
  if (typeof user !== 'string' || typeof pass !== 'string' || pass.length === 0 || pass.length > 500) return null;
  return proved(user, pass, keys);
}

function proved(keyId: string, secret: string, keys: ReadonlyMap<string, ApiKey>): ApiKey | null {
  const key = keys.get(keyId);
  const ok = timingSafeEqual(sha256(secret), key?.digest ?? NOBODY);
  return key && ok ? key : null;
}
