import express, { type Request, type Response } from 'express';
import { OtpError } from '../errors.js';

/**
 * Reads the body of an authenticator PUT/POST: JSON (`{ "type", "data" }`) or, where the form works without
 * JavaScript, `application/x-www-form-urlencoded`. Every parser failure becomes BAD_REQUEST with the right
 * status (400 malformed, 413 too large, 415 another type), never a 5xx.
 */
export const BODY_LIMIT = '16kb';
const BODY_LIMIT_BYTES = 16 * 1024;

const json = express.json({ limit: BODY_LIMIT, strict: true, type: ['application/json', 'application/*+json'] });
const form = express.urlencoded({ limit: BODY_LIMIT, extended: false, parameterLimit: 50 });

export type BodyKind = 'json' | 'form';

/** What the JSON API sends, in the spellings that need no parsing of the header. */
const PLAIN_JSON = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8', 'application/json; charset=UTF-8', 'application/json;charset=UTF-8']);

export function bodyKind(req: Request): BodyKind | null {
  const type = req.headers['content-type'];
  if (!type) return null;
  if (PLAIN_JSON.has(type)) return 'json';
  if (req.is(['application/json', 'application/*+json'])) return 'json';
  if (req.is('application/x-www-form-urlencoded')) return 'form';
  return null;
}

function run(parser: express.RequestHandler, req: Request, res: Response): Promise<void> {
  return new Promise((resolve, reject) => {
    parser(req, res, (err?: unknown) => (err ? reject(err) : resolve()));
  });
}

/**
 * Parses the body by its content type; `allowForm` false refuses forms with 415. A caller that looked at the type
 * already passes what `bodyKind` said (every read of an Express request's properties has a cost: bench/README.md).
 */
export async function readBody(req: Request, res: Response, allowForm: boolean, kind: BodyKind | null = bodyKind(req)): Promise<{ kind: BodyKind; body: unknown }> {
  if (kind === null || (kind === 'form' && !allowForm)) {
    throw new OtpError('BAD_REQUEST', {}, { status: 415 });
  }
  try {
    const plain = kind === 'json' ? plainJsonLength(req) : null;
    if (plain !== null) return { kind, body: await readPlainJson(req, plain) };
    await run(kind === 'json' ? json : form, req, res);
  } catch (err) {
    const type = (err as { type?: string }).type;
    throw new OtpError('BAD_REQUEST', {}, { status: type === 'entity.too.large' ? 413 : type === 'encoding.unsupported' || type === 'charset.unsupported' ? 415 : 400 });
  }
  return { kind, body: (req as { body?: unknown }).body };
}

/**
 * The JSON API's usual request (a plain UTF-8 JSON type, no content coding, a stated length within the limit)
 * read without body-parser's stream machinery, which was a tenth of a `start` (bench/README.md). The body is
 * what body-parser would give; every other request (a charset, a coding, chunked, empty, too long) goes to it.
 */
function plainJsonLength(req: Request): number | null {
  // A body the host's own parser (express.json() before the router) or anything else already read is not in the
  // stream any more: body-parser then answers with what that parser left, so it gets these.
  // A client already gone (its socket closed): body-parser refuses that request (aborted), as it always did.
  if ((req as { _body?: unknown })._body || req.readableEnded || !req.readable || req.socket?.destroyed) return null;
  const h = req.headers;
  if (!PLAIN_JSON.has(h['content-type'] ?? '') || h['content-encoding'] !== undefined || h['transfer-encoding'] !== undefined) return null;
  const text = h['content-length'];
  if (text === undefined || !/^[0-9]{1,5}$/.test(text)) return null;
  const length = Number(text);
  return length > 0 && length <= BODY_LIMIT_BYTES ? length : null;
}

function readPlainJson(req: Request, length: number): Promise<unknown> {
  // Usually the whole body came with the headers and waits in the stream's buffer: take it at once.
  if (req.complete && req.readableLength === length) {
    const buffered = req.read(length) as Buffer | null;
    if (buffered !== null && buffered.length === length) return Promise.resolve(parsePlainJson(buffered));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const fail = () => reject(new OtpError('BAD_REQUEST'));
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      chunks.push(chunk);
    });
    req.once('error', fail);
    req.once('aborted', fail);
    req.once('end', () => {
      if (received !== length) return fail();
      try {
        resolve(parsePlainJson(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received)));
      } catch (error) {
        reject(error);
      }
    });
  });
}

function parsePlainJson(bytes: Buffer): unknown {
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte-order mark, which body-parser drops too
  // Strict, as body-parser's `strict: true`: an object or an array, never a bare value.
  const first = text.trimStart()[0];
  if (first !== '{' && first !== '[') throw new OtpError('BAD_REQUEST');
  try {
    return JSON.parse(text);
  } catch {
    throw new OtpError('BAD_REQUEST');
  }
}
