import { timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { csrfSync } from 'csrf-sync';

/**
 * Synchroniser-token CSRF protection. csrf-sync makes and keeps the token in the session; the comparison is
 * ours because csrf-sync compares with ===, and a token check should not leak timing.
 */
const sync = csrfSync({ size: 32 });

/** The session's token, made on first use. A session that has one keeps it until login regenerates it. */
export function csrfToken(req: Request, fresh = false): string {
  return sync.generateToken(req, fresh);
}

/** True when `received` equals the session's token. */
export function csrfValid(req: Request, received: unknown): boolean {
  const stored = sync.getTokenFromState(req);
  if (typeof stored !== 'string' || typeof received !== 'string') return false;
  const a = Buffer.from(stored);
  const b = Buffer.from(received);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function csrfFromHeader(req: Request): unknown {
  return req.headers['x-csrf-token'];
}
