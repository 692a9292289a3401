import type { Request, Response } from 'express';
import type { OtpError } from '../errors.js';
import { csrfToken } from '../http/csrf.js';
import { errorBody, errorMessage, sendError, sendJson } from '../http/respond.js';
import { renderChoiceRefusal } from '../web/choose-page.js';
import { pageContext } from '../web/page-context.js';

/** How a choice's guard answers a refusal: the JSON error, or a page with the way back to the list of choices. */
export function refuseChoice(overlayDir: string | null) {
  return (error: OtpError, req: Request, res: Response): void => {
    if (req.method !== 'GET') return sendError(req, res, error);
    // A GET's JSON answer carries the CSRF token, as the step's own GET does.
    if (req.accepts(['html', 'json']) === 'json') return sendJson(res, error.status, { ...errorBody(req, error), csrf_token: csrfToken(req) });
    const back = typeof error.details.choose_location === 'string' ? error.details.choose_location : '/';
    res.status(error.status).type('html').send(renderChoiceRefusal(pageContext(req), overlayDir, errorMessage(req, error), back));
  };
}
