import express, { type Request, type Response, type Router } from 'express';
import { Ajv } from 'ajv';
import type { PasswordConfig } from '../config/types.js';
import { OtpError } from '../errors.js';
import { emitEvent } from '../events/bus.js';
import type { EventFields, EventId } from '../events/catalogue.js';
import type { Pipe } from '../pipes/pipe.js';
import { createFlowContext } from '../pipes/flow-context.js';
import { renderPasswordPage } from '../web/password-page.js';
import { pageContext } from '../web/page-context.js';
import { csrfToken, readCsrfCheckedBody } from '../http/csrf.js';
import { authnErrorHandler, errorBody, errorMessage, methodNotAllowed, sendJson } from '../http/respond.js';
import { authnState } from './session-state.js';
import type { StepHooks } from './step.js';

/**
 * UserNameAndPassword: checks `identifier` and `password` through a pipe (the demo's reads config/demo-users.json,
 * scrypt hashes). An unknown user and a wrong password get the same answer, the same events and the same work
 * (the valve hashes against a dummy for an unknown user). After `allowed_retries` + 1 failures in one session
 * the step answers MAX_ATTEMPTS with `aborted: true`.
 */
const validate = new Ajv({ strict: false }).compile({
  type: 'object', required: ['type', 'data'], additionalProperties: false,
  properties: {
    type: { const: 'start' },
    data: { type: 'object', required: ['identifier', 'password'], additionalProperties: false,
      properties: { identifier: { type: 'string', minLength: 1, maxLength: 256 }, password: { type: 'string', minLength: 1, maxLength: 1024 } } },
  },
});

type Credentials = { identifier: string; password: string };

function fromForm(body: unknown): Credentials {
  const f = (body ?? {}) as Record<string, unknown>;
  if (typeof f.identifier !== 'string' || typeof f.password !== 'string' || !f.identifier || !f.password || f.identifier.length > 256 || f.password.length > 1024) {
    throw new OtpError('BAD_REQUEST');
  }
  return { identifier: f.identifier, password: f.password };
}

export function createPasswordRouter(id: string, config: PasswordConfig, pipe: Pipe, step: StepHooks, overlayDir: string | null = null): Router {
  const router = express.Router();
  const failuresKey = `${id}:failures`;

  const emit = (req: Request, event: EventId, identifier: string, extra: Record<string, unknown> = {}) => {
    emitEvent(event, {
      IDENTIFIER: authnState(req).trace_id, SOURCE_ADDRESS: req.ip ?? '', AUTHENTICATOR_IDENTIFIER: id,
      SOURCE_USER_NAME: identifier.slice(0, 256), ...(event === 'WEB_100017' ? { CUSTOMER_IDENTIFIER: identifier.slice(0, 256) } : {}), ...extra,
    } as EventFields);
  };

  async function check(req: Request, creds: Credentials): Promise<string> {
    const state = authnState(req);
    const failures = state.counters[failuresKey] ?? 0;
    const allowed = config.allowed_retries + 1;
    if (failures >= allowed) throw new OtpError('MAX_ATTEMPTS', { aborted: true, attempts_left: 0, location: step.locations(req).failure });
    const flow = createFlowContext({ id: state.trace_id, authenticator: { id, type: 'UserNameAndPassword' }, state: { identifier: creds.identifier, password: creds.password } });
    const result = await pipe.run(flow);
    if (result.ok) {
      emit(req, 'WEB_100017', creds.identifier);
      delete state.counters[failuresKey];
      return step.complete(req, flow.exports);
    }
    state.counters[failuresKey] = failures + 1;
    const left = allowed - failures - 1;
    emit(req, 'WEB_100018', creds.identifier, { attempts_left: left, aborted: left === 0 });
    if (left === 0) throw new OtpError('MAX_ATTEMPTS', { aborted: true, attempts_left: 0, location: step.locations(req).failure });
    throw new OtpError('INVALID_CREDENTIALS', { attempts_left: left });
  }

  const page = (req: Request, res: Response, status: number, error?: string) => {
    res.status(status).type('html').send(renderPasswordPage({
      ctx: pageContext(req), overlayDir, action: req.originalUrl.split('?')[0] ?? req.originalUrl, ...(error ? { error } : {}),
    }));
  };

  router.get('/', (req, res) => {
    const done = step.finished?.(req);
    if (done) return res.redirect(303, done);
    const token = csrfToken(req);
    if (req.accepts(['html', 'json']) === 'json') return sendJson(res, 200, { status: 'PENDING', csrf_token: token });
    return page(req, res, 200);
  });

  const post = async (req: Request, res: Response) => {
    // A session whose login is finished does not run its steps again: another user's password must not ride on
    // this session's completed second factor. Signing in as someone else starts with /logout.
    const { kind, body } = await readCsrfCheckedBody(req, res);
    const done = step.finished?.(req);
    if (done) return kind === 'form' ? res.redirect(303, done) : sendJson(res, 200, { status: 'COMPLETED', location: done });
    if (kind === 'form') {
      try {
        return res.redirect(303, await check(req, fromForm(body)));
      } catch (error) {
        if (!(error instanceof OtpError)) throw error;
        const location = error.details.location;
        if (typeof location === 'string') return res.redirect(303, location);
        return page(req, res, error.status, errorMessage(req, error));
      }
    }
    if (!validate(body)) throw new OtpError('BAD_REQUEST');
    const location = await check(req, (body as { data: Credentials }).data);
    return sendJson(res, 200, { status: 'COMPLETED', location });
  };
  router.post('/', post);
  router.put('/', post);
  router.all('/', methodNotAllowed);
  router.use(authnErrorHandler());
  return router;
}
