/**
 * Checks a valve's `config` against the JSON Schema its registration carries. Used when a pipe is
 * built (with references tolerated where they stand) and again per run for config that held
 * references, once they are expanded.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { describeSchemaError } from '../schema-messages.js';

export interface ConfigProblem {
  /** JSON pointer inside the valve's config ("" for the config itself). */
  path: string;
  message: string;
}

// strict: false because host programs bring their own schemas and may use annotation keywords.
// verbose: the error describer needs each failing schema to list the keys a valve accepts.
const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
const compiled = new WeakMap<object, ValidateFunction>();

function validatorFor(schema: Record<string, unknown>): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

/**
 * Problems of `config` against `schema`. With `tolerateReferences`, an error about a string that
 * holds a `${...}` reference is left for the run-time check: its type is only known once expanded.
 */
export function checkValveConfig(
  schema: Record<string, unknown> | undefined,
  config: unknown,
  options: { tolerateReferences?: boolean } = {},
): ConfigProblem[] {
  if (!schema) return [];
  const validate = validatorFor(schema);
  if (validate(config)) return [];
  const problems: ConfigProblem[] = [];
  for (const error of validate.errors ?? []) {
    if (options.tolerateReferences) {
      const value = atPointer(config, error.instancePath);
      if (typeof value === 'string' && value.includes('${')) continue;
    }
    const described = describeSchemaError(error, config);
    if (!described) continue;
    const key = error.params['additionalProperty'];
    const pointer = error.keyword === 'additionalProperties' && typeof key === 'string' ? `${error.instancePath}/${key}` : error.instancePath;
    problems.push({ path: pointer, message: described.message });
  }
  return problems;
}

function atPointer(root: unknown, pointer: string): unknown {
  if (pointer === '') return root;
  let value: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (value === null || typeof value !== 'object' || !Object.prototype.hasOwnProperty.call(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
