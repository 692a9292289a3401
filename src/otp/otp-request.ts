import type { Request } from 'express';
import type { OtpAuthenticatorConfig } from '../config/types.js';
import { emitEvent } from '../events/bus.js';
import type { EventFields, EventId } from '../events/catalogue.js';
import { authnState, sessionView } from '../authn/session-state.js';
import { languageOf } from '../i18n/setup.js';
import { expandString } from '../pipes/expand.js';
import { createFlowContext } from '../pipes/flow-context.js';
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

function scopeOf(req: Request, exports: Record<string, unknown>) {
  // The session copy is made only if an expression or a valve reads it: most requests never do.
  let session: Record<string, unknown> | undefined;
  return {
    exports,
    get session() {
      session ??= sessionView(req);
      return session;
    },
    request: { ip: req.ip ?? '', method: req.method, path: req.path, host: req.hostname, protocol: req.protocol, language: requestLanguage(req), headers: {}, query: {}, body: {} },
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
  const scope = scopeOf(req, exports);
  const subject = asText(expandString(config.subject, scope)).trim();
  if (!subject || !req.sessionID) return null;
  const customer = config.custom_identifier ? asText(expandString(config.custom_identifier, scope)) : '';
  const base = {
    IDENTIFIER: state.trace_id,
    SOURCE_ADDRESS: req.ip ?? '',
    AUTHENTICATOR_IDENTIFIER: authenticatorId,
    ...(customer ? { CUSTOMER_IDENTIFIER: customer } : {}),
  };
  return {
    req,
    key: { sessionId: req.sessionID, authenticatorId, subject },
    subject,
    traceId: state.trace_id,
    exports,
    expand: (template) => asText(expandString(template, scope)),
    emit: (id, fields = {}) => void emitEvent(id, { ...base, ...fields } as EventFields),
    flow: (flowState, hooks) => lazySession(createFlowContext({
      id: state.trace_id,
      request: scope.request as FlowContext['request'],
      authenticator: { id: authenticatorId, type: 'OTP', code: config.code, ...(appName ? { app_name: appName } : {}) },
      exports,
      state: flowState,
      ...(hooks ? { hooks } : {}),
    }), () => scope.session as Record<string, unknown>),
  };
}

/** A flow's `session` made on first read (a valve may still replace it). */
function lazySession(ctx: FlowContext, make: () => Record<string, unknown>): FlowContext {
  let value: Record<string, unknown> | undefined;
  Object.defineProperty(ctx, 'session', {
    enumerable: true,
    configurable: true,
    get: () => (value ??= make()),
    set: (v: Record<string, unknown>) => { value = v; },
  });
  return ctx;
}
