import { randomBytes } from 'node:crypto';
import type { Request } from 'express';
import type { AppConfig, OtpAuthenticatorConfig, VerifyScope } from '../config/types.js';
import { createSecretBox } from '../codes/secret-box.js';
import { OtpError } from '../errors.js';
import { apiOtpRequest, type OtpRequest } from '../otp/otp-request.js';
import { sendCode } from '../otp/otp-sending.js';
import { enterCode } from '../otp/otp-entry.js';
import type { OtpServices } from '../otp/otp-services.js';
import type { RateLimits } from '../limits/rate-limits.js';
import type { Destination } from '../pipes/types.js';
import {
  attemptsLeft, buildReport, codesLeft, maskDestination, otpPolicyFromConfig, viewState, type Channel, type OtpPolicy, type SendKind, type TransactionRecord,
} from '../transaction/index.js';
import { apiKeys, authenticate, authenticateLogin, type ApiKey } from './verify-keys.js';
import { deliverWebhook } from './webhooks.js';
import { pipeDelivers } from '../valves/delivery-channels.js';
import { phoneRefusal } from '../valves/phone-policy.js';

/**
 * The verifications of the API, whichever face a backend calls (the v1 routes or PhoneMatch's): one transaction of
 * the OTP authenticator its API key names, run by the same sendCode and enterCode as the web form. A verification's
 * id is sealed (AES-256-GCM under a key from OTP_SECRET) over what its later sends need, bound to the key that made
 * it, so it is unguessable and another key's id opens to nothing (404). docs/verify-api.md.
 */
export type RequestedChannel = Channel | 'auto';

export interface NarrowingOptions { do_not_send_to_types?: string[]; country?: { whitelist?: string[]; blacklist?: string[] } }

/**
 * What an id seals: `s` the subject, `n` the nonce (the verification's trace id), `c` the caller's subject or null,
 * `o` the create request's options, `t` the target's names, `m` its own message text, `ch` the channel asked for:
 * every later send of the verification keeps to them.
 */
export interface Sealed {
  s: string; n: string; c: string | null;
  o?: NarrowingOptions; t?: { fn?: string; ln?: string }; m?: string; ch?: RequestedChannel;
}

export interface CreateInput {
  to: string;
  channel: RequestedChannel;
  locale?: string | undefined;
  reference?: string | undefined;
  subject?: string | undefined;
  target?: { fn?: string; ln?: string } | undefined;
  options?: NarrowingOptions | undefined;
  message?: string | undefined;
}

/** A send's outcome: the verification as it is after it, or PhoneMatch's FAIL with its detail. */
export type SendOutcome =
  | { ok: true; tx: TransactionRecord }
  | { ok: false; tx: TransactionRecord | null; status: number; detail: string; error: OtpError };

/** A check's own outcome (never only the verification's: see check()). */
export interface CheckOutcome {
  status: 'approved' | 'pending' | 'reject';
  detail: string;
  tx: TransactionRecord;
  error?: OtpError;
  /** The verification's counts after this check, for its answer. */
  attempt_count: number;
  attempts_left: number;
}

/** PhoneMatch's outcomes of a refused send: the report's detail, and the status a backend gets. */
const SEND_OUTCOMES: Partial<Record<OtpError['code'], { status: number; detail: string }>> = {
  INVALID_DESTINATION: { status: 422, detail: 'DATA CHECK FAILED' },
  DESTINATION_NOT_ALLOWED: { status: 422, detail: 'SUPPRESSED SENDING CODE' },
  DELIVERY_FAILED: { status: 502, detail: 'FAILED TO SEND TO NUMBER' },
};

/** How many opened verification ids a process remembers (a few MB at most; see open()). */
const OPENED_IDS_KEPT = 10_000;

/** After a code's end, so that the store sees it expired too. */
const EXPIRY_GRACE_MS = 1000;

/** A message a request brings must carry the code; {pin} is PhoneMatch's name for it. */
const CARRIES_CODE = /\{pin\}|\{\{\s*code\s*\}\}/;

export interface VerificationsDeps {
  config: AppConfig;
  services: Omit<OtpServices, 'limits'>;
  limits(authenticatorId: string, config: OtpAuthenticatorConfig): RateLimits;
  otpKeys: readonly string[];
  languages: readonly string[];
}

/** Whether a destination the pipe accepted is also one the request allows (options only ever refuse more). */
function allowedBy(o: NarrowingOptions | undefined): ((d: Destination) => boolean) | undefined {
  if (!o) return undefined;
  const rules = { do_not_send_to_types: o.do_not_send_to_types, whitelist: o.country?.whitelist, blacklist: o.country?.blacklist };
  return (d) => phoneRefusal(d, rules) === null;
}

export function createVerifications(deps: VerificationsDeps) {
  const api = deps.config.verify_api;
  if (!api) throw new Error('createVerifications: the configuration has no verify_api block');
  const keys = apiKeys(api.keys);
  const box = createSecretBox(deps.otpKeys.map((k) => `verify-api-id\0${k}`));
  const byId = new Map(deps.config.authenticators.map((a) => [a.id, a]));
  const contexts = new Map<string, { config: OtpAuthenticatorConfig; policy: OtpPolicy; ctx: Parameters<typeof enterCode>[0]; valves: ReadonlySet<string> }>();
  const contextOf = (authenticatorId: string) => {
    let c = contexts.get(authenticatorId);
    if (!c) {
      const config = byId.get(authenticatorId)!.config as unknown as OtpAuthenticatorConfig;
      const policy = otpPolicyFromConfig(config);
      const services: OtpServices = { ...deps.services, limits: deps.limits(authenticatorId, config) };
      const valves = new Set(deps.config.pipes.find((p) => p.id === config.pre_pipe_id)?.valves.map((v) => v.name) ?? []);
      c = { config, policy, valves, ctx: { services, config, policy, pipeId: config.pre_pipe_id ?? '', validatePipeId: config.pipe_id } };
      contexts.set(authenticatorId, c);
    }
    return c;
  };
  const now = () => deps.services.now();
  /** Ids this process opened (only ones that opened: a forged id is never kept), oldest dropped first. */
  const openedIds = new Map<string, Sealed>();
  const callbacks = new Map(api.keys.filter((k) => k.callback_url && k.callback_secret).map((k) => [k.key_id, {
    url: k.callback_url!, secret: k.callback_secret!, maxAttempts: k.callback_retry.max_attempts, withinSeconds: k.callback_retry.within_seconds,
  }]));

  // Each key's own budget, in the store's rate limits (on Redis: one count across every process).
  const keyLimits = new Map([...keys.values()].map((k) => [k.keyId, deps.limits(`verify-key:${k.keyId}`, {
    rate_limits: { requests_per_key_per_minute: k.requestsPerMinute },
  } as unknown as OtpAuthenticatorConfig)]));

  /** The key, once it is proved: the route's scope, then one request of its budget. */
  const admit = async (key: ApiKey | null, scope: VerifyScope): Promise<ApiKey> => {
    if (!key) throw new OtpError('UNAUTHORIZED');
    if (!key.scopes.has(scope)) throw new OtpError('FORBIDDEN');
    const granted = await keyLimits.get(key.keyId)!.consume('requests_per_key_per_minute', key.keyId);
    if (!granted.ok) throw new OtpError('RATE_LIMITED', { retry_after: granted.retryAfterSeconds });
    return key;
  };

  const requestOf = (req: Request, key: ApiKey, sealed: Sealed, extra: Record<string, unknown> = {}): OtpRequest => {
    const { config } = contextOf(key.authenticator);
    const exports: Record<string, unknown> = {
      ...extra,
      fn: sealed.t?.fn ?? '', ln: sealed.t?.ln ?? '',
      ...(sealed.m ? { message_template: sealed.m } : {}),
      ...(sealed.ch && sealed.ch !== 'auto' ? { requested_channel: sealed.ch } : {}),
    };
    return apiOtpRequest(req, config, {
      key: { sessionId: `api:${sealed.n}`, authenticatorId: key.authenticator, subject: sealed.s },
      traceId: sealed.n,
      customer: sealed.c ?? key.keyId,
      exports,
      ...(deps.services.appName ? { appName: deps.services.appName } : {}),
    });
  };

  const current = async (r: OtpRequest): Promise<TransactionRecord> => {
    const tx = await deps.services.store.get(r.key, now());
    if (!tx) throw new OtpError('NOT_FOUND');
    return tx;
  };

  /** The final outcome to the key's callback_url, if it has one: not awaited, so it delays no answer. */
  const notify = (key: ApiKey, sealed: Sealed, id: string, tx: TransactionRecord): void => {
    const target = callbacks.get(key.keyId);
    if (!target) return;
    const policy = contextOf(key.authenticator).policy;
    const report = buildReport(tx, policy, now());
    const outcome = report.status === 'approved' ? 'approved' : report.detail === 'TRANSACTION CANCELLED' ? 'cancelled'
      : viewState(tx, policy, now()) === 'EXPIRED' ? 'expired' : 'reject';
    deliverWebhook(target, {
      idempotencyKey: `${sealed.n}:${outcome}`,
      outcome,
      body: { id, outcome, status: report.status, action: report.action, detail: report.detail, attempt_count: report.attempt_count, reference: report.reference, completed_at: report.properties.completed_at },
      eventBase: { IDENTIFIER: sealed.n, SOURCE_ADDRESS: '', AUTHENTICATOR_IDENTIFIER: key.authenticator, CUSTOMER_IDENTIFIER: sealed.c ?? key.keyId },
    }, now);
  };

  /**
   * An expiry has no request to tell the callback, so the process that sent a verification's latest code looks
   * again when that code ends: if every code is sent and none is live (the report's EXPIRED), that is the final
   * outcome. One timer per verification, replaced by each send; a restart before then loses it (docs/verify-api.md).
   */
  const expiryTimers = new Map<string, NodeJS.Timeout>();
  const watchExpiry = (key: ApiKey, sealed: Sealed, id: string, r: OtpRequest, tx: TransactionRecord): void => {
    if (!callbacks.has(key.keyId) || tx.codes.length === 0) return;
    clearTimeout(expiryTimers.get(sealed.n));
    const ends = Math.max(...tx.codes.map((c) => c.expires_at));
    const txKey = r.key;
    const timer = setTimeout(() => {
      expiryTimers.delete(sealed.n);
      void deps.services.store.get(txKey, now()).then((later) => {
        if (later && viewState(later, contextOf(key.authenticator).policy, now()) === 'EXPIRED') notify(key, sealed, id, later);
      }, () => undefined);
    }, Math.max(0, ends - now()) + EXPIRY_GRACE_MS);
    timer.unref();
    expiryTimers.set(sealed.n, timer);
  };

  /** One send through the key's pre-pipe; a refusal the reference names is an outcome, anything else an error. */
  const send = async (key: ApiKey, sealed: Sealed, id: string, r: OtpRequest, kind: SendKind, to: string, tx: TransactionRecord, lockChecked: boolean): Promise<SendOutcome> => {
    try {
      const after = await sendCode(contextOf(key.authenticator).ctx, r, kind, to, tx, lockChecked, allowedBy(sealed.o));
      watchExpiry(key, sealed, id, r, after);
      return { ok: true, tx: after };
    } catch (error) {
      const outcome = error instanceof OtpError ? SEND_OUTCOMES[error.code] : undefined;
      if (!outcome) throw error;
      return { ok: false, tx: await deps.services.store.get(r.key, now()), ...outcome, error: error as OtpError };
    }
  };

  return {
    /** The key of `Authorization: Bearer <key_id>.<secret>`, with the scope. */
    bearer: (req: Request, scope: VerifyScope) => admit(authenticate(req.get('authorization'), keys), scope),
    /** The key of PhoneMatch's `user` and `pass`. */
    login: (user: unknown, pass: unknown, scope: VerifyScope) => admit(authenticateLogin(user, pass, keys), scope),
    /** A key by its id alone, not yet admitted: for a PhoneMatch token, whose seal proves the key made it. */
    keyById: (keyId: string): ApiKey | null => keys.get(keyId) ?? null,
    admit,

    /** The sealed text of an id (without its prefix) for this key, or NOT_FOUND. */
    open(sealedText: string, key: ApiKey): Sealed {
      // A verification's id comes back with every call: opened once (AES-GCM and JSON), then remembered per key.
      const cacheKey = `${key.keyId}\0${sealedText}`;
      const known = openedIds.get(cacheKey);
      if (known) return known;
      const text = box.open(sealedText, `verify:${key.keyId}`);
      if (!text) throw new OtpError('NOT_FOUND');
      const sealed = Object.freeze(JSON.parse(text) as Sealed);
      if (openedIds.size >= OPENED_IDS_KEPT) openedIds.delete(openedIds.keys().next().value!);
      openedIds.set(cacheKey, sealed);
      return sealed;
    },

    policyOf: (key: ApiKey): OtpPolicy => contextOf(key.authenticator).policy,

    /** Socure's status, PhoneMatch's action and detail, Onfido's counts: what every answer shares. */
    summary(tx: TransactionRecord, key: ApiKey) {
      const policy = contextOf(key.authenticator).policy;
      const report = buildReport(tx, policy, now());
      const destination = tx.current_destination?.address ?? tx.initial_destination?.address;
      return {
        status: report.status, action: report.action, detail: report.detail,
        to: destination ? maskDestination(destination) : null, channel: tx.channel,
        expires_at: tx.codes.length > 0 && report.status === 'pending' ? new Date(Math.max(...tx.codes.map((c) => c.expires_at))).toISOString() : null,
        attempt_count: report.attempt_count, attempts_left: attemptsLeft(tx, policy), codes_left: codesLeft(tx, policy),
      };
    },

    report: (tx: TransactionRecord, key: ApiKey) => buildReport(tx, contextOf(key.authenticator).policy, now()),

    /** Opens a verification and sends its first code. `id` is the sealed text; the caller adds its prefix. */
    async create(req: Request, key: ApiKey, input: CreateInput): Promise<{ id: string; sealed: Sealed } & SendOutcome> {
      const to = input.to.trim();
      const isEmail = to.includes('@');
      if (input.channel !== 'auto' && (input.channel === 'email') !== isEmail) throw new OtpError('BAD_REQUEST');
      const { valves, policy } = contextOf(key.authenticator);
      const channel = input.channel === 'auto' ? null : input.channel;
      if (channel && !pipeDelivers(valves, channel)) throw new OtpError('CHANNEL_UNAVAILABLE', {}, { messageValues: { channel } });
      if (input.message !== undefined) {
        if (!key.allowMessage) throw new OtpError('FORBIDDEN');
        if (!CARRIES_CODE.test(input.message)) throw new OtpError('BAD_REQUEST');
      }
      const locale = input.locale && deps.languages.includes(input.locale) ? input.locale : null;
      if (locale) (req as unknown as { language: string }).language = locale;
      const nonce = randomBytes(16).toString('base64url');
      const subject = input.subject ?? null;
      const sealed: Sealed = {
        s: subject ?? `api:${key.keyId}:${nonce}`, n: nonce, c: subject,
        ...(input.options ? { o: input.options } : {}),
        ...(input.target && (input.target.fn || input.target.ln) ? { t: { ...input.target } } : {}),
        ...(input.message !== undefined ? { m: input.message } : {}),
        ...(channel ? { ch: channel } : {}),
      };
      const id = box.seal(JSON.stringify(sealed), `verify:${key.keyId}`);
      const r = requestOf(req, key, sealed, { to, ...(subject ? { subject } : {}) });
      const opened = await deps.services.store.open(r.key, { reference: input.reference ?? null, sends_codes: true }, policy, now());
      if (!opened.ok) {
        r.emit('OTP_200009', { retry_after: opened.retry_after });
        throw new OtpError('LOCKED', { retry_after: opened.retry_after });
      }
      r.emit('OTP_200001', {});
      return { id, sealed, ...(await send(key, sealed, `vf.${id}`, r, 'first', to, opened.tx, true)) };
    },

    /**
     * One check: its own outcome, never the transaction's alone. A check refused unevaluated (its attempts all held
     * by checks in flight, or the verification already decided) is an error, even when another check approved it.
     */
    async check(req: Request, key: ApiKey, id: string, sealed: Sealed, code: string): Promise<CheckOutcome> {
      const r = requestOf(req, key, sealed);
      const { ctx, policy } = contextOf(key.authenticator);
      // No read before the entry: its own step finds a missing verification (404) and returns the record it left.
      const result = await enterCode(ctx, r, code);
      if (!result.ok && result.missing) throw new OtpError('NOT_FOUND');
      const evaluatedWrong = !result.ok && (result.error.code === 'INVALID_OTP' || result.error.code === 'OTP_EXPIRED');
      const aborted = !result.ok && result.error.code === 'MAX_ATTEMPTS' && result.error.details.aborted === true;
      if (!result.ok && !evaluatedWrong && !aborted) throw result.error;
      const tx = result.tx ?? await current(r);
      // Only the check that decided the verification tells the callback (never one refused after it).
      if (result.ok || result.decided) notify(key, sealed, id, tx);
      const report = buildReport(tx, policy, now());
      const counts = { attempt_count: report.attempt_count, attempts_left: attemptsLeft(tx, policy) };
      if (result.ok) return { status: 'approved', detail: 'ALL CHECKS PASSED', tx, ...counts };
      if (aborted || report.status === 'reject') {
        return { status: 'reject', detail: report.status === 'reject' ? report.detail : 'FAILED OUT-OF-BAND CHECK', tx, error: result.error, ...counts };
      }
      return { status: 'pending', detail: 'TRANSACTION REQUIRES FURTHER ATTENTION', tx, error: result.error, ...counts };
    },

    /** A new code to the same destination (`to` absent) or to a changed one. */
    async resend(req: Request, key: ApiKey, id: string, sealed: Sealed, to?: string): Promise<SendOutcome> {
      const r = requestOf(req, key, sealed);
      const tx = await current(r);
      if (to !== undefined) return send(key, sealed, id, r, 'change', to.trim(), tx, false);
      return send(key, sealed, id, r, 'resend', tx.current_destination?.address ?? tx.initial_destination?.address ?? '', tx, false);
    },

    async cancel(req: Request, key: ApiKey, id: string, sealed: Sealed): Promise<TransactionRecord> {
      const r = requestOf(req, key, sealed);
      await current(r);
      const step = await deps.services.store.cancel(r.key, contextOf(key.authenticator).policy, now());
      if (!step.tx) throw new OtpError('NOT_FOUND');
      if (!step.outcome.ok) throw new OtpError('NO_PENDING_CODE');
      if (!step.outcome.already) {
        r.emit('OTP_200012', {});
        notify(key, sealed, id, step.tx);
      }
      return step.tx;
    },

    read: (req: Request, key: ApiKey, sealed: Sealed) => current(requestOf(req, key, sealed)),
  };
}

export type Verifications = ReturnType<typeof createVerifications>;
