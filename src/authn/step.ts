import type { Request } from 'express';
import type { Locations } from '../config/types.js';
import { expandString } from '../pipes/expand.js';
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
  /** Where a completed step sends the browser now: the next step not yet done, else the success location. */
  next?(req: Request): string;
  /** A choice of a Selector: its "Try another way" link (the selector's list of choices). */
  chooseLocation?(req: Request): string;
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
  (state.step_exports ??= {})[id] = exports;
  Object.assign(state.exports, exports);
  if (!state.completed.includes(id)) state.completed.push(id);
  return state;
}

/**
 * A step of a chain runs again (another user at the password step, say): it and every step after it must be done
 * again, and only what the steps before it exported survives, so nothing of the earlier user leaks into the next
 * and no later step counts as passed for the new one.
 */
export function restartFrom(state: AuthnState, before: readonly string[], from: readonly string[]): void {
  state.completed = state.completed.filter((id) => !from.includes(id));
  // A selector run again starts over: its choice, switches and the choices tried were the earlier user's.
  for (const id of from) if (state.selectors?.[id]) delete state.selectors[id];
  const kept = state.step_exports ?? {};
  state.exports = {};
  state.step_exports = {};
  for (const id of before) {
    const exported = kept[id];
    if (exported && state.completed.includes(id)) {
      state.step_exports[id] = exported;
      Object.assign(state.exports, exported);
    }
  }
}

/**
 * Whether this session passed a factor for the subject `subjectOf` names now: a login finished in it, and the
 * same expression over the exports of that login names the same subject (another user's password entered after it
 * does not count).
 */
export function passedFactorFor(state: AuthnState, subjectOf: (exports: Record<string, unknown>) => string): boolean {
  const then = state.login_exports;
  if (!then) return false;
  const subject = subjectOf(state.exports);
  return subject !== '' && subjectOf(then) === subject;
}

/** A step's `subject` setting (`${exports.username}`) over some exports, trimmed; '' when it names nobody. */
export function subjectIn(template: string, exports: Record<string, unknown>): string {
  const value = expandString(template, { exports } as unknown as Parameters<typeof expandString>[1]);
  return typeof value === 'string' ? value.trim() : '';
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
