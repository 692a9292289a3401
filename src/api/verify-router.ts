import { randomBytes } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { Ajv } from 'ajv';
import type { AppConfig, OtpAuthenticatorConfig, VerifyScope } from '../config/types.js';
import { createSecretBox } from '../codes/secret-box.js';
import { OtpError } from '../errors.js';
import { readBody } from '../http/body.js';
import { authnErrorHandler, errorBody, sendJson } from '../http/respond.js';
import { apiOtpRequest, type OtpRequest } from '../otp/otp-request.js';
import { sendCode } from '../otp/otp-sending.js';
import { enterCode } from '../otp/otp-entry.js';
import type { OtpServices } from '../otp/otp-services.js';
import type { RateLimits } from '../limits/rate-limits.js';
import type { Destination } from '../pipes/types.js';
import { LINE_TYPE_WORDS } from '../valves/phone-policy.js';
import {
  attemptsLeft, buildReport, codesLeft, maskDestination, otpPolicyFromConfig, type OtpPolicy, type TransactionRecord,
} from '../transaction/index.js';
import { apiKeys, authenticate, type ApiKey } from './verify-keys.js';
import { deliverWebhook } from './webhooks.js';
import { serveOpenApi } from './openapi.js';

/**
 * The verification API (issue 24): a backend's face of the same OTP rules, stores and pipes as the web form, with
 * no session, cookie or CSRF token. A verification is one transaction of the OTP authenticator its API key names;
 * its id is sealed (AES-256-GCM under a key from OTP_SECRET) over the subject and a nonce, bound to the key that
 * made it, so it is unguessable and another key's id opens to nothing (404). docs/verify-api.md.
 */
/** `o`: the create request's options, which every later send of the verification keeps to. */
interface Sealed { s: string; n: string; c: string | null; o?: NarrowingOptions }

interface NarrowingOptions { do_not_send_to_types?: string[]; country?: { whitelist?: string[]; blacklist?: string[] } }

const COUNTRY = { type: 'string', pattern: '^[A-Z]{2}$' };
const optionsSchema = {
  type: 'object', additionalProperties: false,
  properties: {
    do_not_send_to_types: { type: 'array', maxItems: 20, uniqueItems: true, items: { enum: [...LINE_TYPE_WORDS] } },
    country: { type: 'object', additionalProperties: false, properties: { whitelist: { type: 'array', maxItems: 300, items: COUNTRY }, blacklist: { type: 'array', maxItems: 300, items: COUNTRY } } },
  },
};

/** Whether a destination the pipe accepted is also one the request allows (options only ever refuse more). */
function allowedBy(o: NarrowingOptions | undefined): ((d: Destination) => boolean) | undefined {
  if (!o) return undefined;
  return (d) => {
    if (d.kind !== 'phone') return true;
    if (d.line_type && o.do_not_send_to_types?.includes(d.line_type)) return false;
    if (o.country?.whitelist && !(d.country && o.country.whitelist.includes(d.country))) return false;
    if (d.country && o.country?.blacklist?.includes(d.country)) return false;
    return true;
  };
}

const createSchema = {
  type: 'object', additionalProperties: false, required: ['to'],
  properties: {
    to: { type: 'string', minLength: 1, maxLength: 320 },
    channel: { enum: ['sms', 'email', 'auto'] },
    locale: { type: 'string', minLength: 2, maxLength: 16 },
    reference: { type: 'string', minLength: 1, maxLength: 100 },
    subject: { type: 'string', minLength: 1, maxLength: 200 },
    target: { type: 'object', additionalProperties: false, properties: { fn: { type: 'string', maxLength: 100 }, ln: { type: 'string', maxLength: 100 } } },
    options: optionsSchema,
  },
};
const ajv = new Ajv({ strict: false });
const validateCreate = ajv.compile(createSchema);
const validateCheck = ajv.compile({ type: 'object', additionalProperties: false, required: ['code'], properties: { code: { type: 'string', minLength: 1, maxLength: 64 } } });
const validateChange = ajv.compile({ type: 'object', additionalProperties: false, required: ['to'], properties: { to: { type: 'string', minLength: 1, maxLength: 320 } } });
const validateEmpty = ajv.compile({ type: 'object', additionalProperties: false, maxProperties: 0 });

/** PhoneMatch's outcomes of a refused send: the report's detail, and the status a backend gets. */
const SEND_OUTCOMES: Partial<Record<OtpError['code'], { status: number; detail: string }>> = {
  INVALID_DESTINATION: { status: 422, detail: 'DATA CHECK FAILED' },
  DESTINATION_NOT_ALLOWED: { status: 422, detail: 'SUPPRESSED SENDING CODE' },
  DELIVERY_FAILED: { status: 502, detail: 'FAILED TO SEND TO NUMBER' },
};

export interface VerifyApiDeps {
  config: AppConfig;
  services: Omit<OtpServices, 'limits'>;
  limits(authenticatorId: string, config: OtpAuthenticatorConfig): RateLimits;
  otpKeys: readonly string[];
  languages: readonly string[];
}

export function createVerifyApi(deps: VerifyApiDeps): Router {
  const api = deps.config.verify_api;
  if (!api) throw new Error('createVerifyApi: the configuration has no verify_api block');
  const keys = apiKeys(api.keys);
  const box = createSecretBox(deps.otpKeys.map((k) => `verify-api-id\0${k}`));
  const byId = new Map(deps.config.authenticators.map((a) => [a.id, a]));
  const contexts = new Map<string, { config: OtpAuthenticatorConfig; policy: OtpPolicy; ctx: Parameters<typeof enterCode>[0] }>();
  const contextOf = (authenticatorId: string) => {
    let c = contexts.get(authenticatorId);
    if (!c) {
      const config = byId.get(authenticatorId)!.config as unknown as OtpAuthenticatorConfig;
      const policy = otpPolicyFromConfig(config);
      const services: OtpServices = { ...deps.services, limits: deps.limits(authenticatorId, config) };
      c = { config, policy, ctx: { services, config, policy, pipeId: config.pre_pipe_id ?? '', validatePipeId: config.pipe_id } };
      contexts.set(authenticatorId, c);
    }
    return c;
  };
  const now = () => deps.services.now();
  const callbacks = new Map(api.keys.filter((k) => k.callback_url && k.callback_secret).map((k) => [k.key_id, {
    url: k.callback_url!, secret: k.callback_secret!, maxAttempts: k.callback_retry.max_attempts, withinSeconds: k.callback_retry.within_seconds,
  }]));

  // Each key's own budget, in the store's rate limits (on Redis: one count across every process).
  const keyLimits = new Map([...keys.values()].map((k) => [k.keyId, deps.limits(`verify-key:${k.keyId}`, {
    rate_limits: { requests_per_key_per_minute: k.requestsPerMinute },
  } as unknown as OtpAuthenticatorConfig)]));

  const keyOf = async (req: Request, scope: VerifyScope): Promise<ApiKey> => {
    const key = authenticate(req.get('authorization'), keys);
    if (!key) throw new OtpError('UNAUTHORIZED');
    if (!key.scopes.has(scope)) throw new OtpError('FORBIDDEN');
    const granted = await keyLimits.get(key.keyId)!.consume('requests_per_key_per_minute', key.keyId);
    if (!granted.ok) throw new OtpError('RATE_LIMITED', { retry_after: granted.retryAfterSeconds });
    return key;
  };

  const requestOf = (req: Request, key: ApiKey, sealed: Sealed, exports: Record<string, unknown> = {}): OtpRequest => {
    const { config } = contextOf(key.authenticator);
    return apiOtpRequest(req, config, {
      key: { sessionId: `api:${sealed.n}`, authenticatorId: key.authenticator, subject: sealed.s },
      traceId: sealed.n,
      customer: sealed.c ?? key.keyId,
      exports,
      ...(deps.services.appName ? { appName: deps.services.appName } : {}),
    });
  };

  /** The verification an id names for this key; NOT_FOUND for a made-up id or another key's. */
  const open = (id: string, key: ApiKey): Sealed => {
    const text = id.startsWith('vf.') ? box.open(id.slice(3), `verify:${key.keyId}`) : null;
    if (!text) throw new OtpError('NOT_FOUND');
    return JSON.parse(text) as Sealed;
  };

  const body = async (req: Request, res: Response, validate: (b: unknown) => boolean): Promise<Record<string, unknown>> => {
    const { body: parsed } = await readBody(req, res, false);
    const value = parsed ?? {};
    if (!validate(value)) throw new OtpError('BAD_REQUEST');
    return value as Record<string, unknown>;
  };

  /** Socure's status, PhoneMatch's action and detail, Onfido's counts: the answer every route shares. */
  const answer = (id: string, tx: TransactionRecord, policy: OtpPolicy) => {
    const report = buildReport(tx, policy, now());
    const destination = tx.current_destination?.address ?? tx.initial_destination?.address;
    return {
      id, status: report.status, action: report.action, detail: report.detail,
      to: destination ? maskDestination(destination) : null, channel: tx.channel,
      expires_at: tx.codes.length > 0 && report.status === 'pending' ? new Date(Math.max(...tx.codes.map((c) => c.expires_at))).toISOString() : null,
      attempt_count: report.attempt_count, attempts_left: attemptsLeft(tx, policy), codes_left: codesLeft(tx, policy),
    };
  };

  /** The final outcome to the key's callback_url, if it has one: not awaited, so it delays no answer. */
  const notify = (key: ApiKey, sealed: Sealed, id: string, tx: TransactionRecord, policy: OtpPolicy): void => {
    const target = callbacks.get(key.keyId);
    if (!target) return;
    const report = buildReport(tx, policy, now());
    const outcome = report.status === 'approved' ? 'approved' : report.detail === 'TRANSACTION CANCELLED' ? 'cancelled' : 'reject';
    deliverWebhook(target, {
      idempotencyKey: `${sealed.n}:${outcome}`,
      outcome,
      body: { id, outcome, status: report.status, action: report.action, detail: report.detail, attempt_count: report.attempt_count, reference: report.reference, completed_at: report.properties.completed_at },
      eventBase: { IDENTIFIER: sealed.n, SOURCE_ADDRESS: '', AUTHENTICATOR_IDENTIFIER: key.authenticator, CUSTOMER_IDENTIFIER: sealed.c ?? key.keyId },
    }, now);
  };

  const current = async (r: OtpRequest): Promise<TransactionRecord> => {
    const tx = await deps.services.store.get(r.key, now());
    if (!tx) throw new OtpError('NOT_FOUND');
    return tx;
  };

  /** A refused send with PhoneMatch's outcome (FAIL and its detail), or the error as it is. */
  const sendFailure = async (res: Response, req: Request, error: unknown, id: string, r: OtpRequest, policy: OtpPolicy): Promise<void> => {
    if (!(error instanceof OtpError)) throw error;
    const outcome = SEND_OUTCOMES[error.code];
    if (!outcome) throw error;
    const tx = await deps.services.store.get(r.key, now());
    sendJson(res, outcome.status, { ...errorBody(req, error), ...(tx ? answer(id, tx, policy) : { id }), status: 'reject', action: 'FAIL', detail: outcome.detail });
  };

  /** What every route of one verification starts with: the key (with the route's scope), the id, the body. */
  const verification = async (req: Request, res: Response, scope: VerifyScope, validate: ((b: unknown) => boolean) | null) => {
    const key = await keyOf(req, scope);
    const id = String(req.params.id);
    const sealed = open(id, key);
    const b = validate ? await body(req, res, validate) : {};
    return { key, id, sealed, b, r: requestOf(req, key, sealed), ...contextOf(key.authenticator) };
  };

  const router = express.Router();
  router.use((req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  router.post('/v1/verifications', async (req, res) => {
    const key = await keyOf(req, 'verifications:create');
    const b = await body(req, res, validateCreate);
    const to = String(b.to).trim();
    const channel = (b.channel as string | undefined) ?? 'auto';
    if ((channel === 'email') !== to.includes('@') && channel !== 'auto') throw new OtpError('BAD_REQUEST');
    const locale = typeof b.locale === 'string' && deps.languages.includes(b.locale) ? b.locale : null;
    if (locale) (req as unknown as { language: string }).language = locale;
    const nonce = randomBytes(16).toString('base64url');
    const subject = typeof b.subject === 'string' ? b.subject : null;
    const options = b.options as NarrowingOptions | undefined;
    const sealed: Sealed = { s: subject ?? `api:${key.keyId}:${nonce}`, n: nonce, c: subject, ...(options ? { o: options } : {}) };
    const id = `vf.${box.seal(JSON.stringify(sealed), `verify:${key.keyId}`)}`;
    const target = (b.target ?? {}) as { fn?: string; ln?: string };
    const r = requestOf(req, key, sealed, { to, ...(subject ? { subject } : {}), fn: target.fn ?? '', ln: target.ln ?? '' });
    const { ctx, policy } = contextOf(key.authenticator);
    const opened = await deps.services.store.open(r.key, { reference: typeof b.reference === 'string' ? b.reference : null, sends_codes: true }, policy, now());
    if (!opened.ok) {
      r.emit('OTP_200009', { retry_after: opened.retry_after });
      throw new OtpError('LOCKED', { retry_after: opened.retry_after });
    }
    r.emit('OTP_200001', {});
    try {
      const tx = await sendCode(ctx, r, 'first', to, opened.tx, true, allowedBy(sealed.o));
      res.setHeader('Location', `${req.baseUrl}/v1/verifications/${id}`);
      return sendJson(res, 201, answer(id, tx, policy));
    } catch (error) {
      return sendFailure(res, req, error, id, r, policy);
    }
  });

  router.post('/v1/verifications/:id/check', async (req, res) => {
    const { key, id, sealed, b, r, ctx, policy } = await verification(req, res, 'verifications:check', validateCheck);
    await current(r);
    const result = await enterCode(ctx, r, String(b.code));
    // This check's own outcome, never the transaction's alone: a check refused unevaluated (its attempts all held
    // by checks in flight, or the verification already decided) is an error, even when another check approved it.
    const evaluatedWrong = !result.ok && (result.error.code === 'INVALID_OTP' || result.error.code === 'OTP_EXPIRED');
    const aborted = !result.ok && result.error.code === 'MAX_ATTEMPTS' && result.error.details.aborted === true;
    if (!result.ok && !evaluatedWrong && !aborted) throw result.error;
    const tx = result.ok ? result.tx : await current(r);
    const a = answer(id, tx, policy);
    const counts = { id: a.id, attempt_count: a.attempt_count, attempts_left: a.attempts_left };
    // Only the check that decided the verification tells the callback (never one refused after it).
    if (result.ok || result.decided) notify(key, sealed, id, tx, policy);
    if (result.ok) return sendJson(res, 200, { ...counts, status: 'approved', action: 'PASS', detail: 'ALL CHECKS PASSED' });
    if (aborted || a.status === 'reject') {
      return sendJson(res, 200, { ...errorBody(req, result.error), ...counts, status: 'reject', action: 'FAIL', detail: a.status === 'reject' ? a.detail : 'FAILED OUT-OF-BAND CHECK' });
    }
    return sendJson(res, 200, { ...errorBody(req, result.error), ...counts, status: 'pending', action: 'FAIL', detail: 'TRANSACTION REQUIRES FURTHER ATTENTION' });
  });

  router.post('/v1/verifications/:id/resend', async (req, res) => {
    const { id, sealed, r, ctx, policy } = await verification(req, res, 'verifications:create', validateEmpty);
    const tx = await current(r);
    const to = tx.current_destination?.address ?? tx.initial_destination?.address ?? '';
    try {
      return sendJson(res, 200, answer(id, await sendCode(ctx, r, 'resend', to, tx, false, allowedBy(sealed.o)), policy));
    } catch (error) {
      return sendFailure(res, req, error, id, r, policy);
    }
  });

  router.post('/v1/verifications/:id/change', async (req, res) => {
    const { id, sealed, b, r, ctx, policy } = await verification(req, res, 'verifications:create', validateChange);
    const tx = await current(r);
    try {
      return sendJson(res, 200, answer(id, await sendCode(ctx, r, 'change', String(b.to).trim(), tx, false, allowedBy(sealed.o)), policy));
    } catch (error) {
      return sendFailure(res, req, error, id, r, policy);
    }
  });

  router.post('/v1/verifications/:id/cancel', async (req, res) => {
    const { key, id, sealed, r, policy } = await verification(req, res, 'verifications:create', validateEmpty);
    await current(r);
    const step = await deps.services.store.cancel(r.key, policy, now());
    if (!step.tx) throw new OtpError('NOT_FOUND');
    if (!step.outcome.ok) throw new OtpError('NO_PENDING_CODE');
    if (!step.outcome.already) {
      r.emit('OTP_200012', {});
      notify(key, sealed, id, step.tx, policy);
    }
    return sendJson(res, 200, answer(id, step.tx, policy));
  });

  router.get('/v1/verifications/:id', async (req, res) => {
    const { id, r, policy } = await verification(req, res, 'verifications:read', null);
    const tx = await current(r);
    return sendJson(res, 200, { id, ...buildReport(tx, policy, now()) });
  });

  // The API's OpenAPI 3.1 document (src/api/openapi.json, read once at startup): no key needed.
  router.get('/openapi.json', serveOpenApi);

  router.use((req, res) => sendJson(res, 404, errorBody(req, new OtpError('NOT_FOUND'))));
  router.use(((error, req, res, next) => {
    if (error instanceof OtpError && error.code === 'UNAUTHORIZED') res.setHeader('WWW-Authenticate', 'Bearer realm="verify"');
    return authnErrorHandler()(error, req, res, next);
  }) as express.ErrorRequestHandler);
  return router;
}
