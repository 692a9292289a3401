import type { Request } from 'express';
import type { Locations } from '../config/types.js';
import { authnState } from './session-state.js';

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
}

export function resolveLocations(own: Locations, parent?: ResolvedLocations): ResolvedLocations {
  return {
    success: own.success_location ?? parent?.success ?? '/',
    failure: own.failure_location ?? parent?.failure ?? '/',
    cancel: own.cancel_location ?? parent?.cancel ?? '/',
  };
}

export function standaloneStep(id: string, own: Locations): StepHooks {
  const locations = resolveLocations(own);
  return {
    locations: () => locations,
    async complete(req, exports) {
      const state = authnState(req);
      Object.assign(state.exports, exports);
      if (!state.completed.includes(id)) state.completed.push(id);
      return locations.success;
    },
  };
}
