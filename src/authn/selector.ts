import type { Request, RequestHandler } from 'express';
import type { AuthenticatorEntry, Locations, SelectorConfig } from '../config/types.js';
import { mountPaths } from '../config/mount-path.js';
import { OtpError } from '../errors.js';
import { bodyKind } from '../http/body.js';
import { csrfFromHeader, csrfValid } from '../http/csrf.js';
import { emitEvent } from '../events/bus.js';
import type { EventId } from '../events/catalogue.js';
import { compileCondition, type Condition } from '../pipes/condition.js';
import type { FlowContext } from '../pipes/types.js';
import { authnState, type SelectorState } from './session-state.js';
import { resolveLocations, type StepHooks } from './step.js';

/**
 * The Selector's rules (the user picks how to get the code, and may "try another way"): which choices this user
 * may take (`available_if` over the exports), the choice made and the switches in this login (kept in the
 * session), the hooks a choice completes through, and the guard in front of each choice's path. The attempt
 * budget the choices share is not here: it lives in the transaction store, atomic (docs/state-machine.md).
 */
export interface Choice {
  id: string;
  label: string | undefined;
  path: string;
  condition: Condition | null;
}

export interface SelectorPlanEntry {
  id: string;
  path: string;
  config: SelectorConfig;
  choices: Choice[];
}

/** What a choice's own authenticator tells the selector (an OTP authenticator supplies all three). */
export interface ChoiceControl {
  /** How the code reaches the user for this request: sms, voice, email, totp; null when it is not a code. */
  channel(req: Request): string | null;
  /** The masked destination shown beside the choice, or null. */
  destination(req: Request): string | null;
  /** Cancels this choice's running transaction, if any; answers its phase afterwards (null: there was none). */
  cancelRunning(req: Request): Promise<string | null>;
  /** Whether the subject has what this choice needs (recovery codes left, say); absent: always. */
  available?(req: Request): Promise<boolean>;
  /** Counts a change of choice to this one in the store, atomically; false when `max` were already counted. */
  claimSwitch?(req: Request, max: number): Promise<boolean>;
  /**
   * For a choice with `trust_device` on: when this browser is a trusted device of the subject, completes the choice
   * (and so the selector) at once and answers where the browser goes next; null otherwise.
   */
  trusted?(req: Request): Promise<string | null>;
}

export interface Selectors {
  readonly plans: ReadonlyMap<string, SelectorPlanEntry>;
  /** The selector a choice belongs to. */
  ownerOf(choiceId: string): SelectorPlanEntry | undefined;
  register(choiceId: string, control: ChoiceControl): void;
  control(choiceId: string): ChoiceControl | undefined;
  /** The choices this request's user may take, in the configured order. */
  available(req: Request, plan: SelectorPlanEntry): Promise<Choice[]>;
  /** Makes `choiceId` the choice of this login; a change of choice cancels the previous one and counts as a switch. */
  choose(req: Request, plan: SelectorPlanEntry, choiceId: string): Promise<void>;
  /** The hooks a choice completes through: its completion is the selector's (and so the chain's next step). */
  choiceHooks(choiceId: string, own: Locations, selector: StepHooks): StepHooks;
  /** Admits a request to a choice's path (see `guard`); throws the refusal. */
  admit(req: Request, choiceId: string, selector: StepHooks): Promise<void>;
  /** `admit` as middleware for the router path; a refusal goes to `refuse`. */
  guard(choiceId: string, selector: StepHooks, refuse: (error: OtpError, req: Request, res: Parameters<RequestHandler>[1]) => void): RequestHandler;
}

export function chooseLocation(plan: SelectorPlanEntry): string {
  return `${plan.path}?choose=1`;
}

export function selectorState(req: Request, selectorId: string): SelectorState {
  const state = authnState(req);
  const all = (state.selectors ??= {});
  return (all[selectorId] ??= { chosen: null, switches: 0, tried: [] });
}

/** Conditions see the exports only: the session and request views of pipes are not built for this. */
function conditionContext(req: Request, choiceId: string): FlowContext {
  return {
    id: authnState(req).trace_id,
    exports: authnState(req).exports,
    session: {},
    request: {},
    state: {},
    items: [],
    authenticator: { id: choiceId, type: 'Selector' },
  } as unknown as FlowContext;
}

export function planSelectors(authenticators: readonly AuthenticatorEntry[]): Selectors {
  const paths = mountPaths(authenticators);
  const plans = new Map<string, SelectorPlanEntry>();
  const owners = new Map<string, SelectorPlanEntry>();
  for (const entry of authenticators) {
    if (entry.canonicalType !== 'Selector') continue;
    const config = entry.config as unknown as SelectorConfig;
    const plan: SelectorPlanEntry = {
      id: entry.id,
      path: paths.get(entry.id) ?? `/${entry.id}`,
      config,
      choices: config.choices.map((c) => ({
        id: c.id,
        label: c.label,
        path: paths.get(c.id) ?? `/${c.id}`,
        condition: c.available_if ? compileCondition(c.available_if) : null,
      })),
    };
    plans.set(entry.id, plan);
    for (const c of plan.choices) if (!owners.has(c.id)) owners.set(c.id, plan);
  }
  const controls = new Map<string, ChoiceControl>();

  const emit = (req: Request, plan: SelectorPlanEntry, id: EventId, fields: Record<string, string | number | null>) => {
    emitEvent(id, fields, new Date(), { IDENTIFIER: authnState(req).trace_id, SOURCE_ADDRESS: req.ip ?? '', AUTHENTICATOR_IDENTIFIER: plan.id });
  };

  const available = async (req: Request, plan: SelectorPlanEntry): Promise<Choice[]> => {
    const out: Choice[] = [];
    for (const choice of plan.choices) {
      if (!choice.condition) { out.push(choice); continue; }
      const result = await choice.condition.test(conditionContext(req, choice.id));
      // A condition that fails to evaluate offers nothing: never a way the operator did not mean to open.
      if (result.ok && result.value) out.push(choice);
    }
    return filterByControl(req, out);
  };

  /** Then what the choice's own authenticator knows of the subject (a credential store lookup). */
  const filterByControl = async (req: Request, choices: Choice[]): Promise<Choice[]> => {
    const out: Choice[] = [];
    for (const choice of choices) {
      const check = controls.get(choice.id)?.available;
      if (!check || (await check(req))) out.push(choice);
    }
    return out;
  };

  const choose = async (req: Request, plan: SelectorPlanEntry, choiceId: string): Promise<void> => {
    const st = selectorState(req, plan.id);
    if (st.chosen === choiceId) return;
    const channel = controls.get(choiceId)?.channel(req) ?? null;
    if (st.chosen !== null) {
      const max = plan.config.max_switches;
      // The session's count answers at once; the store's is the one parallel requests of a session cannot race,
      // and it outlives a password entered again by the same user.
      const claimed = st.switches < max && (await controls.get(choiceId)?.claimSwitch?.(req, max) ?? true);
      if (!claimed) throw new OtpError('MAX_SWITCHES', { choose_location: chooseLocation(plan) });
      const previous = st.chosen;
      const phase = await controls.get(previous)?.cancelRunning(req) ?? null;
      const last = st.tried[st.tried.length - 1];
      if (last && last.id === previous && last.outcome === 'PENDING') last.outcome = phase ?? 'CANCELLED';
      st.switches += 1;
      emit(req, plan, 'OTP_200016', { from: previous, to: choiceId, switches: st.switches, max_switches: plan.config.max_switches });
    }
    st.chosen = choiceId;
    st.tried.push({ id: choiceId, channel, outcome: 'PENDING' });
    emit(req, plan, 'OTP_200015', { method: choiceId, channel });
  };

  /**
   * Whether a request to a choice's path may make that choice: a GET, or a JSON POST/PUT whose CSRF header is
   * right. A forged or refused request (no token, another method) must not choose anything; it goes on to the
   * choice's router, which refuses it.
   */
  const mayChoose = (req: Request): boolean =>
    req.method === 'GET' || ((req.method === 'POST' || req.method === 'PUT') && bodyKind(req) === 'json' && csrfValid(req, csrfFromHeader(req)));

  const admit = async (req: Request, choiceId: string, selector: StepHooks): Promise<void> => {
    const plan = owners.get(choiceId);
    if (!plan) return;
    // After the login this selector belongs to finished, the choice's own router sends the browser on.
    if (selector.finished?.(req)) return;
    if (Object.keys(authnState(req).exports).length === 0) throw new OtpError('NOT_IN_FLOW');
    if (!(await available(req, plan)).some((c) => c.id === choiceId)) throw new OtpError('BAD_REQUEST', {}, { status: 404 });
    const st = selectorState(req, plan.id);
    if (st.chosen === choiceId) return;
    // Opening another choice's page is a switch, as choosing it in the list is. A POST to a choice that is not the
    // one chosen is refused: entries and sends go to the chosen choice only.
    if (st.chosen !== null && req.method !== 'GET') throw new OtpError('NOT_IN_FLOW', { choose_location: chooseLocation(plan) });
    if (mayChoose(req)) await choose(req, plan, choiceId);
  };

  return {
    plans,
    ownerOf: (choiceId) => owners.get(choiceId),
    register: (choiceId, control) => void controls.set(choiceId, control),
    control: (choiceId) => controls.get(choiceId),
    available,
    choose,
    admit,
    choiceHooks(choiceId, own, selector) {
      const plan = owners.get(choiceId);
      if (!plan) throw new Error(`"${choiceId}" is not a choice of a selector`);
      return {
        locations: (req) => resolveLocations(own, selector.locations(req)),
        async complete(req, exports) {
          const st = selectorState(req, plan.id);
          const last = st.tried[st.tried.length - 1];
          if (last && last.id === choiceId) last.outcome = 'COMPLETED';
          else st.tried.push({ id: choiceId, channel: controls.get(choiceId)?.channel(req) ?? null, outcome: 'COMPLETED' });
          st.chosen = choiceId;
          const tried = st.tried.map((t) => ({ ...t }));
          // A trusted browser completes a choice without a code: its method says so.
          return selector.complete(req, { ...exports, otp_method: typeof exports.otp_method === 'string' ? exports.otp_method : choiceId, otp_methods: tried });
        },
        cancel: (req) => (selector.cancel ? selector.cancel(req) : Promise.resolve(selector.locations(req).cancel)),
        finished: (req) => selector.finished?.(req) ?? null,
        next: (req) => selector.next?.(req) ?? selector.locations(req).success,
        chooseLocation: () => chooseLocation(plan),
      };
    },
    guard(choiceId, selector, refuse) {
      return (req, res, next) => {
        admit(req, choiceId, selector).then(() => next(), (error: unknown) => {
          if (error instanceof OtpError) refuse(error, req, res);
          else next(error);
        });
      };
    },
  };
}
