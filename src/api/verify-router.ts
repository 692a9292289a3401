import express, { type Request, type Response, type Router } from 'express';
import { OtpError } from '../errors.js';
import { authnErrorHandler, errorBody, sendJson } from '../http/respond.js';
import { MESSAGE, NAME, ajv, jsonBody, optionsSchema } from './api-body.js';
import { createVerifications, type CreateInput, type SendOutcome, type Verifications, type VerificationsDeps } from './verifications.js';
import { phoneMatchRoutes } from './phonematch-router.js';
import { serveOpenApi } from './openapi.js';

/**
 * The verification API (issue 24): a backend's face of the same OTP rules, stores and pipes as the web form, with
 * no session, cookie or CSRF token: the v1 routes here, PhoneMatch's own two calls in phonematch-router.ts, both over
 * the verifications of verifications.ts. docs/verify-api.md.
 */
const createSchema = {
  type: 'object', additionalProperties: false, required: ['to'],
  properties: {
    to: { type: 'string', minLength: 1, maxLength: 320 },
    channel: { enum: ['sms', 'voice', 'email', 'auto'] },
    locale: { type: 'string', minLength: 2, maxLength: 16 },
    reference: { type: 'string', minLength: 1, maxLength: 100 },
    subject: { type: 'string', minLength: 1, maxLength: 200 },
    target: { type: 'object', additionalProperties: false, properties: { fn: NAME, ln: NAME } },
    options: optionsSchema,
    message: MESSAGE,
  },
};
const validateCreate = ajv.compile(createSchema);
const validateCheck = ajv.compile({ type: 'object', additionalProperties: false, required: ['code'], properties: { code: { type: 'string', minLength: 1, maxLength: 64 } } });
const validateChange = ajv.compile({ type: 'object', additionalProperties: false, required: ['to'], properties: { to: { type: 'string', minLength: 1, maxLength: 320 } } });
const validateEmpty = ajv.compile({ type: 'object', additionalProperties: false, maxProperties: 0 });

export type VerifyApiDeps = VerificationsDeps;

export function createVerifyApi(deps: VerifyApiDeps): Router {
  const v: Verifications = createVerifications(deps);
  const ID = 'vf.';

  /** What every route of one verification starts with: the key (with the route's scope), the id, the body. */
  const verification = async (req: Request, res: Response, scope: Parameters<Verifications['bearer']>[1], validate: ((b: unknown) => boolean) | null) => {
    const key = await v.bearer(req, scope);
    const id = String(req.params.id);
    const sealed = v.open(id.startsWith(ID) ? id.slice(ID.length) : '', key);
    const b = validate ? await jsonBody(req, res, validate) : {};
    return { key, id, sealed, b };
  };

  /** A send's answer: the verification, or PhoneMatch's FAIL with its detail and the error. */
  const sent = (req: Request, res: Response, id: string, key: Parameters<Verifications['summary']>[1], outcome: SendOutcome, status = 200): void => {
    if (outcome.ok) return sendJson(res, status, { id, ...v.summary(outcome.tx, key) });
    return sendJson(res, outcome.status, {
      ...errorBody(req, outcome.error), id, ...(outcome.tx ? v.summary(outcome.tx, key) : {}), status: 'reject', action: 'FAIL', detail: outcome.detail,
    });
  };

  const router = express.Router();
  router.use((req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  router.post('/v1/verifications', async (req, res) => {
    const key = await v.bearer(req, 'verifications:create');
    const b = await jsonBody(req, res, validateCreate) as unknown as Omit<CreateInput, 'channel'> & { channel?: CreateInput['channel'] };
    const created = await v.create(req, key, { ...b, channel: b.channel ?? 'auto' });
    const id = `${ID}${created.id}`;
    if (created.ok) res.setHeader('Location', `${req.baseUrl}/v1/verifications/${id}`);
    return sent(req, res, id, key, created, 201);
  });

  router.post('/v1/verifications/:id/check', async (req, res) => {
    const { key, id, sealed, b } = await verification(req, res, 'verifications:check', validateCheck);
    const checked = await v.check(req, key, id, sealed, String(b.code));
    const counts = { id, attempt_count: checked.attempt_count, attempts_left: checked.attempts_left };
    const action = checked.status === 'approved' ? 'PASS' : 'FAIL';
    return sendJson(res, 200, { ...(checked.error ? errorBody(req, checked.error) : {}), ...counts, status: checked.status, action, detail: checked.detail });
  });

  router.post('/v1/verifications/:id/resend', async (req, res) => {
    const { key, id, sealed } = await verification(req, res, 'verifications:create', validateEmpty);
    return sent(req, res, id, key, await v.resend(req, key, id, sealed));
  });

  router.post('/v1/verifications/:id/change', async (req, res) => {
    const { key, id, sealed, b } = await verification(req, res, 'verifications:create', validateChange);
    return sent(req, res, id, key, await v.resend(req, key, id, sealed, String(b.to)));
  });

  router.post('/v1/verifications/:id/cancel', async (req, res) => {
    const { key, id, sealed } = await verification(req, res, 'verifications:create', validateEmpty);
    return sendJson(res, 200, { id, ...v.summary(await v.cancel(req, key, id, sealed), key) });
  });

  router.get('/v1/verifications/:id', async (req, res) => {
    const { key, id, sealed } = await verification(req, res, 'verifications:read', null);
    return sendJson(res, 200, { id, ...v.report(await v.read(req, key, sealed), key) });
  });

  phoneMatchRoutes(router, v, deps.config.verify_api!.phonematch ?? {});

  // The API's OpenAPI 3.1 document (src/api/openapi.json, read once at startup): no key needed.
  router.get('/openapi.json', serveOpenApi);

  router.use((req, res) => sendJson(res, 404, errorBody(req, new OtpError('NOT_FOUND'))));
  router.use(((error, req, res, next) => {
    if (error instanceof OtpError && error.code === 'UNAUTHORIZED') res.setHeader('WWW-Authenticate', 'Bearer realm="verify"');
    return authnErrorHandler()(error, req, res, next);
  }) as express.ErrorRequestHandler);
  return router;
}
