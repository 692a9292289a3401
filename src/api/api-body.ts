import type { Request, Response } from 'express';
import { Ajv } from 'ajv';
import { OtpError } from '../errors.js';
import { readBody } from '../http/body.js';
import { LINE_TYPE_WORDS } from '../valves/phone-policy.js';

/** What the verification API's two faces (v1, PhoneMatch) read their bodies with. */
const COUNTRY = { type: 'string', pattern: '^[A-Z]{2}$' };
export const optionsSchema = {
  type: 'object', additionalProperties: false,
  properties: {
    do_not_send_to_types: { type: 'array', maxItems: 20, uniqueItems: true, items: { enum: [...LINE_TYPE_WORDS] } },
    country: { type: 'object', additionalProperties: false, properties: { whitelist: { type: 'array', maxItems: 300, items: COUNTRY }, blacklist: { type: 'array', maxItems: 300, items: COUNTRY } } },
  },
};
export const NAME = { type: 'string', maxLength: 100 };
export const MESSAGE = { type: 'string', minLength: 1, maxLength: 320 };

export const ajv = new Ajv({ strict: false });

/** The JSON body, checked against a schema; BAD_REQUEST (413, 415 for its size or type) when it is not one. */
export async function jsonBody(req: Request, res: Response, validate: (b: unknown) => boolean): Promise<Record<string, unknown>> {
  const { body: parsed } = await readBody(req, res, false);
  const value = parsed ?? {};
  if (!validate(value)) throw new OtpError('BAD_REQUEST');
  return value as Record<string, unknown>;
}

