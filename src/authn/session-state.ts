import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import type {} from 'express-session';

/**
 * What the authenticators keep in the session: the flow's trace id, the exports handed from step to step, and
 * which steps completed. One object under `req.session.authn`, so a host app's own session data is untouched.
 */
export interface AuthnState {
  /** The IDENTIFIER of every event of this login flow. */
  trace_id: string;
  exports: Record<string, unknown>;
  /** Authenticator ids that completed in this session, in order. */
  completed: string[];
  /** Per-authenticator counters of steps that keep their own (the password step's failures). */
  counters: Record<string, number>;
  /** What each completed step exported, so a step run again replaces its own exports instead of merging. */
  step_exports?: Record<string, Record<string, unknown>>;
  /**
   * The exports as they stood when a login (a root Chain) finished in this session: whose factor was passed. A
   * step that needs a passed factor (replacing an app, new recovery codes) compares its subject under these.
   */
  login_exports?: Record<string, unknown>;
  /** Optional steps the user skipped (cancelled): done for the chain's order, but no factor was passed. */
  skipped?: string[];
  /** When each step was passed (epoch ms): an OIDC login's auth_time is its last step's. */
  passed_at?: Record<string, number>;
  /**
   * The login must be done afresh (an OIDC client's prompt=login or max_age): a trusted browser skips no step.
   */
  fresh_login?: boolean;
  /** Per Selector id: the choice made, the switches so far and each choice tried (src/authn/selector-state.ts). */
  selectors?: Record<string, SelectorState>;
}

/** One Selector's progress in this login. */
export interface SelectorState {
  chosen: string | null;
  switches: number;
  tried: { id: string; channel: string | null; outcome: string }[];
}

declare module 'express-session' {
  interface SessionData {
    authn?: AuthnState;
  }
}

export function authnState(req: Request): AuthnState {
  const session = req.session;
  if (!session) throw new Error('otp-authenticator: no session on the request; mount express-session before the authenticators');
  session.authn ??= { trace_id: randomUUID(), exports: {}, completed: [], counters: {} };
  return session.authn;
}

/** Read-only view that does not create state (and so does not make a new session worth saving). */
export function peekAuthnState(req: Request): AuthnState | undefined {
  return req.session?.authn;
}

/**
 * What pipes see as `session`: a plain copy of the session's own data, without the cookie settings and the CSRF
 * token (a valve has no use for them, and a copy cannot change the session behind the authenticator's back).
 */
export function sessionView(req: Request): Record<string, unknown> {
  const { cookie: _cookie, csrfToken: _csrf, ...rest } = (req.session ?? {}) as unknown as Record<string, unknown>;
  return structuredClone(rest);
}
