import express, { type Request, type Router } from 'express';
import type { AppConfig, ChainConfig } from '../config/types.js';
import { csrfToken } from './csrf.js';
import { mountPath } from './mount-path.js';
import { userFromSession, type AuthnUser } from './passport-strategy.js';
import { authnState } from './session-state.js';
import { recordCompletion, resolveLocations, type ResolvedLocations, type StepHooks } from './step.js';

/**
 * Chain: runs its steps in order in one session. Each step completes through the hooks made here: its exports
 * join the session's, and the browser is sent to the next step not yet completed; after the last, the user is
 * logged in (passport, session id renewed, a fresh CSRF token) and sent to the chain's success location.
 * Locations resolve on the way back up: a step's own setting, else the chain's.
 */
interface ChainPlan {
  id: string;
  path: string;
  steps: { id: string; path: string }[];
  locations: ResolvedLocations;
}

export interface Chains {
  /** Hooks for an authenticator that is a step of a chain, or undefined when it stands alone. */
  stepHooks(authenticatorId: string): StepHooks | undefined;
  /** The chains' own routes (GET redirects to the current step). */
  routers(): { path: string; router: Router }[];
}

function login(req: Request, user: AuthnUser): Promise<void> {
  const r = req as Request & { login?: (u: unknown, o: object, cb: (e?: unknown) => void) => void };
  if (typeof r.login !== 'function') return Promise.resolve();
  // keepSessionInfo: passport renews the session id but keeps the flow's data (exports, the report).
  return new Promise((resolve, reject) => r.login!(user, { keepSessionInfo: true }, (e) => (e ? reject(e) : resolve())));
}

export function planChains(config: AppConfig): Chains {
  const byId = new Map(config.authenticators.map((a) => [a.id, a]));
  const plans: ChainPlan[] = config.authenticators.filter((a) => a.canonicalType === 'Chain').map((a) => {
    const c = a.config as unknown as ChainConfig;
    return {
      id: a.id,
      path: mountPath(a),
      steps: c.chain.map((s) => ({ id: s.id, path: mountPath(byId.get(s.id) ?? { id: s.id, config: {} }) })),
      locations: resolveLocations(c),
    };
  });
  const membership = new Map<string, { plan: ChainPlan; index: number }>();
  for (const plan of plans) plan.steps.forEach((s, index) => { if (!membership.has(s.id)) membership.set(s.id, { plan, index }); });

  const nextStep = (req: Request, plan: ChainPlan): { id: string; path: string } | undefined => {
    const done = authnState(req).completed;
    return plan.steps.find((s) => !done.includes(s.id));
  };

  return {
    stepHooks(authenticatorId) {
      const member = membership.get(authenticatorId);
      if (!member) return undefined;
      const own = byId.get(authenticatorId)?.config ?? {};
      const locations = resolveLocations(own, member.plan.locations);
      return {
        locations: () => locations,
        async complete(req, exports) {
          const state = recordCompletion(req, authenticatorId, exports);
          const next = nextStep(req, member.plan);
          if (next) return next.path;
          if (!state.completed.includes(member.plan.id)) state.completed.push(member.plan.id);
          const user = userFromSession(state);
          if (user) {
            await login(req, user);
            csrfToken(req, true);
          }
          return locations.success;
        },
      };
    },
    routers() {
      return plans.map((plan) => {
        const router = express.Router();
        router.get('/', (req, res) => {
          const next = nextStep(req, plan);
          res.redirect(303, next ? next.path : plan.locations.success);
        });
        return { path: plan.path, router };
      });
    },
  };
}
