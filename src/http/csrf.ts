import { timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { csrfSync } from 'csrf-sync';
import { OtpError } from '../errors.js';
import { bodyKind, readBody, type BodyKind } from './body.js';

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

/**
 * An authenticator's POST/PUT body, CSRF checked as every one of them must: a JSON request by its `X-CSRF-Token`
 * header before the body is read (a forged request costs no parsing), a form by its `_csrf` field. Throws CSRF.
 */
export async function readCsrfCheckedBody(req: Request, res: Response, kind: BodyKind | null = bodyKind(req)): Promise<{ kind: BodyKind; body: unknown }> {
  if (kind !== 'form' && !csrfValid(req, csrfFromHeader(req))) throw new OtpError('CSRF');
  const read = await readBody(req, res, true, kind);
  if (read.kind === 'form' && !csrfValid(req, (read.body as Record<string, unknown> | undefined)?._csrf)) throw new OtpError('CSRF');
  return read;
}
