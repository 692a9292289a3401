/**
 * ExportsPut: puts values into `exports`, for later authenticators (`${exports.name}`). Values are
 * expanded against the flow before the valve runs, so `"value": "${state.destination.address}"`
 * exports the normalised number.
 */
import type { ValveFactory } from '../pipes/types.js';
import { isForbiddenKey } from '../pipes/plain-data.js';

export interface ExportsPutConfig {
  name?: string;
  value?: unknown;
  values?: Record<string, unknown>;
}

const NAME = { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', not: { enum: ['__proto__', 'constructor', 'prototype'] } };

export const exportsPutSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: NAME,
    value: { description: 'Any JSON value; "${...}" references are expanded per run.' },
    values: { type: 'object', propertyNames: NAME, description: 'Several names and values at once.' },
  },
  oneOf: [{ required: ['name'] }, { required: ['values'] }],
};

export const exportsPut: ValveFactory<ExportsPutConfig> = (config) => ({
  run(ctx) {
    const entries: Array<[string, unknown]> =
      config.values !== undefined ? Object.entries(config.values) : [[config.name ?? '', config.value]];
    for (const [name, value] of entries) {
      if (name === '' || isForbiddenKey(name)) throw new Error(`ExportsPut: refused export name "${name}"`);
      // defineProperty, not assignment: no name can reach a setter or a prototype.
      Object.defineProperty(ctx.exports, name, { value, enumerable: true, writable: true, configurable: true });
    }
    return undefined;
  },
});
