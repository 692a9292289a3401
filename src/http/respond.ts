import type { ErrorRequestHandler, Request, Response } from 'express';
import { OtpError } from '../errors.js';
import { log } from '../events/logger.js';
import { translatorOf } from '../i18n/setup.js';

/**
 * Answers of every authenticator: JSON with `status`, errors from the one catalogue with a translated message.
 * Nothing internal (stack, exception text) ever reaches the client.
 */
type Translate = (key: string, options?: Record<string, unknown>) => string;

export function translator(req: Request): Translate {
  return (translatorOf(req) as Translate | undefined) ?? ((key: string) => key);
}

/** A wrong code keeps the original product's text key (`otp_validation.ERROR`); every other code its own. */
const MESSAGE_KEYS: Partial<Record<OtpError['code'], string>> = { INVALID_OTP: 'otp_validation.ERROR' };

/** The translation key of a code's message (what an overlay overrides). */
export function messageKey(code: OtpError['code']): string {
  return MESSAGE_KEYS[code] ?? `errors.${code}`;
}

/** Messages without values, per translator: a wrong code's message is the same every time, so it is made once. */
const plainMessages = new WeakMap<Translate, Map<string, string>>();

export function errorMessage(req: Request, error: OtpError): string {
  // Refused unevaluated while every attempt left is held by entries still being checked: not the end, say so.
  const busy = error.code === 'MAX_ATTEMPTS' && error.details.aborted === false;
  const key = busy ? 'errors.MAX_ATTEMPTS_BUSY' : messageKey(error.code);
  const t = translator(req);
  if (Object.keys(error.messageValues).length > 0) return t(key, error.messageValues);
  let cache = plainMessages.get(t);
  if (!cache) plainMessages.set(t, (cache = new Map()));
  let message = cache.get(key);
  if (message === undefined) cache.set(key, (message = t(key)));
  return message;
}

/**
 * A JSON answer without Express's ETag: an API answer is never revalidated, and hashing every body was a
 * measurable share of a `start` (bench/README.md).
 */
export function sendJson(res: Response, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  // With its length stated the answer goes out whole, not chunked (express-session holds back its last byte
  // until the session is touched, and without a length that turns into chunked encoding), as res.json does.
  res.setHeader('Content-Length', Buffer.byteLength(text));
  // Answers carry a session's state (attempts left, the CSRF token): never kept by a cache.
  res.setHeader('Cache-Control', 'no-store');
  res.end(text);
}

export function errorBody(req: Request, error: OtpError): Record<string, unknown> {
  const body: Record<string, unknown> = { status: 'ERROR', error: { code: error.code, message: errorMessage(req, error) } };
  for (const [key, value] of Object.entries(error.details)) if (value !== undefined) body[key] = value;
  return body;
}

export function setRetryAfter(res: Response, seconds: unknown): void {
  if (typeof seconds === 'number' && seconds > 0) res.setHeader('Retry-After', String(Math.ceil(seconds)));
}

export function sendError(req: Request, res: Response, error: OtpError): void {
  setRetryAfter(res, error.details.retry_after);
  sendJson(res, error.status, errorBody(req, error));
}

/** A method an authenticator's path does not take (DELETE, PATCH, ...): 405 BAD_REQUEST with Allow. */
export function methodNotAllowed(req: Request, res: Response): void {
  res.setHeader('Allow', 'GET, POST, PUT');
  sendError(req, res, new OtpError('BAD_REQUEST', {}, { status: 405 }));
}

/** A store or session-store outage: fail closed. Redis clients throw these when the server is away. */
function isUnavailable(error: unknown): boolean {
  const e = error as { name?: string; code?: string } | null;
  return !!e && (e.name === 'StoreUnavailableError' || e.name === 'ClientClosedError' || e.name === 'ClientOfflineError'
    || e.name === 'ConnectionTimeoutError' || e.name === 'SocketClosedUnexpectedlyError' || e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET');
}

/** The last handler of an authenticator router: maps anything thrown to a safe answer. */
export function authnErrorHandler(): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    if (res.headersSent) return;
    if (error instanceof OtpError) return sendError(req, res, error);
    // A client's mistake seen by a parser or the router (a body too large, a charset or encoding we do not read,
    // a broken percent-escape in the path) carries its 4xx status: answer it as BAD_REQUEST with that status.
    const status = (error as { status?: unknown; statusCode?: unknown }).status ?? (error as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return sendError(req, res, new OtpError('BAD_REQUEST', {}, { status: status === 404 ? 404 : status }));
    }
    if (error instanceof URIError) return sendError(req, res, new OtpError('BAD_REQUEST'));
    if (isUnavailable(error)) {
      log.warn(`store unavailable: ${(error as Error).name}`);
      return sendError(req, res, new OtpError('UNAVAILABLE', { retry_after: 5 }));
    }
    log.error(`unexpected error on ${req.method} ${req.baseUrl}${req.path}: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    sendJson(res, 500, { status: 'ERROR', error: { code: 'INTERNAL', message: 'Internal error' } });
  };
}
