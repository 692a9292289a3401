import type { Request } from 'express';
import type { Locations } from '../config/types.js';
import { authnState, type AuthnState } from './session-state.js';

/**
 * How an authenticator talks to whatever mounted it: where the browser goes, and what happens when the step
 * completes. A Chain supplies its own (locations resolved on the way back up, the next step); standing alone,
 * an authenticator uses `standaloneStep`.
 */
export interface ResolvedLocations {
  success: string;
  failure: string;
  cancel: string;
}

export interface StepHooks {
  locations(req: Request): ResolvedLocations;
  /** The step completed with these exports; returns where the browser goes next. */
  complete(req: Request, exports: Record<string, unknown>): Promise<string>;
  /** The user cancelled the step; returns where the browser goes (an optional step of a chain moves on). */
  cancel?(req: Request): Promise<string>;
  /** Where to send a browser that comes back to a step of a login this session already finished; null: run it. */
  finished?(req: Request): string | null;
}

export function resolveLocations(own: Locations, parent?: ResolvedLocations): ResolvedLocations {
  return {
    success: own.success_location ?? parent?.success ?? '/',
    failure: own.failure_location ?? parent?.failure ?? '/',
    cancel: own.cancel_location ?? parent?.cancel ?? '/',
  };
}

/** Hands a completed step's exports to the steps after it and marks it done in this session. */
export function recordCompletion(req: Request, id: string, exports: Record<string, unknown>): AuthnState {
  const state = authnState(req);
  Object.assign(state.exports, exports);
  if (!state.completed.includes(id)) state.completed.push(id);
  return state;
}

export function standaloneStep(id: string, own: Locations): StepHooks {
  const locations = resolveLocations(own);
  return {
    locations: () => locations,
    async complete(req, exports) {
      recordCompletion(req, id, exports);
      return locations.success;
    },
  };
}
