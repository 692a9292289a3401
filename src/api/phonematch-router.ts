import type { Request, Response, Router } from 'express';
import { OtpError } from '../errors.js';
import { sendJson } from '../http/respond.js';
import type { TransactionRecord } from '../transaction/index.js';
import { internationalIn } from '../valves/phone-normalize.js';
import type { ApiKey } from './verify-keys.js';
import type { RequestedChannel, Verifications } from './verifications.js';
import { MESSAGE, NAME, ajv, jsonBody, optionsSchema } from './api-body.js';

/**
 * PhoneMatch's own two calls (IDResponse PhoneMatch SMS and Call), so that an integration written for it moves over
 * by changing its base URL to `<mount>/compat/phonematch`: the initial request sends the code and answers a
 * continuation template with a token; the validation request sends the template back with the user's entry. Both
 * answer `result` objects with the reference's Action/Detail pairs, over the same verifications as the v1 routes.
 * The token is `pm.<key id>.<the v1 id's sealed part>`: bound to its key, unguessable, and readable on v1 as
 * `vf.<sealed part>`. docs/verify-api.md.
 */
const SERVICES: Readonly<Record<string, RequestedChannel>> = { 'PhoneMatch5.0.SMS': 'sms', 'PhoneMatch5.0.Call': 'voice' };
const CONTINUE_URL = '/process/continue';
const INSTRUCTIONS = 'A code has been sent to the number. Send this template back with the code in codematch.key to complete the transaction.';

const CREDENTIALS = { user: { type: 'string', minLength: 1, maxLength: 64 }, pass: { type: 'string', minLength: 1, maxLength: 500 } };
const validateGateway = ajv.compile({
  type: 'object', additionalProperties: false, required: ['user', 'pass', 'service', 'target'],
  properties: {
    ...CREDENTIALS,
    service: { enum: Object.keys(SERVICES) },
    reference: { type: 'string', minLength: 1, maxLength: 100 },
    target: {
      type: 'object', additionalProperties: false, required: ['phone'],
      properties: { fn: NAME, ln: NAME, phone: { type: 'string', minLength: 1, maxLength: 64 } },
    },
    options: {
      type: 'object', additionalProperties: false,
      properties: { outofband: { ...optionsSchema, properties: { ...optionsSchema.properties, message: MESSAGE } } },
    },
  },
});
const validateContinue = ajv.compile({
  type: 'object', additionalProperties: false, required: ['token', 'codematch'],
  properties: {
    ...CREDENTIALS,
    service: { enum: Object.keys(SERVICES) },
    token: { type: 'string', minLength: 1, maxLength: 2000 },
    codematch: { type: 'object', additionalProperties: false, required: ['key'], properties: { key: { type: 'string', minLength: 1, maxLength: 64 } } },
  },
});

interface GatewayBody {
  user: string; pass: string; service: string; reference?: string;
  target: { fn?: string; ln?: string; phone: string };
  options?: { outofband?: { message?: string; do_not_send_to_types?: string[]; country?: { whitelist?: string[]; blacklist?: string[] } } };
}
interface ContinueBody { user?: string; pass?: string; service?: string; token: string; codematch: { key: string } }

/** "2019-01-07 12:35:09", in UTC, as the reference writes its timestamps. */
const timestamp = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

export function phoneMatchRoutes(router: Router, v: Verifications, settings: { default_country?: string }): void {
  const meta = (key: ApiKey, service: string | null, tx: TransactionRecord | null, now: number) => ({
    confirmation: tx?.id ?? null, reference: tx?.reference ?? null, service, timestamp: timestamp(now), user: key.keyId,
  });
  const result = (action: string, detail: string, issues: string[] = []) => ({ action, detail, issues });
  const continuation = (token: string) => ({
    outofband: { url: CONTINUE_URL, template: { token, codematch: { key: null } }, instructions: INSTRUCTIONS },
  });
  const counts = (tx: TransactionRecord, key: ApiKey) => {
    const s = v.summary(tx, key);
    return { outofband: { channel: s.channel, to: s.to, expires_at: s.expires_at, attempt_count: s.attempt_count, attempts_left: s.attempts_left } };
  };

  router.post('/compat/phonematch/process/comprehensive/gateway', async (req: Request, res: Response) => {
    const b = await jsonBody(req, res, validateGateway) as unknown as GatewayBody;
    const key = await v.login(b.user, b.pass, 'verifications:create');
    const oob = b.options?.outofband;
    const phone = settings.default_country ? internationalIn(b.target.phone, settings.default_country) : b.target.phone;
    const created = await v.create(req, key, {
      to: phone,
      channel: SERVICES[b.service]!,
      reference: b.reference,
      target: { ...(b.target.fn ? { fn: b.target.fn } : {}), ...(b.target.ln ? { ln: b.target.ln } : {}) },
      ...(oob?.do_not_send_to_types || oob?.country ? { options: { ...(oob.do_not_send_to_types ? { do_not_send_to_types: oob.do_not_send_to_types } : {}), ...(oob.country ? { country: oob.country } : {}) } } : {}),
      message: oob?.message,
    });
    const now = Date.now();
    if (!created.ok) {
      return sendJson(res, 200, { output: { outofband: {} }, meta: meta(key, b.service, created.tx, now), result: result('FAIL', created.detail) });
    }
    const token = `pm.${key.keyId}.${created.id}`;
    return sendJson(res, 200, {
      output: counts(created.tx, key), meta: meta(key, b.service, created.tx, now),
      result: result('PENDING', 'TRANSACTION REQUIRES FURTHER ATTENTION'), continuations: continuation(token),
    });
  });

  router.post(`/compat/phonematch${CONTINUE_URL}`, async (req: Request, res: Response) => {
    const b = await jsonBody(req, res, validateContinue) as unknown as ContinueBody;
    const match = /^pm\.([A-Za-z0-9_-]{1,64})\.(.+)$/.exec(b.token);
    if (!match) throw new OtpError('NOT_FOUND');
    // The token proves its key (only that key's seal opens it); user and pass, when sent, must name the same key.
    // Opened before the key's budget is spent, so that made-up tokens cannot use up another key's requests.
    const named = v.keyById(match[1]!);
    if (!named) throw new OtpError('NOT_FOUND');
    const sealed = v.open(match[2]!, named);
    const key = b.user !== undefined || b.pass !== undefined
      ? await v.login(b.user, b.pass, 'verifications:check')
      : await v.admit(named, 'verifications:check');
    if (key.keyId !== named.keyId) throw new OtpError('NOT_FOUND');
    const checked = await v.check(req, key, `vf.${match[2]!}`, sealed, b.codematch.key);
    const base = { output: counts(checked.tx, key), meta: meta(key, b.service ?? null, checked.tx, Date.now()) };
    if (checked.status === 'approved') return sendJson(res, 200, { ...base, result: result('PASS', 'ALL CHECKS PASSED') });
    if (checked.status === 'reject') return sendJson(res, 200, { ...base, result: result('FAIL', checked.detail, [checked.error?.code ?? 'INVALID_OTP']) });
    return sendJson(res, 200, {
      ...base, result: result('PENDING', checked.detail, [checked.error?.code ?? 'INVALID_OTP']), continuations: continuation(b.token),
    });
  });
}
