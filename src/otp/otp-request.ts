import type { Request } from 'express';
import type { OtpAuthenticatorConfig } from '../config/types.js';
import { emitEvent } from '../events/bus.js';
import type { EventFields, EventId } from '../events/catalogue.js';
import { authnState, sessionView } from '../authn/session-state.js';
import { languageOf } from '../i18n/setup.js';
import { expandString } from '../pipes/expand.js';
import { lazyDescriptors, withLazyFields } from './lazy-fields.js';
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

interface RequestContext {
  req: Request;
  ip: string;
}

/** Read from Express only when used: `hostname` and `protocol` run its proxy-trust logic, which a `start` never needs. */
const REQUEST_FIELDS = lazyDescriptors<RequestContext>({
  // The path as the browser asked for it, the same whether the request came through the router or not.
  path: ({ req }) => (req.originalUrl || req.url).split('?')[0] ?? '/',
  host: ({ req }) => req.hostname,
  protocol: ({ req }) => req.protocol,
});

/**
 * What expressions and valves see of the request, a fresh one for each flow (a valve may change its copy).
 * The address is read at once (`ip`): the events need it, and once the client has gone the request no longer
 * knows it. `path`, `host` and `protocol` are own properties read on first use (src/otp/lazy-fields.ts).
 */
function requestView(req: Request, ip: string): Record<string, unknown> {
  const view = { ip, method: req.method, language: requestLanguage(req), headers: {}, query: {}, body: {} };
  return withLazyFields(view, { req, ip }, REQUEST_FIELDS);
}

/**
 * What `${...}` in the authenticator's own settings (subject, destination) reads. The session copy and the request
 * view are made only if an expression reads them: most requests never do. Expansion looks a root up as a plain
 * property, so the class's getters serve; no per-request closures (src/otp/lazy-fields.ts says why that matters).
 */
class RequestScope {
  readonly state = {};
  readonly items = [];
  readonly authenticator = {};
  private sessionCopy: Record<string, unknown> | undefined;
  private requestCopy: Record<string, unknown> | undefined;

  constructor(
    private readonly context: RequestContext,
    readonly exports: Record<string, unknown>,
  ) {}

  get session(): Record<string, unknown> {
    return (this.sessionCopy ??= sessionView(this.context.req));
  }

  get request(): Record<string, unknown> {
    return (this.requestCopy ??= requestView(this.context.req, this.context.ip));
  }
}

/** A flow's `session`: the scope's copy, made on first read (a valve may still replace it). */
const FLOW_FIELDS = lazyDescriptors<RequestScope>({ session: (scope) => scope.session });

export function requestLanguage(req: Request): string {
  return languageOf(req as Request & { language?: string; resolvedLanguage?: string });
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

/** Null when no earlier step named a subject (NOT_IN_FLOW). */
export function otpRequest(req: Request, authenticatorId: string, config: OtpAuthenticatorConfig, appName?: string, group?: string): OtpRequest | null {
  const state = authnState(req);
  const exports = state.exports;
  const ip = req.ip ?? '';
  const scope = new RequestScope({ req, ip }, exports);
  const expansionScope = scope as unknown as Parameters<typeof expandString>[1];
  const subject = asText(expandString(config.subject, expansionScope)).trim();
  if (!subject || !req.sessionID) return null;
  const customer = config.custom_identifier ? asText(expandString(config.custom_identifier, expansionScope)) : '';
  const key: TxKey = group === undefined ? { sessionId: req.sessionID, authenticatorId, subject } : { sessionId: req.sessionID, authenticatorId, subject, group };
  return buildRequest(req, ip, scope, { key, traceId: state.trace_id, customer, config, appName });
}

/**
 * A request of the server-to-server face (src/api/): no session. The caller names the transaction (its key), the
 * trace id of its events and the exports its pipes read (the destination, the target's names).
 */
export function apiOtpRequest(req: Request, config: OtpAuthenticatorConfig, init: { key: TxKey; traceId: string; customer: string; exports: Record<string, unknown>; appName?: string }): OtpRequest {
  const ip = req.ip ?? '';
  return buildRequest(req, ip, new RequestScope({ req, ip }, init.exports), { key: init.key, traceId: init.traceId, customer: init.customer, config, ...(init.appName ? { appName: init.appName } : {}) });
}

function buildRequest(req: Request, ip: string, scope: RequestScope, o: { key: TxKey; traceId: string; customer: string; config: OtpAuthenticatorConfig; appName?: string | undefined }): OtpRequest {
  const expansionScope = scope as unknown as Parameters<typeof expandString>[1];
  const exports = scope.exports;
  const authenticatorId = o.key.authenticatorId;
  let base: Record<string, unknown> | undefined;
  const baseFields = () => (base ??= {
    IDENTIFIER: o.traceId,
    SOURCE_ADDRESS: ip,
    AUTHENTICATOR_IDENTIFIER: authenticatorId,
    ...(o.customer ? { CUSTOMER_IDENTIFIER: o.customer } : {}),
  });
  return {
    req,
    key: o.key,
    subject: o.key.subject,
    traceId: o.traceId,
    exports,
    expand: (template) => asText(expandString(template, expansionScope)),
    emit: (id, fields = {}) => void emitEvent(id, fields, new Date(), baseFields()),
    // Built here rather than by createFlowContext, whose copy of `request` would read every lazy field of it.
    flow: (flowState, hooks) => withLazyFields({
      id: o.traceId,
      request: requestView(req, ip) as unknown as FlowContext['request'],
      authenticator: { id: authenticatorId, type: 'OTP', code: o.config.code, ...(o.appName ? { app_name: o.appName } : {}) },
      exports,
      state: flowState,
      items: [],
      ...(hooks ? { hooks } : {}),
    }, scope, FLOW_FIELDS) as unknown as FlowContext,
  };
}
