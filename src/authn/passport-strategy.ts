import type { Request } from 'express';
import CustomStrategy from 'passport-custom';
import { peekAuthnState, type AuthnState } from './session-state.js';

/**
 * The passport face: a `passport-custom` strategy that authenticates a request whose session completed a chain.
 * The chain itself logs the user in when its last step completes; a host app may also use the strategy on a
 * route of its own (`passport.authenticate('otp-authenticator')`).
 */
export const STRATEGY_NAME = 'otp-authenticator';

export interface AuthnUser {
  username: string;
  [key: string]: unknown;
}

/** The user a finished flow stands for: its exports, without the reports (kept in the session, not the user). */
export function userFromSession(state: AuthnState | undefined): AuthnUser | null {
  const username = state?.exports.username;
  if (!state || typeof username !== 'string' || !username) return null;
  const { otp_report: _report, otp_reports: _reports, ...rest } = state.exports;
  return { ...rest, username };
}

export function createAuthnStrategy(chainIds: readonly string[]): CustomStrategy {
  return new CustomStrategy((req: Request, done) => {
    const state = peekAuthnState(req);
    const complete = !!state && chainIds.some((id) => state.completed.includes(id));
    done(null, complete ? userFromSession(state) ?? false : false);
  });
}
