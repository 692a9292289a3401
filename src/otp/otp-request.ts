import type { Request } from 'express';
import type { OtpAuthenticatorConfig } from '../config/types.js';
import { emitEvent } from '../events/bus.js';
import type { EventFields, EventId } from '../events/catalogue.js';
import { authnState, sessionView } from '../authn/session-state.js';
import { languageOf } from '../i18n/setup.js';
import { expandString } from '../pipes/expand.js';
import type { FlowContext, FlowHooks, OtpFlowState } from '../pipes/types.js';
import type { TxKey } from '../store/types.js';

/**
 * One request's view of the OTP process: who (subject), which transaction (key), and how to start flows and
 * emit events with the fields SPEC section 4 asks for. Built once per request by the router.
 */
export interface OtpRequest {
  readonly req: Request;
  readonly key: TxKey;
  readonly subject: string;
  readonly traceId: string;
  readonly exports: Record<string, unknown>;
  flow(state: OtpFlowState, hooks?: FlowHooks): FlowContext;
  emit(id: EventId, fields?: Omit<EventFields, 'IDENTIFIER'>): void;
  /** Evaluates a config expression such as `${exports.mobile}` over this request. */
  expand(template: string): string;
}

/**
 * What expressions and valves see of the request, a fresh one for each flow (a valve may change its copy).
 * Reading `req.hostname` and `req.protocol` runs Express's proxy-trust logic each time, and a `start` never needs
 * them: they are read on first use. The address is read at once (`ip`): the events need it, and once the client
 * has gone the request no longer knows it.
 */
function requestView(req: Request, ip: string): Record<string, unknown> {
  let host: string | undefined;
  let protocol: string | undefined;
  let path: string | undefined;
  return {
    ip,
    method: req.method,
    // The path as the browser asked for it, the same whether the request came through the router or not.
    get path() { return (path ??= (req.originalUrl || req.url).split('?')[0] ?? '/'); },
    set path(value: string) { path = value; },
    get host() { return (host ??= req.hostname); },
    set host(value: string) { host = value; },
    get protocol() { return (protocol ??= req.protocol); },
    set protocol(value: string) { protocol = value; },
    language: requestLanguage(req),
    headers: {},
    query: {},
    body: {},
  };
}

function scopeOf(req: Request, ip: string, exports: Record<string, unknown>) {
  // The session copy is made only if an expression or a valve reads it: most requests never do.
  let session: Record<string, unknown> | undefined;
  let request: Record<string, unknown> | undefined;
  return {
    exports,
    get session() {
      session ??= sessionView(req);
      return session;
    },
    get request() {
      return (request ??= requestView(req, ip));
    },
    state: {},
    items: [],
    authenticator: {},
  } as unknown as Parameters<typeof expandString>[1];
}

export function requestLanguage(req: Request): string {
  return languageOf(req as Request & { language?: string; resolvedLanguage?: string });
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

/** Null when no earlier step named a subject (NOT_IN_FLOW). */
export function otpRequest(req: Request, authenticatorId: string, config: OtpAuthenticatorConfig, appName?: string): OtpRequest | null {
  const state = authnState(req);
  const exports = state.exports;
  const ip = req.ip ?? '';
  const scope = scopeOf(req, ip, exports);
  const subject = asText(expandString(config.subject, scope)).trim();
  if (!subject || !req.sessionID) return null;
  const customer = config.custom_identifier ? asText(expandString(config.custom_identifier, scope)) : '';
  let base: Record<string, unknown> | undefined;
  const baseFields = () => (base ??= {
    IDENTIFIER: state.trace_id,
    SOURCE_ADDRESS: ip,
    AUTHENTICATOR_IDENTIFIER: authenticatorId,
    ...(customer ? { CUSTOMER_IDENTIFIER: customer } : {}),
  });
  return {
    req,
    key: { sessionId: req.sessionID, authenticatorId, subject },
    subject,
    traceId: state.trace_id,
    exports,
    expand: (template) => asText(expandString(template, scope)),
    emit: (id, fields = {}) => void emitEvent(id, fields, new Date(), baseFields()),
    flow: (flowState, hooks) => {
      // Built here rather than by createFlowContext, whose copy of `request` would read every lazy field of it.
      let session: Record<string, unknown> | undefined;
      return {
        id: state.trace_id,
        request: requestView(req, ip) as unknown as FlowContext['request'],
        authenticator: { id: authenticatorId, type: 'OTP', code: config.code, ...(appName ? { app_name: appName } : {}) },
        // Made on first read (a valve may still replace it).
        get session() { return (session ??= scope.session as Record<string, unknown>); },
        set session(value: Record<string, unknown>) { session = value; },
        exports,
        state: flowState,
        items: [],
        ...(hooks ? { hooks } : {}),
      };
    },
  };
}
