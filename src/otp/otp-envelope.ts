import { Ajv } from 'ajv';
import { OtpError } from '../errors.js';

/**
 * The request types of the OTP API and the exact shape of each `data`. Anything else is BAD_REQUEST (400):
 * an unknown type, an extra field, a wrong type.
 */
export type OtpRequestBody =
  | { type: 'init' | 'resend' | 'cancel' | 'status' }
  | { type: 'start'; data: { otp: string; trust_device?: boolean } }
  | { type: 'change_destination'; data: { destination: string } };

const empty = { type: 'object', additionalProperties: false, maxProperties: 0 };
const schema = {
  type: 'object',
  required: ['type'],
  additionalProperties: false,
  properties: { type: { enum: ['init', 'start', 'resend', 'change_destination', 'cancel', 'status'] }, data: { type: 'object' } },
  allOf: [
    { if: { properties: { type: { const: 'start' } } }, then: { required: ['data'], properties: { data: { type: 'object', required: ['otp'], additionalProperties: false, properties: { otp: { type: 'string', minLength: 1, maxLength: 64 }, trust_device: { type: 'boolean' } } } } } },
    { if: { properties: { type: { const: 'change_destination' } } }, then: { required: ['data'], properties: { data: { type: 'object', required: ['destination'], additionalProperties: false, properties: { destination: { type: 'string', minLength: 1, maxLength: 320 } } } } } },
    { if: { properties: { type: { enum: ['init', 'resend', 'cancel', 'status'] } } }, then: { properties: { data: empty } } },
  ],
};

const validate = new Ajv({ strict: false }).compile(schema);

export function parseOtpBody(body: unknown): OtpRequestBody {
  if (!validate(body)) throw new OtpError('BAD_REQUEST');
  return body as OtpRequestBody;
}

/** The no-JavaScript form: `otp`, or `action` = resend | cancel | change_destination (with `destination`). */
export function parseOtpForm(body: unknown): OtpRequestBody {
  const form = (body ?? {}) as Record<string, unknown>;
  const action = form.action;
  if (action === undefined || action === 'start') {
    if (typeof form.otp !== 'string' || form.otp.length === 0 || form.otp.length > 64) throw new OtpError('BAD_REQUEST');
    return { type: 'start', data: { otp: form.otp, ...(form.trust_device === 'on' ? { trust_device: true } : {}) } };
  }
  if (action === 'resend' || action === 'cancel') return { type: action };
  if (action === 'change_destination' && typeof form.destination === 'string' && form.destination.length > 0 && form.destination.length <= 320) {
    return { type: 'change_destination', data: { destination: form.destination } };
  }
  throw new OtpError('BAD_REQUEST');
}
