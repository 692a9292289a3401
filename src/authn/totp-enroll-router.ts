import express, { type Request, type Response, type Router } from 'express';
import { Ajv } from 'ajv';
import { generateSecret, verify } from 'otplib';
import QRCode from 'qrcode';
import type { TotpEnrollConfig } from '../config/types.js';
import { OtpError } from '../errors.js';
import { emitEvent } from '../events/bus.js';
import { csrfToken, readCsrfCheckedBody } from '../http/csrf.js';
import { authnErrorHandler, errorBody, errorMessage, methodNotAllowed, sendJson } from '../http/respond.js';
import { normaliseEnteredCode } from '../codes/code-hash.js';
import { MAX_TOTP_WINDOW, totpReplayKey } from '../valves/totp-validate.js';
import type { Credentials } from '../store/credentials.js';
import { renderEnrollPage } from '../web/enroll-page.js';
import { pageContext } from '../web/page-context.js';
import { authnState } from './session-state.js';
import { subjectIn, type StepHooks } from './step.js';

/**
 * TotpEnroll (issue 22): a subject without an authenticator app enrols one. GET makes a pending secret (kept in
 * the session, sealed, for 10 minutes) and shows it as a QR code of its otpauth:// URI and as groups of four for
 * typing; `start` with a current code of it activates it in the credential store. A subject who already has one
 * may replace it only after passing a factor in this session (a finished login). Wrong codes are counted
 * (`max_attempts`); past them the pending secret is dropped and the next GET makes another.
 */
export const PENDING_TTL_MS = 10 * 60 * 1000;

interface Pending {
  sealed: string;
  expires_at: number;
  wrong: number;
}

declare module 'express-session' {
  interface SessionData {
    totp_enrol?: Record<string, Pending>;
  }
}

export interface EnrollServices {
  credentials: Credentials;
  now: () => number;
  overlayDir: string | null;
  /** Whether this session passed a factor (its login finished): only then may an enrolled app be replaced. */
  passedFactor(req: Request, subjectOf: (exports: Record<string, unknown>) => string): boolean;
  /** The TOTP replay guard (TransactionStore.claimTotpStep): the code that activated an app does not log in after. */
  claimTotpStep?(secretHash: string, step: number, forgetAt: number): Promise<boolean>;
}

const validate = new Ajv({ strict: false }).compile({
  type: 'object', required: ['type', 'data'], additionalProperties: false,
  properties: {
    type: { const: 'start' },
    data: { type: 'object', required: ['otp'], additionalProperties: false, properties: { otp: { type: 'string', minLength: 1, maxLength: 64 } } },
  },
});

/** The otpauth:// URI authenticator apps read (Google's Key Uri Format), every parameter stated. */
export function otpauthUri(issuer: string, account: string, secret: string, c: Pick<TotpEnrollConfig, 'algorithm' | 'digits' | 'period'>): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const query = new URLSearchParams({ secret, issuer, algorithm: c.algorithm.toUpperCase(), digits: String(c.digits), period: String(c.period) });
  return `otpauth://totp/${label}?${query.toString().replace(/\+/g, '%20')}`;
}

export function secretGroups(secret: string): string[] {
  return secret.match(/.{1,4}/g) ?? [];
}

export function createTotpEnrollRouter(id: string, config: TotpEnrollConfig, services: EnrollServices, hooks: StepHooks): Router {
  const router = express.Router();
  const { credentials, now } = services;

  const subjectOfExports = (exports: Record<string, unknown>): string => subjectIn(config.subject, exports);
  const subjectOf = (req: Request): string => {
    const subject = subjectOfExports(authnState(req).exports);
    if (!subject) throw new OtpError('NOT_IN_FLOW');
    return subject;
  };
  /** A subject who has an app replaces it only after passing a factor as that subject in this session. */
  const mayEnrol = async (req: Request, subject: string): Promise<void> => {
    if ((await credentials.store.getTotp(subject)) && !services.passedFactor(req, subjectOfExports)) throw new OtpError('NOT_IN_FLOW');
  };

  const emit = (req: Request, subject: string) => emitEvent('OTP_200017', { subject_enrolled: true }, new Date(now()), {
    IDENTIFIER: authnState(req).trace_id, SOURCE_ADDRESS: req.ip ?? '', AUTHENTICATOR_IDENTIFIER: id, CUSTOMER_IDENTIFIER: subject,
  });

  /** The live pending secret of this session for this subject, made when there is none. */
  const pending = async (req: Request, subject: string): Promise<{ secret: string; held: Pending }> => {
    await mayEnrol(req, subject);
    const all = (req.session.totp_enrol ??= {});
    const held = all[id];
    const open = held && held.expires_at > now() ? credentials.openPending(subject, held.sealed) : null;
    if (held && open) return { secret: open, held };
    const secret = generateSecret({ length: 20 });
    const fresh: Pending = { sealed: credentials.sealPending(subject, secret), expires_at: now() + PENDING_TTL_MS, wrong: 0 };
    all[id] = fresh;
    return { secret, held: fresh };
  };

  const view = async (req: Request, subject: string) => {
    const { secret, held } = await pending(req, subject);
    const account = subjectIn(config.account, authnState(req).exports) || subject;
    const uri = otpauthUri(config.issuer, account, secret, config);
    const qr = await QRCode.toString(uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
    return {
      status: 'PENDING', otpauth_uri: uri, secret_groups: secretGroups(secret), qr_svg: qr,
      expires_in: Math.max(0, Math.ceil((held.expires_at - now()) / 1000)), attempts_left: config.max_attempts - held.wrong,
    };
  };

  const sendPage = async (req: Request, res: Response, status: number, error?: string): Promise<void> => {
    // The page carries the secret: never kept by a cache.
    res.setHeader('Cache-Control', 'no-store');
    let model: Awaited<ReturnType<typeof view>> | null = null;
    try {
      model = await view(req, subjectOf(req));
    } catch (e) {
      if (!(e instanceof OtpError)) throw e;
      error ??= errorMessage(req, e);
      status = status === 200 ? e.status : status;
    }
    res.status(status).type('html').send(renderEnrollPage({
      ctx: pageContext(req), overlayDir: services.overlayDir, action: req.originalUrl.split('?')[0] ?? req.originalUrl,
      qrSvg: model?.qr_svg ?? null, secretGroups: model?.secret_groups ?? [], digits: config.digits, ...(error ? { error } : {}),
    }));
  };

  router.get('/', async (req, res) => {
    const wantsJson = req.accepts(['html', 'json']) === 'json';
    const token = csrfToken(req);
    if (!wantsJson) return sendPage(req, res, 200);
    try {
      return sendJson(res, 200, { ...(await view(req, subjectOf(req))), csrf_token: token });
    } catch (error) {
      if (!(error instanceof OtpError)) throw error;
      return sendJson(res, error.status, { ...errorBody(req, error), csrf_token: token });
    }
  });

  /** Checks the code against the pending secret; activates it when right. Answers where the browser goes next. */
  const activate = async (req: Request, entered: string): Promise<string> => {
    const subject = subjectOf(req);
    // Checked again: an app may have been enrolled (by its owner) since this key was shown.
    await mayEnrol(req, subject);
    const held = req.session.totp_enrol?.[id];
    const secret = held && held.expires_at > now() ? credentials.openPending(subject, held.sealed) : null;
    // Expired, replayed after activation, or never shown: nothing is pending.
    if (!held || !secret) {
      if (req.session.totp_enrol) delete req.session.totp_enrol[id];
      throw new OtpError('NO_PENDING_CODE');
    }
    const token = normaliseEnteredCode(entered, 'numeric');
    const result = new RegExp(`^[0-9]{${config.digits}}$`).test(token) ? await verify({
      strategy: 'totp', secret, token, digits: config.digits, period: config.period, algorithm: config.algorithm,
      epoch: Math.floor(now() / 1000), epochTolerance: config.period,
    }) : null;
    // The time step that activated the app is used up, as a login's is (TotpValidate's replay guard, window 1).
    const step = result !== null && result.valid && 'timeStep' in result ? Number(result.timeStep) : null;
    const ok = step !== null
      && (!services.claimTotpStep || await services.claimTotpStep(totpReplayKey(secret), step, (step + MAX_TOTP_WINDOW + 1) * config.period * 1000));
    if (!ok) {
      held.wrong += 1;
      const left = config.max_attempts - held.wrong;
      if (left <= 0) {
        delete req.session.totp_enrol![id];
        throw new OtpError('MAX_ATTEMPTS', { aborted: true, attempts_left: 0 });
      }
      throw new OtpError('INVALID_OTP', { attempts_left: left });
    }
    await credentials.enrolTotp(subject, secret, { algorithm: config.algorithm, digits: config.digits, period: config.period }, now());
    delete req.session.totp_enrol![id];
    emit(req, subject);
    const location = await hooks.complete(req, { totp_enrolled: true });
    // The first factor of its kind is the moment to make recovery codes (a lost phone is the next problem).
    const offerCodes = config.recovery_codes_location && (await credentials.recoveryCodesLeft(subject)) === 0;
    return offerCodes ? config.recovery_codes_location! : location;
  };

  const post = async (req: Request, res: Response): Promise<void> => {
    const { kind, body } = await readCsrfCheckedBody(req, res);
    const fields = (body ?? {}) as Record<string, unknown>;
    if (kind === 'form') {
      try {
        if (typeof fields.otp !== 'string' || fields.otp.length === 0 || fields.otp.length > 64) throw new OtpError('BAD_REQUEST');
        return res.redirect(303, await activate(req, fields.otp));
      } catch (error) {
        if (!(error instanceof OtpError)) throw error;
        return sendPage(req, res, error.status, errorMessage(req, error));
      }
    }
    if (!validate(body)) throw new OtpError('BAD_REQUEST');
    const location = await activate(req, (body as { data: { otp: string } }).data.otp);
    return sendJson(res, 200, { status: 'COMPLETED', location });
  };

  router.post('/', post);
  router.put('/', post);
  router.all('/', methodNotAllowed);
  router.use(authnErrorHandler());
  return router;
}
