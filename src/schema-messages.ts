/**
 * JSON Schema (ajv) errors as sentences a person can act on: what was expected, what was found, at which path.
 * The configuration check and the valve config check (src/pipes/valve-config.ts) word their errors alike.
 */
import type { ErrorObject } from 'ajv';

/** A short, safe rendering of a found value for an error message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return `${typeof value} ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}

/** `/authenticators/2/config/pipe_id` -> `authenticators[2].config.pipe_id` */
export function pointerToPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

function valueAt(data: unknown, pointer: string): unknown {
  let current = data;
  for (const raw of pointer.split('/').slice(1)) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return current;
}

/** The keys of a oneOf whose every branch is one `required` key, or null for any other oneOf. */
function alternativesOf(error: ErrorObject): string[] | null {
  const branches = error.keyword === 'oneOf' ? error.schema : null;
  if (!Array.isArray(branches)) return null;
  const keys = branches.map((b: unknown) => {
    const r = (b as { required?: unknown } | null)?.required;
    return Array.isArray(r) && r.length === 1 && Object.keys(b as object).length === 1 ? String(r[0]) : null;
  });
  return keys.every((k): k is string => k !== null) ? keys : null;
}

/** One ajv error as a sentence a person can act on: what was expected, what was found. */
export function describeSchemaError(error: ErrorObject, data: unknown): { path: string; message: string } | null {
  const found = valueAt(data, error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'if':
      return null; // the failing "then" branch is reported on its own
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const allowed = error.parentSchema && typeof error.parentSchema === 'object'
        ? Object.keys((error.parentSchema as { properties?: object }).properties ?? {}) : [];
      return { path: pointerToPath(`${error.instancePath}/${key}`), message: `unknown key "${key}"${allowed.length ? ` (expected one of: ${allowed.join(', ')})` : ''}` };
    }
    case 'required':
      // A branch of a oneOf of alternatives ("url" or "cluster" or "sentinel"): the oneOf error says it in one line.
      if (/\/oneOf\/\d+\/required$/.test(error.schemaPath)) return null;
      return { path: pointerToPath(error.instancePath), message: `missing required key "${String(params.missingProperty)}"` };
    case 'oneOf': {
      const keys = alternativesOf(error);
      if (!keys) return { path: pointerToPath(error.instancePath), message: `${error.message ?? 'is invalid'} (found ${describeValue(found)})` };
      const given = found !== null && typeof found === 'object' ? keys.filter((k) => Object.hasOwn(found, k)) : [];
      return {
        path: pointerToPath(error.instancePath),
        message: `give exactly one of ${keys.map((k) => `"${k}"`).join(', ')} (${given.length === 0 ? 'none is given' : `found ${given.map((k) => `"${k}"`).join(' and ')}`})`,
      };
    }
    case 'type':
      return { path: pointerToPath(error.instancePath), message: `expected ${String(params.type).replace(/,/g, ' or ')}, found ${describeValue(found)}` };
    case 'enum':
      return { path: pointerToPath(error.instancePath), message: `expected one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, found ${describeValue(found)}` };
    case 'const':
      return { path: pointerToPath(error.instancePath), message: `expected ${JSON.stringify(params.allowedValue)}, found ${describeValue(found)}` };
    case 'minimum': case 'maximum': case 'exclusiveMinimum': case 'exclusiveMaximum':
      return { path: pointerToPath(error.instancePath), message: `expected a number ${String(params.comparison)} ${String(params.limit)}, found ${describeValue(found)}` };
    case 'pattern':
      return { path: pointerToPath(error.instancePath), message: `expected a string matching ${String(params.pattern)}, found ${describeValue(found)}` };
    default:
      return { path: pointerToPath(error.instancePath), message: `${error.message ?? 'is invalid'} (found ${describeValue(found)})` };
  }
}
