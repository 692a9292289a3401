import express, { type Request, type Router } from 'express';
import type { AppConfig, AuthenticatorEntry, ChainConfig, Locations } from '../config/types.js';
import { csrfToken } from '../http/csrf.js';
import { mountPath } from '../config/mount-path.js';
import { userFromSession, type AuthnUser } from './passport-strategy.js';
import { authnState } from './session-state.js';
import { recordCompletion, resolveLocations, restartFrom, type ResolvedLocations, type StepHooks } from './step.js';

/**
 * Chain: runs its steps in order in one session; a step may itself be a Chain. Each leaf step completes through
 * the hooks made here: its exports join the session's, and the browser goes to the next leaf not yet done; after
 * the last leaf of the outermost chain, the user is logged in (passport, session id renewed, a fresh CSRF token)
 * and sent to the success location. Locations resolve on the way back up: the step's own setting, then each
 * enclosing chain's, innermost first. A step with `required: false` may be skipped: cancelling it moves on to the
 * next step instead of cancelling the login.
 */
interface Leaf {
  id: string;
  path: string;
  required: boolean;
  /** The chains around this leaf, innermost first; the last is the root. */
  chains: string[];
  locations: ResolvedLocations;
}

interface RootPlan {
  id: string;
  path: string;
  leaves: Leaf[];
  locations: ResolvedLocations;
}

/**
 * An integration's say in a login run by a root chain (the OIDC provider's, src/integrations/oidc-provider.ts):
 * after each step, a location to go to instead of the next step (null: carry on); while it is in charge, the
 * failure and cancel locations. The rules of the chain itself stay here.
 */
export interface LoginSteering {
  /** A run of the root chain starts at its own path (the host's login link, or the integration's redirect). */
  onStart?(req: Request, rootId: string): void;
  afterStep?(req: Request, rootId: string): Promise<string | null>;
  locations?(req: Request, rootId: string): Partial<Omit<ResolvedLocations, 'success'>> | null;
}

export interface Chains {
  /** Hooks for an authenticator that is a step of a chain, or undefined when it stands alone. */
  stepHooks(authenticatorId: string): StepHooks | undefined;
  /** Every chain's own route: GET redirects to the current step. */
  routers(): { path: string; router: Router }[];
  /** A root chain's path and its leaves (steps, nested chains opened) in order; undefined for another id. */
  root(chainId: string): { path: string; leaves: string[] } | undefined;
  steer(steering: LoginSteering): void;
}

function login(req: Request, user: AuthnUser): Promise<void> {
  const r = req as Request & { login?: (u: unknown, o: object, cb: (e?: unknown) => void) => void };
  if (typeof r.login !== 'function') return Promise.resolve();
  // keepSessionInfo: passport renews the session id but keeps the flow's data (exports, the report).
  return new Promise((resolve, reject) => r.login!(user, { keepSessionInfo: true }, (e) => (e ? reject(e) : resolve())));
}

function chainConfig(entry: AuthenticatorEntry | undefined): ChainConfig | undefined {
  return entry?.canonicalType === 'Chain' ? (entry.config as unknown as ChainConfig) : undefined;
}

export function planChains(config: AppConfig): Chains {
  const byId = new Map(config.authenticators.map((a) => [a.id, a]));
  const chainIds = config.authenticators.filter((a) => a.canonicalType === 'Chain').map((a) => a.id);
  const nested = new Set(chainIds.flatMap((id) => chainConfig(byId.get(id))?.chain.map((s) => s.id) ?? []));

  /** The leaves of a chain in order; `trail` is the chains around them so far (innermost first). */
  const leavesOf = (chainId: string, trail: string[], required: boolean): Leaf[] => {
    const c = chainConfig(byId.get(chainId));
    if (!c || trail.includes(chainId)) return []; // a cycle is refused by the config check; never loop here
    const around = [chainId, ...trail];
    return c.chain.flatMap((step) => {
      const entry = byId.get(step.id);
      const stepRequired = required && step.required !== false;
      if (chainConfig(entry)) return leavesOf(step.id, around, stepRequired);
      const locations = around.reduceRight<ResolvedLocations | undefined>(
        (parent, id) => resolveLocations((byId.get(id)?.config ?? {}) as Locations, parent), undefined);
      return [{ id: step.id, path: mountPath(entry ?? { id: step.id, config: {} }), required: stepRequired, chains: around,
        locations: resolveLocations((entry?.config ?? {}) as Locations, locations) }];
    });
  };

  const roots: RootPlan[] = chainIds.filter((id) => !nested.has(id)).map((id) => {
    const entry = byId.get(id)!;
    return { id, path: mountPath(entry), leaves: leavesOf(id, [], true), locations: resolveLocations(entry.config as Locations) };
  });
  const leafOf = new Map<string, { root: RootPlan; leaf: Leaf }>();
  for (const root of roots) for (const leaf of root.leaves) if (!leafOf.has(leaf.id)) leafOf.set(leaf.id, { root, leaf });

  const steering: LoginSteering[] = [];
  const steered = (req: Request, rootId: string, locations: ResolvedLocations): ResolvedLocations => {
    for (const s of steering) {
      const over = s.locations?.(req, rootId);
      if (over) return { ...locations, ...over };
    }
    return locations;
  };

  const nextLeaf = (req: Request, leaves: Leaf[]): Leaf | undefined => {
    const done = authnState(req).completed;
    return leaves.find((l) => !done.includes(l.id));
  };

  /** Marks the step done, then every chain whose leaves are all done; returns where the browser goes. */
  const advance = async (req: Request, root: RootPlan, leaf: Leaf, exports: Record<string, unknown>, skipped = false): Promise<string> => {
    const current = authnState(req);
    if (current.completed.includes(leaf.id)) {
      const at = root.leaves.indexOf(leaf);
      const again = root.leaves.slice(at).map((l) => l.id);
      restartFrom(current, root.leaves.slice(0, at).map((l) => l.id), [...again, ...leaf.chains]);
      current.skipped = (current.skipped ?? []).filter((id) => !again.includes(id));
      for (const id of again) delete current.passed_at?.[id];
    }
    const state = recordCompletion(req, leaf.id, exports);
    // A skipped optional step is done for the order of the chain, not passed: nothing may count it as a factor.
    if (skipped) state.skipped = [...new Set([...(state.skipped ?? []), leaf.id])];
    else {
      state.skipped = (state.skipped ?? []).filter((id) => id !== leaf.id);
      (state.passed_at ??= {})[leaf.id] = Date.now();
    }
    for (const chainId of leaf.chains) {
      const leaves = chainId === root.id ? root.leaves : root.leaves.filter((l) => l.chains.includes(chainId));
      if (!nextLeaf(req, leaves) && !state.completed.includes(chainId)) state.completed.push(chainId);
    }
    const next = nextLeaf(req, root.leaves);
    if (!next) {
      const user = userFromSession(state);
      state.login_exports = structuredClone(state.exports);
      if (user) {
        await login(req, user);
        csrfToken(req, true);
      }
    }
    for (const s of steering) {
      const location = await s.afterStep?.(req, root.id);
      if (location) return location;
    }
    return next ? next.path : leaf.locations.success;
  };

  return {
    stepHooks(authenticatorId) {
      const member = leafOf.get(authenticatorId);
      if (!member) return undefined;
      const { root, leaf } = member;
      return {
        locations: (req) => steered(req, root.id, leaf.locations),
        complete: (req, exports) => advance(req, root, leaf, exports),
        async cancel(req) {
          return leaf.required ? steered(req, root.id, leaf.locations).cancel : advance(req, root, leaf, {}, true);
        },
        // Once the whole chain is done (the user is logged in), its steps do not run again in this session:
        // a reload of the OTP step after login must not send another code.
        finished: (req) => (authnState(req).completed.includes(root.id) ? root.locations.success : null),
        next: (req) => nextLeaf(req, root.leaves)?.path ?? leaf.locations.success,
      };
    },
    root(chainId) {
      const r = roots.find((x) => x.id === chainId);
      return r ? { path: r.path, leaves: r.leaves.map((l) => l.id) } : undefined;
    },
    steer: (s) => void steering.push(s),
    routers() {
      return chainIds.map((id) => {
        const entry = byId.get(id)!;
        const root = roots.find((r) => r.id === id);
        const leaves = root?.leaves ?? roots.flatMap((r) => r.leaves.filter((l) => l.chains.includes(id)));
        const success = root?.locations.success ?? leaves[leaves.length - 1]?.locations.success ?? '/';
        const router = express.Router();
        router.get('/', (req, res) => {
          if (root) for (const s of steering) s.onStart?.(req, root.id);
          const next = nextLeaf(req, leaves);
          res.redirect(303, next ? next.path : success);
        });
        return { path: mountPath(entry), router };
      });
    },
  };
}
