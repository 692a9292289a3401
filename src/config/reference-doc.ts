import { configSchema } from './schema.js';

/**
 * Renders the configuration reference tables from the JSON Schema, so docs/configuration.md cannot drift
 * from what the validator accepts (a test compares them; `npm run docs` rewrites the file's generated part).
 */
type Schema = Record<string, unknown> & {
  $ref?: string; type?: string | string[]; enum?: unknown[]; properties?: Record<string, Schema>;
  items?: Schema; default?: unknown; description?: string; minimum?: number; maximum?: number; pattern?: string; required?: string[];
};

const defs = (configSchema.$defs ?? {}) as Record<string, Schema>;

function resolve(schema: Schema): Schema {
  if (schema.$ref?.startsWith('#/$defs/')) {
    const target = defs[schema.$ref.slice('#/$defs/'.length)] ?? {};
    return { ...resolve(target), ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$ref')) };
  }
  return schema;
}

function typeOf(schema: Schema): string {
  if (schema.enum) return schema.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' | ');
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : schema.type ?? 'any';
  if (type === 'array' && schema.items) return `array of ${typeOf(resolve(schema.items))}`;
  const range = schema.minimum !== undefined || schema.maximum !== undefined ? ` (${schema.minimum ?? ''}..${schema.maximum ?? ''})` : '';
  return `${type}${range}`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function rows(schema: Schema, prefix: string, out: string[]): void {
  const required = new Set(schema.required ?? []);
  for (const [key, raw] of Object.entries(schema.properties ?? {})) {
    const child = resolve(raw);
    const name = `${prefix}${key}`;
    const isObject = child.type === 'object' && child.properties;
    const def = child.default === undefined ? (required.has(key) ? 'required' : '') : `\`${JSON.stringify(child.default)}\``;
    if (!isObject || Object.keys(child.properties ?? {}).length === 0) {
      out.push(`| \`${name}\` | ${cell(typeOf(child))} | ${def} | ${cell(child.description ?? '')} |`);
    }
    if (isObject) rows(child, `${name}.`, out);
  }
}

function table(title: string, schema: Schema, prefix = ''): string {
  const out = [`### ${title}`, '', '| key | type | default | meaning |', '| --- | --- | --- | --- |'];
  rows(schema, prefix, out);
  return out.join('\n');
}

export function renderConfigReference(): string {
  const top = { ...configSchema, properties: Object.fromEntries(Object.entries(configSchema.properties as Record<string, Schema>).filter(([k]) => !['pipes', 'authenticators'].includes(k))) } as Schema;
  return [
    table('Top level', top),
    table('A pipe (`pipes[]`)', defs.pipe ?? {}),
    table('A valve (`pipes[].valves[]`)', defs.valve ?? {}),
    table('An authenticator (`authenticators[]`)', defs.authenticator ?? {}),
    table('`OTP` (aliases `OTPAuthenticator`, `OTPValidator`): `config`', defs.otpConfig ?? {}),
    table('`Chain`: `config`', defs.chainConfig ?? {}),
    table('`Selector`: `config`', defs.selectorConfig ?? {}),
    table('`TotpEnroll`: `config`', defs.totpEnrollConfig ?? {}),
    table('`RecoveryCodes`: `config`', defs.recoveryCodesConfig ?? {}),
    table('`UserNameAndPassword`: `config`', defs.passwordConfig ?? {}),
    table('An OpenID Connect client (`oidc.clients[]`)', defs.oidcClient ?? {}),
    table('A verification API key (`verify_api.keys[]`)', defs.verifyApiKey ?? {}),
  ].join('\n\n');
}

export const GENERATED_START = '<!-- generated from config/config.schema.json by `npm run docs`: do not edit by hand -->';
export const GENERATED_END = '<!-- end of generated reference -->';

/** Replaces the generated part of a document with the current reference. */
export function withCurrentReference(doc: string): string {
  const start = doc.indexOf(GENERATED_START);
  const end = doc.indexOf(GENERATED_END);
  if (start < 0 || end < start) throw new Error('the document has no generated-reference markers');
  return `${doc.slice(0, start + GENERATED_START.length)}\n\n${renderConfigReference()}\n\n${doc.slice(end)}`;
}
