import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { packagePath } from '../package-root.js';

/** The published schema (config/config.schema.json) compiled once; it is also where every default lives. */
export const SCHEMA_FILE = packagePath('config', 'config.schema.json');

export const configSchema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as Record<string, unknown>;

/** An ajv that fills in schema defaults, so validated data carries every default. */
export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, useDefaults: true, strict: true, strictRequired: false, allowUnionTypes: true, verbose: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  return ajv;
}

let compiled: ValidateFunction | undefined;

export function configValidator(): ValidateFunction {
  compiled ??= createAjv().compile(configSchema);
  return compiled;
}
