import express, { type Request, type Response } from 'express';
import { OtpError } from '../errors.js';

/**
 * Reads the body of an authenticator PUT/POST: JSON (`{ "type", "data" }`) or, where the form works without
 * JavaScript, `application/x-www-form-urlencoded`. Every parser failure becomes BAD_REQUEST with the right
 * status (400 malformed, 413 too large, 415 another type), never a 5xx.
 */
export const BODY_LIMIT = '16kb';

const json = express.json({ limit: BODY_LIMIT, strict: true, type: ['application/json', 'application/*+json'] });
const form = express.urlencoded({ limit: BODY_LIMIT, extended: false, parameterLimit: 50 });

export type BodyKind = 'json' | 'form';

export function bodyKind(req: Request): BodyKind | null {
  if (!req.headers['content-type']) return null;
  if (req.is(['application/json', 'application/*+json'])) return 'json';
  if (req.is('application/x-www-form-urlencoded')) return 'form';
  return null;
}

function run(parser: express.RequestHandler, req: Request, res: Response): Promise<void> {
  return new Promise((resolve, reject) => {
    parser(req, res, (err?: unknown) => (err ? reject(err) : resolve()));
  });
}

/** Parses the body by its content type; `allowForm` false refuses forms with 415. */
export async function readBody(req: Request, res: Response, allowForm: boolean): Promise<{ kind: BodyKind; body: unknown }> {
  const kind = bodyKind(req);
  if (kind === null || (kind === 'form' && !allowForm)) {
    throw new OtpError('BAD_REQUEST', {}, { status: 415 });
  }
  try {
    await run(kind === 'json' ? json : form, req, res);
  } catch (err) {
    const type = (err as { type?: string }).type;
    throw new OtpError('BAD_REQUEST', {}, { status: type === 'entity.too.large' ? 413 : type === 'encoding.unsupported' || type === 'charset.unsupported' ? 415 : 400 });
  }
  return { kind, body: (req as { body?: unknown }).body };
}
