import express, { type Request, type Response, type Router } from 'express';
import type { RecoveryCodesConfig } from '../config/types.js';
import { OtpError } from '../errors.js';
import { emitEvent } from '../events/bus.js';
import { csrfToken, readCsrfCheckedBody } from '../http/csrf.js';
import { authnErrorHandler, errorBody, errorMessage, methodNotAllowed, sendJson } from '../http/respond.js';
import { formatRecoveryCode } from '../codes/recovery-codes.js';
import type { Credentials } from '../store/credentials.js';
import { renderRecoveryPage } from '../web/recovery-page.js';
import { pageContext } from '../web/page-context.js';
import { authnState } from './session-state.js';
import { subjectIn, type StepHooks } from './step.js';

/**
 * RecoveryCodes (issue 22): makes a subject's recovery codes, ten at a time, shown once; a new set replaces the old
 * one at once. Only a session that passed a factor (a finished login) may make them. GET answers how many are
 * left; `generate` answers the new codes. Redeeming them is RecoveryCodeValidate's (a choice of the login).
 */
export interface RecoveryServices {
  credentials: Credentials;
  now: () => number;
  overlayDir: string | null;
  passedFactor(req: Request, subjectOf: (exports: Record<string, unknown>) => string): boolean;
}

export function createRecoveryCodesRouter(id: string, config: RecoveryCodesConfig, services: RecoveryServices, step: StepHooks): Router {
  const router = express.Router();
  const { credentials, now } = services;

  const subjectOfExports = (exports: Record<string, unknown>): string => subjectIn(config.subject, exports);
  /** Only after passing a factor as this subject in this session (src/authn/step.ts, passedFactorFor). */
  const subjectOf = (req: Request): string => {
    const subject = subjectOfExports(authnState(req).exports);
    if (!subject || !services.passedFactor(req, subjectOfExports)) throw new OtpError('NOT_IN_FLOW');
    return subject;
  };

  const page = (req: Request, res: Response, status: number, model: { codesLeft: number; codes?: string[]; error?: string }) => {
    res.setHeader('Cache-Control', 'no-store');
    res.status(status).type('html').send(renderRecoveryPage({
      ctx: pageContext(req), overlayDir: services.overlayDir, action: req.originalUrl.split('?')[0] ?? req.originalUrl,
      continueTo: step.locations(req).success, ...model,
    }));
  };

  router.get('/', async (req, res) => {
    const wantsJson = req.accepts(['html', 'json']) === 'json';
    const token = csrfToken(req);
    try {
      const left = await credentials.recoveryCodesLeft(subjectOf(req));
      if (wantsJson) return sendJson(res, 200, { status: 'READY', codes_left: left, csrf_token: token });
      return page(req, res, 200, { codesLeft: left });
    } catch (error) {
      if (!(error instanceof OtpError)) throw error;
      if (wantsJson) return sendJson(res, error.status, { ...errorBody(req, error), csrf_token: token });
      return page(req, res, error.status, { codesLeft: 0, error: errorMessage(req, error) });
    }
  });

  const generate = async (req: Request): Promise<string[]> => {
    const subject = subjectOf(req);
    const codes = (await credentials.newRecoveryCodes(subject, now())).map(formatRecoveryCode);
    emitEvent('OTP_200018', { codes: codes.length }, new Date(now()), {
      IDENTIFIER: authnState(req).trace_id, SOURCE_ADDRESS: req.ip ?? '', AUTHENTICATOR_IDENTIFIER: id, CUSTOMER_IDENTIFIER: subject,
    });
    return codes;
  };

  const post = async (req: Request, res: Response): Promise<void> => {
    const { kind, body } = await readCsrfCheckedBody(req, res);
    const fields = (body ?? {}) as Record<string, unknown>;
    if (kind === 'form') {
      try {
        if (fields.action !== 'generate') throw new OtpError('BAD_REQUEST');
        const codes = await generate(req);
        return page(req, res, 200, { codesLeft: codes.length, codes });
      } catch (error) {
        if (!(error instanceof OtpError)) throw error;
        return page(req, res, error.status, { codesLeft: 0, error: errorMessage(req, error) });
      }
    }
    const keys = Object.keys(fields);
    if (fields.type !== 'generate' || keys.some((k) => k !== 'type')) throw new OtpError('BAD_REQUEST');
    const codes = await generate(req);
    res.setHeader('Cache-Control', 'no-store');
    return sendJson(res, 200, { status: 'COMPLETED', codes, codes_left: codes.length, location: step.locations(req).success });
  };

  router.post('/', post);
  router.put('/', post);
  router.all('/', methodNotAllowed);
  router.use(authnErrorHandler());
  return router;
}
