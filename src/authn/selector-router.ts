import express, { type Request, type Response, type Router } from 'express';
import { Ajv } from 'ajv';
import { OtpError } from '../errors.js';
import { csrfToken, readCsrfCheckedBody } from '../http/csrf.js';
import { authnErrorHandler, methodNotAllowed, errorBody, errorMessage, sendJson, translator } from '../http/respond.js';
import { renderChoosePage, type ChoiceView } from '../web/choose-page.js';
import { pageContext } from '../web/page-context.js';
import { authnState } from './session-state.js';
import { selectorState, type Choice, type SelectorPlanEntry, type Selectors } from './selector.js';
import type { StepHooks } from './step.js';

/**
 * A Selector's HTTP face at its own path: GET sends the browser to the choice to take (the one chosen, the only
 * one, or the default) or shows the list (`?choose=1` always does); POST `select` makes a choice, `cancel` gives
 * up the login. JSON or the no-JavaScript form (a form per choice, field `id`). The rules are in selector.ts.
 */
type SelectorBody = { type: 'select'; data: { id: string } } | { type: 'cancel' };

const validate = new Ajv({ strict: false }).compile({
  type: 'object', required: ['type'], additionalProperties: false,
  properties: { type: { enum: ['select', 'cancel'] }, data: { type: 'object' } },
  allOf: [
    { if: { properties: { type: { const: 'select' } } }, then: { required: ['data'], properties: { data: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } } } },
    { if: { properties: { type: { const: 'cancel' } } }, then: { properties: { data: { type: 'object', maxProperties: 0 } } } },
  ],
});

function parseJson(body: unknown): SelectorBody {
  if (!validate(body)) throw new OtpError('BAD_REQUEST');
  return body as SelectorBody;
}

function parseForm(body: unknown): SelectorBody {
  const f = (body ?? {}) as Record<string, unknown>;
  if (f.action === 'cancel') return { type: 'cancel' };
  if (typeof f.id === 'string' && f.id.length > 0 && f.id.length <= 64) return { type: 'select', data: { id: f.id } };
  throw new OtpError('BAD_REQUEST');
}

export function createSelectorRouter(plan: SelectorPlanEntry, selectors: Selectors, step: StepHooks, overlayDir: string | null): Router {
  const router = express.Router();

  const views = (req: Request, choices: Choice[]): ChoiceView[] => {
    const t = translator(req);
    return choices.map((c) => {
      const control = selectors.control(c.id);
      const channel = control?.channel(req) ?? null;
      return { id: c.id, label: t(c.label ?? `selector.${channel ?? 'other'}`), channel, destination: control?.destination(req) ?? null };
    });
  };

  /** The choices to offer; NOT_IN_FLOW when the steps before this one have not run or nothing is open to this user. */
  const offer = async (req: Request): Promise<Choice[]> => {
    if (Object.keys(authnState(req).exports).length === 0) throw new OtpError('NOT_IN_FLOW');
    const choices = await selectors.available(req, plan);
    if (choices.length === 0) throw new OtpError('NOT_IN_FLOW');
    return choices;
  };

  const sendPage = async (req: Request, res: Response, status: number, error?: string): Promise<void> => {
    const choices = await selectors.available(req, plan);
    res.status(status).type('html').send(renderChoosePage({ ctx: pageContext(req), overlayDir, action: plan.path, choices: views(req, choices), ...(error ? { error } : {}) }));
  };

  router.get('/', async (req, res) => {
    const wantsJson = req.accepts(['html', 'json']) === 'json';
    const token = csrfToken(req);
    const done = step.finished?.(req);
    if (done) return res.redirect(303, done);
    let choices: Choice[];
    try {
      choices = await offer(req);
    } catch (error) {
      if (!(error instanceof OtpError)) throw error;
      if (wantsJson) return sendJson(res, error.status, { ...errorBody(req, error), csrf_token: token });
      return sendPage(req, res, error.status, errorMessage(req, error));
    }
    if (req.query.choose === undefined) {
      // A trusted browser (any choice with trust_device on) skips the choosing and the code alike.
      for (const c of choices) {
        const location = await selectors.control(c.id)?.trusted?.(req);
        if (location) return wantsJson ? sendJson(res, 200, { status: 'COMPLETED', location, csrf_token: token }) : res.redirect(303, location);
      }
      const chosen = selectorState(req, plan.id).chosen;
      const target = choices.find((c) => c.id === chosen)
        ?? (choices.length === 1 ? choices[0] : choices.find((c) => c.id === plan.config.default));
      if (target) return res.redirect(303, target.path);
    }
    if (wantsJson) return sendJson(res, 200, { status: 'CHOOSE', choices: views(req, choices), csrf_token: token });
    return sendPage(req, res, 200);
  });

  const act = async (req: Request, body: SelectorBody): Promise<{ status: string; location: string }> => {
    if (body.type === 'cancel') {
      const chosen = selectorState(req, plan.id).chosen;
      if (chosen) await selectors.control(chosen)?.cancelRunning(req);
      return { status: 'CANCELLED', location: step.cancel ? await step.cancel(req) : step.locations(req).cancel };
    }
    const choices = await offer(req);
    const choice = choices.find((c) => c.id === body.data.id);
    if (!choice) throw new OtpError('BAD_REQUEST');
    await selectors.choose(req, plan, choice.id);
    return { status: 'COMPLETED', location: choice.path };
  };

  const post = async (req: Request, res: Response): Promise<void> => {
    const { kind, body } = await readCsrfCheckedBody(req, res);
    const done = step.finished?.(req);
    if (done) return kind === 'form' ? res.redirect(303, done) : sendJson(res, 200, { status: 'COMPLETED', location: done });
    if (kind !== 'form') return sendJson(res, 200, await act(req, parseJson(body)));
    try {
      const answer = await act(req, parseForm(body));
      return res.redirect(303, answer.location);
    } catch (error) {
      if (!(error instanceof OtpError)) throw error;
      return sendPage(req, res, error.status, errorMessage(req, error));
    }
  };

  router.post('/', post);
  router.put('/', post);
  router.all('/', methodNotAllowed);
  router.use(authnErrorHandler());
  return router;
}
