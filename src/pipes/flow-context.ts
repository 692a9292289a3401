/**
 * Builds a FlowContext with empty defaults for what a caller does not have, so authenticators, host
 * programs and tests start flows the same way.
 */
import { randomUUID } from 'node:crypto';
import type { FlowContext, FlowHooks, FlowRequest, OtpFlowState } from './types.js';

export interface FlowContextInit {
  id?: string;
  request?: Partial<FlowRequest>;
  authenticator?: FlowContext['authenticator'];
  session?: Record<string, unknown>;
  exports?: Record<string, unknown>;
  state?: OtpFlowState;
  items?: unknown[];
  hooks?: FlowHooks;
}

export function createFlowContext(init: FlowContextInit = {}): FlowContext {
  const request: FlowRequest = {
    ip: '',
    method: 'GET',
    path: '/',
    host: '',
    protocol: 'http',
    language: 'en',
    headers: {},
    query: {},
    body: {},
    ...init.request,
  };
  return {
    id: init.id ?? randomUUID(),
    request,
    authenticator: init.authenticator ?? { id: 'flow', type: 'none' },
    session: init.session ?? {},
    exports: init.exports ?? {},
    state: init.state ?? {},
    items: init.items ?? [],
    ...(init.hooks ? { hooks: init.hooks } : {}),
  };
}
