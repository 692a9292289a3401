import { randomUUID, timingSafeEqual } from 'node:crypto';
import express, { type Router } from 'express';
import { authnErrorHandler } from '../http/respond.js';
import { emitEvent } from '../events/bus.js';
import type { TransactionStore } from '../store/types.js';

/**
 * Lifting a lockout for a help desk. With Redis the CLI talks to the store itself; with the memory store the
 * state lives inside the server, so the CLI calls this admin route, which exists only while OTP_ADMIN_TOKEN is
 * set and answers only a request that carries it.
 */
export interface UnlockResult {
  subject: string;
  unlocked: string[];
}

export async function unlockSubject(store: TransactionStore, authenticatorIds: readonly string[], subject: string, source = 'cli'): Promise<UnlockResult> {
  const unlocked: string[] = [];
  for (const id of authenticatorIds) {
    if (await store.unlock(id, subject)) {
      unlocked.push(id);
      emitEvent('OTP_200014', { IDENTIFIER: randomUUID(), AUTHENTICATOR_IDENTIFIER: id, CUSTOMER_IDENTIFIER: subject, SOURCE_ADDRESS: source });
    }
  }
  return { subject, unlocked };
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from((header ?? '').replace(/^Bearer\s+/i, ''));
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function createAdminRouter(store: TransactionStore, otpAuthenticatorIds: readonly string[], token: string | undefined): Router {
  const router = express.Router();
  if (!token) return router;
  router.post('/unlock', express.json({ limit: '1kb' }), async (req, res) => {
    if (!tokenMatches(req.headers.authorization, token)) return void res.status(401).json({ status: 'ERROR', error: { code: 'UNAUTHORIZED', message: 'admin token required' } });
    const body = (req.body ?? {}) as { subject?: unknown; authenticator?: unknown };
    if (typeof body.subject !== 'string' || !body.subject || body.subject.length > 256) return void res.status(400).json({ status: 'ERROR', error: { code: 'BAD_REQUEST', message: 'subject is required' } });
    const ids = typeof body.authenticator === 'string' ? otpAuthenticatorIds.filter((id) => id === body.authenticator) : otpAuthenticatorIds;
    if (ids.length === 0) return void res.status(404).json({ status: 'ERROR', error: { code: 'NOT_FOUND', message: 'no such OTP authenticator' } });
    res.json({ status: 'OK', ...(await unlockSubject(store, ids, body.subject, req.ip ?? 'admin')) });
  });
  router.use(authnErrorHandler());
  return router;
}
