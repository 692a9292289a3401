/**
 * FlowFail: fails the flow on purpose, usually behind an `exec_if` (a rule an operator writes in
 * config, such as "no codes to numbers outside the Nordics for this step").
 */
import type { ValveFactory } from '../pipes/types.js';
import { FlowReason, failFlow } from '../pipes/reasons.js';

export interface FlowFailConfig {
  reason?: string;
  message?: string;
}

export const flowFailSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    reason: { type: 'string', minLength: 1, maxLength: 100, description: 'Failure reason code (default FLOW FAILED).' },
    message: { type: 'string', maxLength: 1000, description: 'Text carried with the failure.' },
  },
};

export const flowFail: ValveFactory<FlowFailConfig> = (config) => ({
  run() {
    return failFlow(config.reason ?? FlowReason.FLOW_FAILED, config.message);
  },
});
