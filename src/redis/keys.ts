/**
 * The key layout in Redis (docs/deployment.md), shared by the transaction store and the rate limits: the store's
 * entry step counts the subject's failure budget on the rate limits' own key. Components are escaped so `{`, `}`,
 * `:` and `%` in a subject cannot move the hash tag or make two keys collide.
 */
const NEEDS_ESCAPE = /[%{}:]/;

export function escapeKeyPart(part: string): string {
  // Most parts have nothing to escape; testing first spares a replace with a callback for each (6 per `start`).
  if (!NEEDS_ESCAPE.test(part)) return part;
  return part.replace(/[%{}:]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** The Cluster hash tag of a subject's keys: a transaction, its lockout and the subject's failure counter share a slot. */
export function subjectTag(authenticatorId: string, subject: string): string {
  return `{${escapeKeyPart(authenticatorId)}:${escapeKeyPart(subject)}}`;
}

/**
 * A choice of a Selector (`group`, the selector's id) is tagged by the selector, so the transactions of all its
 * choices, their shared budget, lockout and failure counter sit in one slot (one script touches them together).
 */
export function txKey(prefix: string, authenticatorId: string, subject: string, sessionId: string, group?: string): string {
  if (group !== undefined) return `${prefix}tx:${subjectTag(group, subject)}:${escapeKeyPart(authenticatorId)}:${escapeKeyPart(sessionId)}`;
  return `${prefix}tx:${subjectTag(authenticatorId, subject)}:${escapeKeyPart(sessionId)}`;
}

/** One login's attempt budget shared by a Selector's choices (a hash: `w` wrong entries, `f` in flight). */
export function sharedBudgetKey(prefix: string, group: string, subject: string, sessionId: string): string {
  return `${prefix}grp:${subjectTag(group, subject)}:${escapeKeyPart(sessionId)}`;
}

/** `secretHash` is a hex digest (src/valves/totp-validate.ts), never the secret. */
export function totpStepKey(prefix: string, secretHash: string): string {
  return `${prefix}totp:${escapeKeyPart(secretHash)}`;
}

export function lockKey(prefix: string, authenticatorId: string, subject: string): string {
  return `${prefix}lock:${subjectTag(authenticatorId, subject)}`;
}

/** rate-limiter-flexible's key prefix for one limit of one authenticator (it appends `:${key}`). */
export function limitKeyPrefix(prefix: string, authenticatorId: string, limit: string): string {
  return `${prefix}rl:${escapeKeyPart(authenticatorId)}:${limit}`;
}

/** The subject's failure counter: the same key for RedisRateLimits and for the store's folded-in entry step. */
export function failuresKey(prefix: string, authenticatorId: string, subject: string): string {
  return `${limitKeyPrefix(prefix, authenticatorId, 'failures_per_subject_per_hour')}:${subjectTag(authenticatorId, subject)}`;
}

/** A subject's enrolled credential of one kind (`totp`); the subject is the hash tag, so all its credentials share a slot. */
export function credentialKey(prefix: string, subject: string, kind: string): string {
  return `${prefix}cred:{${escapeKeyPart(subject)}}:${kind}`;
}
