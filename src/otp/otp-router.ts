import express, { type Request, type Response, type Router } from 'express';
import { bodyKind, type BodyKind } from '../http/body.js';
import { csrfToken, csrfValid, readCsrfCheckedBody } from '../http/csrf.js';
import { authnErrorHandler, methodNotAllowed, errorBody, errorMessage, sendError, sendJson, setRetryAfter } from '../http/respond.js';
import type { JsonHandler } from '../authn/json-shortcut.js';
import type { StepHooks } from '../authn/step.js';
import type { ChoiceControl } from '../authn/selector.js';
import { authnState } from '../authn/session-state.js';
import { readCookie } from '../i18n/language-cookie.js';

/** The cookie of a trusted browser: a random token, HttpOnly, SameSite=Lax (src/store/credentials.ts keeps its hash). */
export const DEVICE_COOKIE = 'otp_trusted_device';
import type { OtpAuthenticatorConfig } from '../config/types.js';
import { OtpError } from '../errors.js';
import { renderOtpPage } from '../web/otp-page.js';
import { pageContext } from '../web/page-context.js';
import { parseOtpBody, parseOtpForm, type OtpRequestBody } from './otp-envelope.js';
import { pendingAnswer, statusAnswer } from './otp-answers.js';
import { enterCode, finalReport } from './otp-entry.js';
import { otpRequest, type OtpRequest } from './otp-request.js';
import { sendCode, type SendContext } from './otp-sending.js';
import type { OtpServices } from './otp-services.js';
import {
  otpPolicyFromConfig, buildReport, attemptsLeft, codesLeft, resendIn, viewState, maskDestination, type TransactionRecord, type ReportFacts,
} from '../transaction/index.js';

/**
 * The OTP authenticator's HTTP face (SPEC section 3): GET by the state table, PUT/POST by request type, JSON or
 * the no-JavaScript form. It holds no rules: the state machine decides, the store applies, this translates.
 */
type Answer =
  | { kind: 'json'; status: number; body: Record<string, unknown> }
  | { kind: 'redirect'; location: string }
  /** A refusal that is an answer (a wrong code): sent without the error path, which costs a `start` dearly. */
  | { kind: 'error'; error: OtpError };

export interface OtpEndpoints {
  router: Router;
  /** The JSON API's PUT/POST handler alone, for the shortcut past the router (src/authn/json-shortcut.ts). */
  json: JsonHandler;
  /** What a Selector needs of this authenticator when it is one of its choices. */
  choice: ChoiceControl;
}

/** A choice of a Selector: the selector's id (the budget group) and how the code's channel follows the destination. */
export interface OtpChoiceOptions {
  group: string;
  channelOf(address: string): string;
  /** The channel shown for a choice that sends nothing: `totp` (an authenticator app) unless said otherwise. */
  silentChannel?: string;
  /** Whether the subject can take this choice at all (has recovery codes left, an app enrolled, say). */
  available?(subject: string, exports: Record<string, unknown>): Promise<boolean>;
}

export function createOtpRouter(id: string, config: OtpAuthenticatorConfig, services: OtpServices, step: StepHooks, asChoice?: OtpChoiceOptions): OtpEndpoints {
  const policy = otpPolicyFromConfig(config);
  const ctx: SendContext & { validatePipeId: string } = { services, config, policy, pipeId: config.pre_pipe_id ?? '', validatePipeId: config.pipe_id };
  const router = express.Router();
  const group = asChoice?.group;
  const build = (req: Request) => otpRequest(req, id, config, services.appName, group);

  const requestFor = (req: Request): OtpRequest => {
    const r = build(req);
    if (!r) throw new OtpError('NOT_IN_FLOW');
    return r;
  };

  /** "Try another way" under a selector: in every JSON answer of a step still running, and on the page. */
  const withChoose = <B extends Record<string, unknown>>(req: Request, body: B): B =>
    (step.chooseLocation && body.status !== 'COMPLETED' && body.status !== 'CANCELLED' ? { ...body, choose_location: step.chooseLocation(req) } : body);

  /** Sends the first code when nothing was sent and nothing is on its way (a fresh transaction, or a first send that was refused). */
  const ensureFirstCode = async (r: OtpRequest, tx: TransactionRecord): Promise<TransactionRecord> => {
    if (!config.pre_pipe_id || tx.phase !== 'PENDING' || tx.codes_sent > 0 || tx.send_reservations.length > 0) return tx;
    const source = config.destination.source ? r.expand(config.destination.source) : '';
    // open() has just checked the lockout: the first send needs no second look.
    return sendCode(ctx, r, 'first', source, tx, true);
  };

  const open = async (r: OtpRequest): Promise<TransactionRecord> => {
    const opened = await services.store.open(r.key, { reference: config.reference ?? null, sends_codes: Boolean(config.pre_pipe_id) }, policy, services.now());
    if (!opened.ok) {
      r.emit('OTP_200009', { retry_after: opened.retry_after });
      throw new OtpError('LOCKED', { retry_after: opened.retry_after });
    }
    if (opened.created) r.emit('OTP_200001', {});
    return ensureFirstCode(r, opened.tx);
  };

  const current = async (r: OtpRequest): Promise<TransactionRecord> => {
    const tx = await services.store.get(r.key, services.now());
    if (!tx) throw new OtpError('NO_PENDING_CODE');
    return tx;
  };

  const finishReport = (r: OtpRequest, tx: TransactionRecord, facts: ReportFacts = {}): void => {
    // `otp_report` is the latest (SPEC section 5); `otp_reports` keeps each authenticator's, for a page that
    // shows several (the demo's login MFA and phone verification).
    const report = buildReport(tx, policy, services.now(), facts);
    r.exports.otp_report = report;
    const all = (r.exports.otp_reports ?? {}) as Record<string, unknown>;
    r.exports.otp_reports = { ...all, [id]: report };
  };

  const trustDays = config.trust_device?.days ?? 0;

  /**
   * "Remember this browser": the cookie's token names a live trusted device of this subject. Then the step
   * completes at once, without a code (a token of another subject, expired, revoked or forged: the step runs).
   */
  const trustedBrowser = async (req: Request, r: OtpRequest): Promise<string | null> => {
    if (trustDays <= 0 || !services.credentials || authnState(req).fresh_login) return null;
    const token = readCookie(req, DEVICE_COOKIE);
    const device = token ? await services.credentials.trustedDevice(r.subject, token, services.now()) : null;
    if (!device) return null;
    r.emit('OTP_200022', { device });
    const report = { status: 'approved', result: 'clear', action: 'PASS', detail: 'TRUSTED DEVICE', properties: { device, channel: null } };
    const all = (r.exports.otp_reports ?? {}) as Record<string, unknown>;
    r.exports.otp_report = report;
    r.exports.otp_reports = { ...all, [id]: report };
    return step.complete(req, { otp_method: 'trusted_device', otp_report: report, otp_reports: r.exports.otp_reports });
  };

  /** After a right entry with the box ticked: a token for this browser, kept only as a keyed hash. */
  const trustThisBrowser = async (req: Request, res: Response, r: OtpRequest): Promise<void> => {
    if (trustDays <= 0 || !services.credentials) return;
    const token = await services.credentials.trustDevice(r.subject, req.get('user-agent') ?? '', trustDays, services.now());
    res.cookie(DEVICE_COOKIE, token, { httpOnly: true, secure: services.cookieSecure ?? false, sameSite: 'lax', maxAge: trustDays * 86_400_000, path: '/' });
    r.emit('OTP_200021', { days: trustDays });
  };

  async function handle(req: Request, body: OtpRequestBody, res?: Response): Promise<Answer> {
    const r = requestFor(req);
    const now = () => services.now();
    switch (body.type) {
      case 'init':
        return { kind: 'json', status: 200, body: pendingAnswer(await open(r), policy, now()) };
      case 'status': {
        const tx = await current(r);
        return { kind: 'json', status: 200, body: statusAnswer(tx, policy, now()) };
      }
      case 'resend': {
        const tx = await current(r);
        const address = tx.current_destination?.address ?? (config.destination.source ? r.expand(config.destination.source) : '');
        const sent = await sendCode(ctx, r, tx.codes_sent > 0 ? 'resend' : 'first', address, tx);
        return { kind: 'json', status: 200, body: pendingAnswer(sent, policy, now()) };
      }
      case 'change_destination': {
        if (!config.destination.allow_change) throw new OtpError('MAX_CHANGES');
        const tx = await current(r);
        const sent = await sendCode(ctx, r, 'change', body.data.destination, tx);
        return { kind: 'json', status: 200, body: pendingAnswer(sent, policy, now()) };
      }
      case 'cancel': {
        const step2 = await services.store.cancel(r.key, policy, now());
        if (step2.tx && !step2.outcome.ok) throw new OtpError('NO_PENDING_CODE');
        if (step2.tx && step2.outcome.ok && !step2.outcome.already) {
          r.emit('OTP_200012', { report: finalReport(ctx, step2.tx) });
          finishReport(r, step2.tx);
        }
        if (step.chooseLocation) {
          const tried = authnState(req).selectors?.[group ?? '']?.tried.at(-1);
          if (tried && tried.id === id) tried.outcome = 'CANCELLED';
        }
        const location = step.cancel ? await step.cancel(req) : step.locations(req).cancel;
        return { kind: 'json', status: 200, body: { status: 'CANCELLED', location } };
      }
      case 'start': {
        const result = await enterCode(ctx, r, body.data.otp);
        if (result.ok) {
          finishReport(r, result.tx, result.facts);
          if (body.data.trust_device === true && res) await trustThisBrowser(req, res, r);
          const location = await step.complete(req, { otp_report: r.exports.otp_report, otp_reports: r.exports.otp_reports });
          // A recovery code's answer says how many are left, as its page does (the report too).
          const left = result.facts.recovery_codes_left;
          return { kind: 'json', status: 200, body: { status: 'COMPLETED', location, ...(left === undefined ? {} : { recovery_codes_left: left }) } };
        }
        if (result.error.code === 'MAX_ATTEMPTS' && result.error.details.aborted) {
          const tx = await services.store.get(r.key, now());
          if (tx) finishReport(r, tx);
          result.error.details.location = step.locations(req).failure;
        }
        return { kind: 'error', error: result.error };
      }
    }
  }

  // HEAD would run GET and send a code; link prefetchers and monitors use it, so it sends nothing here.
  router.head('/', (_req, res) => { res.setHeader('Allow', 'GET, POST, PUT'); res.status(405).end(); });

  // ---- GET: the state table -------------------------------------------------------------------------------
  router.get('/', async (req, res) => {
    const wantsJson = req.accepts(['html', 'json']) === 'json';
    const token = csrfToken(req);
    try {
      const done = step.finished?.(req);
      if (done) return res.redirect(303, done);
      const r = requestFor(req);
      const trusted = await trustedBrowser(req, r);
      if (trusted) return wantsJson ? sendJson(res, 200, { status: 'COMPLETED', location: trusted, csrf_token: token }) : res.redirect(303, trusted);
      const tx = await open(r);
      const state = viewState(tx, policy, services.now());
      if (state === 'COMPLETED') return res.redirect(303, step.next?.(req) ?? step.locations(req).success);
      if (state === 'CANCELLED') return res.redirect(303, step.locations(req).cancel);
      if (wantsJson) {
        const body = statusAnswer(tx, policy, services.now());
        if (state === 'ABORTED') body.location = step.locations(req).failure;
        return sendJson(res, 200, withChoose(req, { ...body, csrf_token: token }));
      }
      return sendPage(req, res, 200, tx);
    } catch (error) {
      if (!(error instanceof OtpError)) throw error;
      if (wantsJson) {
        setRetryAfter(res, error.details.retry_after);
        return sendJson(res, error.status, withChoose(req, { ...errorBody(req, error), csrf_token: token }));
      }
      const tx = error.code === 'NOT_IN_FLOW' ? null : await services.store.get(requestFor(req).key, services.now());
      setRetryAfter(res, error.details.retry_after);
      return sendPage(req, res, error.status, tx, errorMessage(req, error));
    }
  });

  // ---- PUT/POST: the request types --------------------------------------------------------------------------
  const post = (req: Request, res: Response) => receive(req, res, bodyKind(req));

  async function receive(req: Request, res: Response, kind: BodyKind | null): Promise<unknown> {
    // The login this step belongs to is finished: nothing to send or check again (see the password step).
    const { body } = await readCsrfCheckedBody(req, res, kind);
    const done = step.finished?.(req);
    if (done) return kind === 'form' ? res.redirect(303, done) : sendJson(res, 200, { status: 'COMPLETED', location: done });
    if (kind === 'form') return postForm(req, res, body);
    let answer: Answer;
    try {
      answer = await handle(req, parseOtpBody(body), res);
    } catch (error) {
      // A refusal of a step still running (a resend too soon, a lockout) offers another way too.
      if (error instanceof OtpError && step.chooseLocation) error.details.choose_location = step.chooseLocation(req);
      throw error;
    }
    if (answer.kind === 'error') {
      if (step.chooseLocation) answer.error.details.choose_location = step.chooseLocation(req);
      return sendError(req, res, answer.error);
    }
    if (answer.kind === 'redirect') return res.redirect(303, answer.location);
    return sendJson(res, answer.status, withChoose(req, answer.body));
  }

  async function postForm(req: Request, res: Response, body: unknown): Promise<void> {
    if (!csrfValid(req, (body as Record<string, unknown> | undefined)?._csrf)) throw new OtpError('CSRF');
    let request: OtpRequestBody | null = null;
    try {
      request = parseOtpForm(body);
      const answer = await handle(req, request, res);
      if (answer.kind === 'error') throw answer.error;
      if (answer.kind === 'redirect') return res.redirect(303, answer.location);
      const location = answer.body.location;
      if (typeof location === 'string' && (answer.body.status === 'COMPLETED' || answer.body.status === 'CANCELLED')) return res.redirect(303, location);
      return res.redirect(303, req.originalUrl);
    } catch (error) {
      if (!(error instanceof OtpError) || error.code === 'CSRF') throw error;
      const r = build(req);
      const tx = r ? await services.store.get(r.key, services.now()) : null;
      setRetryAfter(res, error.details.retry_after);
      return sendPage(req, res, error.status, tx, errorMessage(req, error));
    }
  }

  function sendPage(req: Request, res: Response, status: number, tx: TransactionRecord | null, error?: string): void {
    const now = services.now();
    res.status(status).type('html').send(renderOtpPage({
      ctx: pageContext(req),
      overlayDir: services.overlayDir ?? null,
      action: req.originalUrl.split('?')[0] ?? req.originalUrl,
      state: tx ? viewState(tx, policy, now) : 'NONE',
      destination: tx ? (pendingAnswer(tx, policy, now).destination as string | null) : null,
      attemptsLeft: tx ? attemptsLeft(tx, policy) : null,
      codesLeft: tx ? codesLeft(tx, policy) : null,
      resendIn: tx ? resendIn(tx, policy, now) : null,
      allowChange: config.destination.allow_change,
      numeric: config.code.charset === 'numeric',
      codeLength: config.code.length,
      failureLocation: step.locations(req).failure,
      ...(step.chooseLocation ? { chooseLocation: step.chooseLocation(req) } : {}),
      ...(trustDays > 0 && services.credentials ? { trustDays } : {}),
      ...(error ? { error } : {}),
    }));
  }

  router.post('/', post);
  router.put('/', post);
  router.all('/', methodNotAllowed);
  router.use(authnErrorHandler());

  const choice: ChoiceControl = {
    channel(req) {
      if (!config.pre_pipe_id) return asChoice?.silentChannel ?? 'totp';
      const r = build(req);
      const address = r && config.destination.source ? r.expand(config.destination.source) : '';
      return address ? (asChoice?.channelOf(address) ?? null) : null;
    },
    destination(req) {
      const r = build(req);
      const address = r && config.pre_pipe_id && config.destination.source ? r.expand(config.destination.source).trim() : '';
      return address ? maskDestination(address) : null;
    },
    ...(asChoice?.available ? {
      available: async (req: Request) => {
        const r = build(req);
        return r !== null && (await asChoice.available!(r.subject, r.exports));
      },
    } : {}),
    ...(trustDays > 0 ? {
      async trusted(req: Request) {
        const r = build(req);
        return r ? trustedBrowser(req, r) : null;
      },
    } : {}),
    async claimSwitch(req, max) {
      const r = build(req);
      return r ? services.store.claimSwitch(r.key, max, services.now()) : true;
    },
    async cancelRunning(req) {
      const r = build(req);
      if (!r) return null;
      const cancelled = await services.store.cancel(r.key, policy, services.now());
      if (!cancelled.tx) return null;
      if (cancelled.outcome.ok && !cancelled.outcome.already) {
        r.emit('OTP_200012', { report: finalReport(ctx, cancelled.tx) });
        finishReport(r, cancelled.tx);
      }
      return cancelled.tx.phase;
    },
  };
  // The shortcut hands over only requests it found to be JSON (src/authn/json-shortcut.ts).
  return { router, json: (req, res) => receive(req, res, 'json'), choice };
}
