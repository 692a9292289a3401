import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Router } from 'express';
import request from 'supertest';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { Validator } from '@seriousme/openapi-schema-validator';
import { StoreUnavailableError } from '../../src/errors.js';
import { OPENAPI_FILE } from '../../src/api/openapi.js';
import { demoHarness } from '../support/demo-harness.js';
import { demoVariant } from '../support/demo-variant.js';

/**
 * The verification API's OpenAPI 3.1 document (src/api/openapi.json, served at /api/verify/openapi.json) against
 * the router: the document is a valid OpenAPI 3.1 document; every real answer of every route, driven through the
 * demo (and a variant of it for scopes and a failing gateway), matches the document's schema and required headers
 * for that operation and status; every operation of the document is exercised and every route of the router is in
 * the document; each operation's security role is the scope the router asks for; and the request schemas accept
 * and refuse what the router does. PhoneMatch's two calls (/compat/phonematch/process/...) take no bearer key: they
 * declare `security: []` and, as `x-key-scope`, the scope the router asks of the key their body (gateway) or token
 * (continue) names; they are driven without an Authorization header, and that scope is checked the same way.
 */
type Json = Record<string, any>;
type Method = 'get' | 'post';

const doc = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as Json;
const DOC_ID = 'https://otp-authenticator.invalid/openapi.json';
const BASE = '/api/verify';
const AUTH = 'Bearer demo.demo-secret';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const GATEWAY = '/compat/phonematch/process/comprehensive/gateway';
const CONTINUE = '/compat/phonematch/process/continue';
/** PhoneMatch's initial request with the demo key, as the reference writes it. */
const pmBody = (over: Json = {}): Json => ({
  user: 'demo', pass: 'demo-secret', service: 'PhoneMatch5.0.SMS', reference: 'pm-ref',
  target: { fn: 'John', ln: 'Smith', phone: '2015550100' },
  ...over,
});
/** The newest code the outbox file has for a destination. */
function lastCodeIn(outbox: string, to: string): string {
  const lines = readFileSync(outbox, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { to: string; text: string; channel: string }).filter((m) => m.to === to);
  return /\b(\d{6})\b/.exec(lines.at(-1)?.text ?? '')?.[1] ?? '';
}
function lastMessageIn(outbox: string, to: string): { to: string; text: string; channel: string } | undefined {
  return readFileSync(outbox, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { to: string; text: string; channel: string }).filter((m) => m.to === to).at(-1);
}

const escape = (part: string) => part.replace(/~/g, '~0').replace(/\//g, '~1');
const unescape = (part: string) => part.replace(/~1/g, '/').replace(/~0/g, '~');

/** The value at a local JSON pointer (`#/components/...`) of the document; throws when there is none. */
function at(pointer: string): any {
  assert.ok(pointer.startsWith('#/'), `a local reference: ${pointer}`);
  let value: any = doc;
  for (const part of pointer.slice(2).split('/').map(unescape)) {
    value = value?.[part];
    assert.ok(value !== undefined, `${pointer} resolves in the document`);
  }
  return value;
}

/** A Reference Object followed to what it names, with the pointer of where that is. */
function deref(value: any, pointer: string): { value: any; pointer: string } {
  while (value && typeof value.$ref === 'string') {
    pointer = value.$ref;
    value = at(pointer);
  }
  return { value, pointer };
}

/** Every operation of the document: `post /v1/verifications`, ... */
function operations(): { method: Method; path: string; op: Json }[] {
  const out: { method: Method; path: string; op: Json }[] = [];
  for (const [path, item] of Object.entries(doc.paths as Json)) {
    for (const method of METHODS) if ((item as Json)[method]) out.push({ method: method as Method, path, op: (item as Json)[method] });
  }
  return out;
}

/**
 * Schemas compiled from the document itself, with its components: the whole document is one Ajv 2020 schema
 * (its OpenAPI fields declared as keywords without meaning, so strict mode still refuses a misspelt schema
 * keyword), and a response's schema is compiled as a $ref to where it sits in it.
 */
const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true, allowUnionTypes: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
ajv.addVocabulary(['openapi', 'info', 'jsonSchemaDialect', 'servers', 'paths', 'webhooks', 'components', 'security', 'tags', 'externalDocs']);
ajv.addSchema(doc, DOC_ID);
const compiled = new Map<string, ValidateFunction>();
function validatorAt(pointer: string): ValidateFunction {
  let v = compiled.get(pointer);
  if (!v) compiled.set(pointer, (v = ajv.compile({ $ref: `${DOC_ID}${pointer}` })));
  return v;
}

const describeErrors = (v: ValidateFunction) => JSON.stringify(v.errors?.map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`));

/** (method path) of every operation a test answer was checked against, and (method path status) seen. */
const exercised = new Set<string>();
const statuses = new Set<string>();

/**
 * Holds a real answer to the document: the operation lists its status, its body matches that response's
 * application/json schema, and every header the response requires is there and matches its schema.
 */
function conforms(res: request.Response, method: Method, path: string): request.Response {
  const label = `${method.toUpperCase()} ${path} -> ${res.status}`;
  const op = doc.paths[path]?.[method] as Json | undefined;
  assert.ok(op, `${method.toUpperCase()} ${path} is in the document`);
  const base = `#/paths/${escape(path)}/${method}/responses/${res.status}`;
  assert.ok(op.responses[String(res.status)], `${label}: the document lists this status (answer: ${res.text.slice(0, 300)})`);
  const { value: response, pointer } = deref(op.responses[String(res.status)], base);
  const media = response.content?.['application/json'];
  assert.ok(media?.schema, `${label}: the response has an application/json schema`);
  assert.match(String(res.headers['content-type']), /^application\/json\b/, `${label}: answered JSON`);
  const validate = validatorAt(`${pointer}/content/application~1json/schema`);
  assert.ok(validate(res.body), `${label}: the body matches the document: ${describeErrors(validate)}\n${res.text.slice(0, 800)}`);
  for (const [name, header] of Object.entries((response.headers ?? {}) as Json)) {
    const h = deref(header, `${pointer}/headers/${escape(name)}`);
    const actual = res.headers[name.toLowerCase()] as string | undefined;
    if (actual === undefined) {
      assert.ok(!h.value.required, `${label}: the required header ${name} is there`);
      continue;
    }
    const schema = h.value.schema as Json;
    const value = schema.type === 'integer' && /^-?\d+$/.test(actual) ? Number(actual) : actual;
    const v = validatorAt(`${h.pointer}/schema`);
    assert.ok(v(value), `${label}: header ${name}: ${JSON.stringify(actual)} matches the document: ${describeErrors(v)}`);
  }
  exercised.add(`${method} ${path}`);
  statuses.add(`${method} ${path} ${res.status}`);
  return res;
}

/** A request's body checked against the operation's request schema in the document. */
function requestValid(method: Method, path: string, body: unknown): boolean {
  const op = doc.paths[path][method] as Json;
  const { value, pointer } = deref(op.requestBody, `#/paths/${escape(path)}/${method}/requestBody`);
  assert.ok(value.required && value.content['application/json'], `${method} ${path}: a JSON body is required`);
  return validatorAt(`${pointer}/content/application~1json/schema`)(body);
}

/** Every route of an Express 5 router, nested routers included, as `METHOD /path/{param}`. */
function routesOf(router: Router, prefix = ''): string[] {
  const out: string[] = [];
  for (const layer of (router as unknown as { stack: any[] }).stack) {
    if (layer.route) {
      const path = `${prefix}${String(layer.route.path)}`.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      for (const [method, on] of Object.entries(layer.route.methods as Record<string, boolean>)) {
        if (on && method !== '_all') out.push(`${method.toUpperCase()} ${path}`);
      }
    } else if (layer.handle?.stack) {
      out.push(...routesOf(layer.handle as Router, prefix));
    }
  }
  return out;
}

describe('verification API: the OpenAPI 3.1 document (src/api/openapi.json) holds for the real answers', () => {
  let demo: Awaited<ReturnType<typeof demoHarness>>;
  let variant: Awaited<ReturnType<typeof demoVariant>>;
  /** The demo with api-otp's pre-pipe delivering by SmsSend only: no voice, no e-mail. */
  let smsOnly: Awaited<ReturnType<typeof demoVariant>>;
  const SECRETS = { reader: 'reader-secret', checker: 'checker-secret', creator: 'creator-secret' } as const;
  const SCOPES = { reader: 'verifications:read', checker: 'verifications:check', creator: 'verifications:create' } as const;

  before(async () => {
    demo = await demoHarness();
    variant = await demoVariant((config) => {
      // Keys of one scope each: `reader` is the key without the create and check scopes.
      for (const [keyId, scope] of Object.entries(SCOPES)) {
        config.verify_api.keys.push({ key_id: keyId, secret: SECRETS[keyId as keyof typeof SECRETS], authenticator: 'api-otp', scopes: [scope] });
      }
      // A gateway that fails for one number: DELIVERY_FAILED (502).
      const send = (config.pipes as Json[]).find((p) => p.id === 'otp-send')!;
      send.valves.splice(send.valves.findIndex((v: Json) => v.name === 'Outbox'), 0, { name: 'FlowFail', exec_if: "state.destination_input == '+46700000502'" });
      // A key of both PhoneMatch scopes with a budget of 3 requests a minute (429 on the compat routes).
      config.verify_api.keys.push({ key_id: 'tiny', secret: 'tiny-secret', authenticator: 'api-otp', scopes: ['verifications:create', 'verifications:check'], requests_per_minute: 3 });
      // The request-schema probes below send codes from one address.
      const api = (config.authenticators as Json[]).find((a) => a.id === 'api-otp')!;
      api.config.rate_limits = { sends_per_ip_per_hour: 1000, sends_per_destination_per_minute: 100 };
    });
    smsOnly = await demoVariant((config) => {
      config.pipes.push({ id: 'sms-only', valves: [{ name: 'PhoneNormalize', config: { default_country: 'SE' } }, { name: 'OtpGenerate' }, { name: 'SmsSend', config: { url: 'http://127.0.0.1:9/sms' } }] });
      (config.authenticators as Json[]).find((a) => a.id === 'api-otp')!.config.pre_pipe_id = 'sms-only';
    });
  });
  after(async () => {
    delete process.env.OUTBOX_FILE;
    await demo.authn.close();
    await variant.authn.close();
    await smsOnly.authn.close();
  });

  const url = (path: string, id = '') => `${BASE}${path.replace('{id}', encodeURIComponent(id))}`;
  const call = (app: unknown, method: Method, path: string, options: { id?: string; body?: unknown; auth?: string | null } = {}) => {
    let req = request(app as Parameters<typeof request>[0])[method](url(path, options.id));
    const auth = options.auth === undefined ? AUTH : options.auth;
    if (auth !== null) req = req.set('Authorization', auth);
    return method === 'post' ? req.send((options.body ?? {}) as object) : req;
  };
  /** A call to the demo, held to the document. */
  const api = async (method: Method, path: string, options: { id?: string; body?: unknown; auth?: string | null } = {}) => conforms(await call(demo.app, method, path, options), method, path);
  const create = (body: Json) => api('post', '/v1/verifications', { body });
  /** A PhoneMatch call (no Authorization header), held to the document. */
  const compat = async (app: unknown, path: typeof GATEWAY | typeof CONTINUE, body: unknown) => conforms(await call(app, 'post', path, { body, auth: null }), 'post', path);

  it('is a valid OpenAPI 3.1.0 document (@seriousme/openapi-schema-validator), every $ref resolves, every schema compiles strictly', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    assert.ok(result.valid, JSON.stringify(result.errors, null, 2));
    assert.equal(validator.version, '3.1');
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(doc.servers, [{ url: '/api/verify', description: doc.servers[0].description }]);
    assert.doesNotThrow(() => validator.resolveRefs());
    const refs: string[] = [];
    (function walk(v: unknown) {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (k === '$ref' && typeof x === 'string' ? refs.push(x) : walk(x));
    })(doc);
    assert.ok(refs.length > 20);
    for (const ref of refs) at(ref);
    for (const name of Object.keys(doc.components.schemas)) validatorAt(`#/components/schemas/${name}`);
    const scheme = doc.components.securitySchemes.apiKey;
    assert.deepEqual([scheme.type, scheme.scheme], ['http', 'bearer']);
  });

  it('lists every route of the router, and the router has every operation of the document', () => {
    const routes = new Set(routesOf(demo.authn.verifyApi!));
    const documented = new Set(operations().map(({ method, path }) => `${method.toUpperCase()} ${path}`));
    assert.ok(routes.size >= 7, [...routes].join(', '));
    assert.deepEqual([...routes].filter((r) => !documented.has(r)), [], 'routes missing from the document');
    assert.deepEqual([...documented].filter((r) => !routes.has(r)), [], 'operations the router does not have');
  });

  it('GET /openapi.json answers the file, without a key', async () => {
    const res = await api('get', '/openapi.json', { auth: null });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, doc);
    assert.equal(res.text, readFileSync(OPENAPI_FILE, 'utf8'));
  });

  it('create (201, Location), the right code (200 PASS), again (409), the report (200), cancel after approval (409)', async () => {
    const made = await create({ to: '070 123 45 01', reference: 'ref-1', subject: 'openapi-user', channel: 'sms', locale: 'sv', target: { fn: 'Ada', ln: 'L' } });
    assert.equal(made.status, 201);
    assert.equal(made.headers.location, `${BASE}/v1/verifications/${made.body.id}`);
    const code = demo.lastCode('+46701234501');
    assert.match(code, /^\d{6}$/);
    const ok = await api('post', '/v1/verifications/{id}/check', { id: made.body.id, body: { code } });
    assert.deepEqual([ok.status, ok.body.action, ok.body.error], [200, 'PASS', undefined]);
    assert.equal((await api('post', '/v1/verifications/{id}/check', { id: made.body.id, body: { code } })).status, 409);
    const report = await api('get', '/v1/verifications/{id}', { id: made.body.id });
    assert.deepEqual([report.status, report.body.status, report.body.reference], [200, 'approved', 'ref-1']);
    assert.equal((await api('post', '/v1/verifications/{id}/cancel', { id: made.body.id })).status, 409);
  });

  it('wrong codes (200 INVALID_OTP), the last attempt and after (200 MAX_ATTEMPTS, reject), then the subject is locked (423, Retry-After)', async () => {
    const made = await create({ to: '+46701234502', subject: 'openapi-locked' });
    assert.equal(made.status, 201);
    const wrong = demo.lastCode('+46701234502') === '000000' ? '111111' : '000000';
    const check = () => api('post', '/v1/verifications/{id}/check', { id: made.body.id, body: { code: wrong } });
    const first = await check();
    assert.deepEqual([first.status, first.body.status, first.body.error.code], [200, 'pending', 'INVALID_OTP']);
    await check();
    const last = await check();
    assert.deepEqual([last.status, last.body.status, last.body.error.code, last.body.aborted], [200, 'reject', 'MAX_ATTEMPTS', true]);
    const after = await check();
    assert.deepEqual([after.status, after.body.error.code], [200, 'MAX_ATTEMPTS']);
    const locked = await create({ to: '+46701234503', subject: 'openapi-locked' });
    assert.equal(locked.status, 423);
    assert.equal(locked.body.error.code, 'LOCKED');
    const report = await api('get', '/v1/verifications/{id}', { id: made.body.id });
    assert.deepEqual([report.body.status, report.body.detail], ['reject', 'FAILED OUT-OF-BAND CHECK']);
  });

  it('checks in parallel: every answer is one the document has (a check not evaluated while others are in flight too)', async () => {
    const made = await create({ to: '+46701234520' });
    const wrong = demo.lastCode('+46701234520') === '000000' ? '111111' : '000000';
    const all = await Promise.all(Array.from({ length: 8 }, () => call(demo.app, 'post', '/v1/verifications/{id}/check', { id: made.body.id, body: { code: wrong } })));
    for (const res of all) conforms(res, 'post', '/v1/verifications/{id}/check');
    assert.ok(all.some((res) => res.body.aborted === true), 'one of them used the last attempt');
  });

  it('resend too soon (429, Retry-After), change (200), a change to a bad number (422), cancel (200, twice), resend after cancel (409), the report', async () => {
    const made = await create({ to: '+46701234504' });
    assert.equal(made.status, 201);
    const soon = await api('post', '/v1/verifications/{id}/resend', { id: made.body.id });
    assert.deepEqual([soon.status, soon.body.error.code], [429, 'RESEND_TOO_SOON']);
    const changed = await api('post', '/v1/verifications/{id}/change', { id: made.body.id, body: { to: '+46701234505' } });
    assert.deepEqual([changed.status, changed.body.to], [200, '+46 70*** **05']);
    const bad = await api('post', '/v1/verifications/{id}/change', { id: made.body.id, body: { to: 'not a number' } });
    assert.deepEqual([bad.status, bad.body.error.code, bad.body.detail], [422, 'INVALID_DESTINATION', 'DATA CHECK FAILED']);
    const cancelled = await api('post', '/v1/verifications/{id}/cancel', { id: made.body.id });
    assert.deepEqual([cancelled.status, cancelled.body.detail], [200, 'TRANSACTION CANCELLED']);
    assert.equal((await api('post', '/v1/verifications/{id}/cancel', { id: made.body.id })).status, 200);
    const late = await api('post', '/v1/verifications/{id}/resend', { id: made.body.id });
    assert.deepEqual([late.status, late.body.error.code], [409, 'NO_PENDING_CODE']);
    const report = await api('get', '/v1/verifications/{id}', { id: made.body.id });
    assert.equal(report.body.properties.destination_changes.length, 1);
  });

  it('refused sends at create: DATA CHECK FAILED and SUPPRESSED SENDING CODE (422), the gateway failing (502)', async () => {
    const bad = await create({ to: 'not a number' });
    assert.deepEqual([bad.status, bad.body.status, bad.body.error.code], [422, 'reject', 'INVALID_DESTINATION']);
    const premium = await create({ to: '+46 900 123 45 67' });
    assert.deepEqual([premium.status, premium.body.error.code], [422, 'DESTINATION_NOT_ALLOWED']);
    const failed = conforms(await call(variant.app, 'post', '/v1/verifications', { body: { to: '+46700000502' } }), 'post', '/v1/verifications');
    assert.deepEqual([failed.status, failed.body.error.code, failed.body.detail], [502, 'DELIVERY_FAILED', 'FAILED TO SEND TO NUMBER']);
  });

  it('every operation that needs a key: none, a wrong secret, another scheme (401, WWW-Authenticate)', async () => {
    const secured = operations().filter(({ op }) => (op.security ?? doc.security ?? []).length > 0);
    assert.equal(secured.length, 6);
    for (const { method, path } of secured) {
      for (const auth of [null, 'Bearer demo.wrong-secret', 'Basic ZGVtbzpkZW1vLXNlY3JldA==']) {
        const res = await api(method, path, { id: 'vf.nothing', auth });
        assert.equal(res.status, 401, `${method} ${path} ${auth}`);
      }
    }
  });

  it('the operations without a bearer key (security []): this document and the PhoneMatch calls, which answer without an Authorization header and do not read one', async () => {
    const open = operations().filter(({ op }) => Array.isArray(op.security) && op.security.length === 0).map(({ method, path }) => `${method} ${path}`);
    assert.deepEqual(open.sort(), [`get /openapi.json`, `post ${CONTINUE}`, `post ${GATEWAY}`].sort());
    for (const { method, path, op } of operations()) {
      assert.ok(Array.isArray(op.security), `${method} ${path} declares its security`);
      // x-key-scope: the scope of the key a body or token names, for exactly the operations without a bearer key but with a key.
      assert.equal(op['x-key-scope'] !== undefined, path.startsWith('/compat/'), `${method} ${path}: x-key-scope`);
      if (op['x-key-scope'] !== undefined) assert.ok(Object.values(SCOPES).includes(op['x-key-scope']), `${method} ${path}: x-key-scope is a key scope`);
    }
    // No header at all, then a bearer key that would be refused: the header is neither needed nor read.
    for (const auth of [null, 'Bearer demo.wrong-secret', 'Basic ZGVtbzpkZW1vLXNlY3JldA==']) {
      const sent = conforms(await call(variant.app, 'post', GATEWAY, { auth, body: pmBody({ target: { phone: '2015550121' } }) }), 'post', GATEWAY);
      assert.deepEqual([sent.status, sent.body.result.action], [200, 'PENDING'], `${auth}: ${sent.text}`);
      const code = lastCodeIn(variant.outbox, '+12015550121');
      const template = sent.body.continuations.outofband.template;
      const passed = conforms(await call(variant.app, 'post', CONTINUE, { auth, body: { ...template, codematch: { key: code } } }), 'post', CONTINUE);
      assert.deepEqual([passed.status, passed.body.result.action], [200, 'PASS'], `${auth}: ${passed.text}`);
    }
  });

  it('each operation\'s security role (x-key-scope on the PhoneMatch calls) is the scope the router asks for: a key without it is 403, one with it is not', async () => {
    // The PhoneMatch calls name their key in the body: the gateway by user/pass; continue by its token (made by
    // `creator`, which lacks verifications:check), and by user/pass too when they are sent.
    const made = await compat(variant.app, GATEWAY, pmBody({ user: 'creator', pass: SECRETS.creator, target: { phone: '2015550122' } }));
    assert.deepEqual([made.status, made.body.result.action], [200, 'PENDING'], made.text);
    const token = made.body.continuations.outofband.template.token as string;
    const bodies: Record<string, (keyId: string, secret: string) => Json> = {
      [GATEWAY]: (user, pass) => pmBody({ user, pass, target: { phone: '2015550123' } }),
      [CONTINUE]: (user, pass) => ({ token, codematch: { key: '000000' }, user, pass }),
    };
    let compatChecked = 0;
    for (const { method, path, op } of operations()) {
      const roles = (op.security ?? doc.security ?? []).flatMap((s: Json) => Object.values(s).flat()) as string[];
      if (roles.length === 0 && op['x-key-scope'] === undefined) continue;
      const role = roles.length > 0 ? roles : [op['x-key-scope'] as string];
      assert.equal(role.length, 1, `${method} ${path} needs one scope`);
      for (const [keyId, scope] of Object.entries(SCOPES)) {
        const secret = SECRETS[keyId as keyof typeof SECRETS];
        const res = bodies[path]
          ? await compat(variant.app, path as typeof GATEWAY, bodies[path]!(keyId, secret))
          : conforms(await call(variant.app, method, path, { id: 'vf.nothing', auth: `Bearer ${keyId}.${secret}` }), method, path);
        if (scope === role[0]) assert.notEqual(res.status, 403, `${keyId} may ${method} ${path}: ${res.text}`);
        else assert.deepEqual([res.status, res.body.error.code], [403, 'FORBIDDEN'], `${keyId} may not ${method} ${path}`);
      }
      if (bodies[path]) compatChecked += 1;
    }
    assert.equal(compatChecked, 2);
    // continue without user/pass: the token's own key is admitted with the scope, so creator's token is 403 too;
    // checker's user/pass passed the scope, and then name another key than the token's (404).
    const bare = await compat(variant.app, CONTINUE, { token, codematch: { key: '000000' } });
    assert.deepEqual([bare.status, bare.body.error.code], [403, 'FORBIDDEN']);
    const other = await compat(variant.app, CONTINUE, bodies[CONTINUE]!('checker', SECRETS.checker));
    assert.deepEqual([other.status, other.body.error.code], [404, 'NOT_FOUND']);
  });

  it('a made-up id or a broken one (404, 400), bad bodies (400), a huge one (413), a form or no body (415), an unknown path (404)', async () => {
    for (const { method, path } of operations().filter(({ path }) => path.includes('{id}'))) {
      const body = path.endsWith('/check') ? { code: '123456' } : path.endsWith('/change') ? { to: '+46701234506' } : {};
      for (const id of ['vf.nothing', `vf.v1.${'A'.repeat(40)}`]) assert.equal((await api(method, path, { id, body })).status, 404, `${method} ${path} ${id}`);
    }
    const broken = conforms(await request(demo.app).get(`${BASE}/v1/verifications/%E0%A4%A`).set('Authorization', AUTH), 'get', '/v1/verifications/{id}');
    assert.equal(broken.status, 400);
    const malformed = await request(demo.app).post(`${BASE}/v1/verifications`).set('Authorization', AUTH).set('Content-Type', 'application/json').send('{"to":');
    assert.equal(conforms(malformed, 'post', '/v1/verifications').status, 400);
    for (const body of [{ to: 5 }, { to: '+46701234567', colour: 'blue' }, { to: 'a@b.se', channel: 'sms' }]) assert.equal((await create(body)).status, 400);
    assert.equal((await create({ to: 'x'.repeat(20_000) })).status, 413);
    const form = await request(demo.app).post(`${BASE}/v1/verifications`).set('Authorization', AUTH).type('form').send('to=%2B46701234567');
    assert.equal(conforms(form, 'post', '/v1/verifications').status, 415);
    const made = await create({ to: '+46701234507' });
    const bare = await request(demo.app).post(`${BASE}/v1/verifications/${made.body.id}/cancel`).set('Authorization', AUTH);
    assert.equal(conforms(bare, 'post', '/v1/verifications/{id}/cancel').status, 415);
    // Not an operation: the router's fallback still answers the document's 404.
    const unknown = await request(demo.app).get(`${BASE}/v1/nothing`).set('Authorization', AUTH);
    assert.equal(unknown.status, 404);
    const notFound = validatorAt('#/components/responses/NotFound/content/application~1json/schema');
    assert.ok(notFound(unknown.body), describeErrors(notFound));
  });

  it('v1 create: channel voice (201, a call), a message of its own (201, the text sent), one without {pin} (400), from a key without allow_message (403), voice to an address (400)', async () => {
    const v1 = (body: Json, auth = AUTH) => call(variant.app, 'post', '/v1/verifications', { body, auth }).then((res) => conforms(res, 'post', '/v1/verifications'));
    const voice = await v1({ to: '+46701234530', channel: 'voice' });
    assert.deepEqual([voice.status, voice.body.channel], [201, 'voice'], voice.text);
    assert.equal(lastMessageIn(variant.outbox, '+46701234530')?.channel, 'voice');
    const own = await v1({ to: '+46701234531', target: { fn: 'Eva' }, message: 'Hej {fn}! Koden: {{ code }}' });
    assert.equal(own.status, 201, own.text);
    assert.match(lastMessageIn(variant.outbox, '+46701234531')!.text, /^Hej Eva! Koden: \d{6}$/);
    const resent = conforms(await call(variant.app, 'post', '/v1/verifications/{id}/resend', { id: own.body.id }), 'post', '/v1/verifications/{id}/resend');
    assert.deepEqual([resent.status, resent.body.error?.code], [429, 'RESEND_TOO_SOON']);
    const noCode = await v1({ to: '+46701234532', message: 'Hello, no code' });
    assert.deepEqual([noCode.status, noCode.body.error.code], [400, 'BAD_REQUEST']);
    const refused = await v1({ to: '+46701234533', message: 'Code {pin}' }, `Bearer creator.${SECRETS.creator}`);
    assert.deepEqual([refused.status, refused.body.error.code], [403, 'FORBIDDEN']);
    const mismatch = await v1({ to: 'someone@example.com', channel: 'voice' });
    assert.deepEqual([mismatch.status, mismatch.body.error.code], [400, 'BAD_REQUEST']);
  });

  it('a channel the key\'s pre-pipe cannot deliver (only SmsSend): 422 CHANNEL_UNAVAILABLE on v1 create (voice, email) and on the gateway (PhoneMatch5.0.Call); sms is tried (502, FAIL)', async () => {
    for (const body of [{ to: '+46701234534', channel: 'voice' }, { to: 'someone@example.com', channel: 'email' }]) {
      const res = conforms(await call(smsOnly.app, 'post', '/v1/verifications', { body }), 'post', '/v1/verifications');
      assert.deepEqual([res.status, res.body.status, res.body.error.code, res.body.id], [422, 'ERROR', 'CHANNEL_UNAVAILABLE', undefined], res.text);
      assert.match(res.body.error.message, new RegExp(body.channel));
      assert.equal(res.headers.location, undefined);
    }
    const byCall = await compat(smsOnly.app, GATEWAY, pmBody({ service: 'PhoneMatch5.0.Call' }));
    assert.deepEqual([byCall.status, byCall.body.error.code], [422, 'CHANNEL_UNAVAILABLE']);
    // The channel the pipe has is tried: its gateway (a closed port) fails.
    const sms = conforms(await call(smsOnly.app, 'post', '/v1/verifications', { body: { to: '+46701234535', channel: 'sms' } }), 'post', '/v1/verifications');
    assert.deepEqual([sms.status, sms.body.error.code], [502, 'DELIVERY_FAILED']);
    const pmSms = await compat(smsOnly.app, GATEWAY, pmBody());
    assert.deepEqual([pmSms.status, pmSms.body.result], [200, { action: 'FAIL', detail: 'FAILED TO SEND TO NUMBER', issues: [] }]);
  });

  it('PhoneMatch on the demo: the gateway (200 PENDING, the template), continue with a wrong code (200 PENDING INVALID_OTP), the right one (200 PASS), again (409), the same verification on v1', async () => {
    const sent = await compat(demo.app, GATEWAY, pmBody({ options: { outofband: { message: 'Hello {fn}, your one-time password is {pin}' } } }));
    assert.deepEqual([sent.status, sent.body.result], [200, { action: 'PENDING', detail: 'TRANSACTION REQUIRES FURTHER ATTENTION', issues: [] }]);
    assert.deepEqual([sent.body.meta.reference, sent.body.meta.service, sent.body.meta.user], ['pm-ref', 'PhoneMatch5.0.SMS', 'demo']);
    assert.equal(sent.body.output.outofband.to, '+1 20**** **00');
    const template = sent.body.continuations.outofband.template;
    const code = demo.lastCode('+12015550100');
    assert.match(code, /^\d{6}$/);
    const wrong = await compat(demo.app, CONTINUE, { ...template, codematch: { key: code === '000000' ? '111111' : '000000' }, service: 'PhoneMatch5.0.SMS' });
    assert.deepEqual([wrong.status, wrong.body.result.action, wrong.body.result.issues, wrong.body.meta.service], [200, 'PENDING', ['INVALID_OTP'], 'PhoneMatch5.0.SMS']);
    assert.equal(wrong.body.continuations.outofband.template.token, template.token);
    const passed = await compat(demo.app, CONTINUE, { ...template, codematch: { key: code }, user: 'demo', pass: 'demo-secret' });
    assert.deepEqual([passed.status, passed.body.result, passed.body.output.outofband.attempt_count], [200, { action: 'PASS', detail: 'ALL CHECKS PASSED', issues: [] }, 2]);
    assert.equal(passed.body.continuations, undefined);
    const again = await compat(demo.app, CONTINUE, { ...template, codematch: { key: code } });
    assert.deepEqual([again.status, again.body.error.code], [409, 'NO_PENDING_CODE']);
    const id = `vf.${String(template.token).split('.').slice(2).join('.')}`;
    const report = await api('get', '/v1/verifications/{id}', { id });
    assert.deepEqual([report.status, report.body.status, report.body.reference, report.body.transaction_id], [200, 'approved', 'pm-ref', sent.body.meta.confirmation]);
  });

  it('PhoneMatch gateway FAIL answers (200, empty output, no continuations): DATA CHECK FAILED, SUPPRESSED SENDING CODE, FAILED TO SEND TO NUMBER; PhoneMatch5.0.Call by voice', async () => {
    const fail = async (over: Json, detail: string) => {
      const res = await compat(variant.app, GATEWAY, pmBody(over));
      assert.deepEqual([res.status, res.body.result, res.body.output, res.body.continuations], [200, { action: 'FAIL', detail, issues: [] }, { outofband: {} }, undefined], res.text);
      return res;
    };
    await fail({ target: { phone: '123' } }, 'DATA CHECK FAILED');
    await fail({ options: { outofband: { country: { whitelist: ['SE'] } } } }, 'SUPPRESSED SENDING CODE');
    await fail({ options: { outofband: { do_not_send_to_types: ['mobile', 'landline'] } } }, 'SUPPRESSED SENDING CODE');
    await fail({ target: { phone: '+46 900 123 45 67' } }, 'SUPPRESSED SENDING CODE');
    const failed = await fail({ reference: undefined, target: { phone: '+46700000502' } }, 'FAILED TO SEND TO NUMBER');
    assert.equal(failed.body.meta.reference, null);
    const voice = await compat(variant.app, GATEWAY, pmBody({ service: 'PhoneMatch5.0.Call', target: { phone: '2015550124' } }));
    assert.deepEqual([voice.status, voice.body.result.action, voice.body.output.outofband.channel, voice.body.meta.service], [200, 'PENDING', 'voice', 'PhoneMatch5.0.Call']);
    assert.equal(lastMessageIn(variant.outbox, '+12015550124')?.channel, 'voice');
  });

  it('PhoneMatch continue to the end: wrong codes (PENDING, then FAIL MAX_ATTEMPTS), an entry after it; continues in parallel: every answer is one the document has', async () => {
    const sent = await compat(variant.app, GATEWAY, pmBody({ target: { phone: '2015550125' } }));
    const right = lastCodeIn(variant.outbox, '+12015550125');
    const template = { ...sent.body.continuations.outofband.template, codematch: { key: right === '000000' ? '111111' : '000000' } };
    const first = await compat(variant.app, CONTINUE, template);
    assert.deepEqual([first.status, first.body.result.action, first.body.output.outofband.attempts_left], [200, 'PENDING', 2]);
    await compat(variant.app, CONTINUE, template);
    const last = await compat(variant.app, CONTINUE, template);
    assert.deepEqual([last.status, last.body.result, last.body.continuations], [200, { action: 'FAIL', detail: 'FAILED OUT-OF-BAND CHECK', issues: ['MAX_ATTEMPTS'] }, undefined]);
    const late = await compat(variant.app, CONTINUE, { ...template, codematch: { key: right } });
    assert.notEqual(late.body.result?.action, 'PASS');

    const again = await compat(variant.app, GATEWAY, pmBody({ target: { phone: '2015550126' } }));
    const wrong = lastCodeIn(variant.outbox, '+12015550126') === '000000' ? '111111' : '000000';
    const body = { ...again.body.continuations.outofband.template, codematch: { key: wrong } };
    const all = await Promise.all(Array.from({ length: 8 }, () => call(variant.app, 'post', CONTINUE, { body, auth: null })));
    for (const res of all) conforms(res, 'post', CONTINUE);
    assert.ok(all.some((res) => res.body.result?.action === 'FAIL'), 'one of them used the last attempt');
  });

  it('PhoneMatch errors: 400 (malformed JSON, the schema, a message without {pin}, a phone with @), 401, 403 (a message without allow_message), 404 (made-up and altered tokens), 413, 415', async () => {
    const raw = (path: string) => request(variant.app).post(`${BASE}${path}`);
    for (const path of [GATEWAY, CONTINUE]) {
      const malformed = conforms(await raw(path).set('Content-Type', 'application/json').send('{"user": '), 'post', path);
      assert.deepEqual([malformed.status, malformed.body.error.code], [400, 'BAD_REQUEST']);
      const huge = await compat(variant.app, path as typeof GATEWAY, path === GATEWAY ? pmBody({ reference: 'x'.repeat(20_000) }) : { token: 'x'.repeat(20_000), codematch: { key: '1' } });
      assert.equal(huge.status, 413);
      assert.equal(conforms(await raw(path).type('form').send('user=demo'), 'post', path).status, 415);
      assert.equal(conforms(await raw(path), 'post', path).status, 415);
    }
    for (const body of [pmBody({ options: { outofband: { message: 'Hello {fn}, no code' } } }), pmBody({ target: { phone: 'john@example.com' } }), pmBody({ service: 'IDMatch5.0' })]) {
      const res = await compat(variant.app, GATEWAY, body);
      assert.deepEqual([res.status, res.body.error.code], [400, 'BAD_REQUEST'], JSON.stringify(body));
    }
    for (const over of [{ pass: 'wrong-secret' }, { user: 'nobody' }]) {
      const res = await compat(variant.app, GATEWAY, pmBody(over));
      assert.deepEqual([res.status, res.body.error.code], [401, 'UNAUTHORIZED']);
    }
    const noMessage = await compat(variant.app, GATEWAY, pmBody({ user: 'creator', pass: SECRETS.creator, options: { outofband: { message: 'Code {pin}' } } }));
    assert.deepEqual([noMessage.status, noMessage.body.error.code], [403, 'FORBIDDEN']);
    const sent = await compat(variant.app, GATEWAY, pmBody({ target: { phone: '2015550127' } }));
    const token = sent.body.continuations.outofband.template.token as string;
    for (const bad of ['pm.demo.nothing', 'nothing', `vf.${token.slice(8)}`, `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`, `pm.nobody.${token.slice(8)}`, `pm.checker.${token.slice(8)}`]) {
      const res = await compat(variant.app, CONTINUE, { token: bad, codematch: { key: '123456' } });
      assert.deepEqual([res.status, res.body.error.code], [404, 'NOT_FOUND'], bad);
    }
    const wrongPass = await compat(variant.app, CONTINUE, { token, codematch: { key: '123456' }, user: 'demo', pass: 'not-the-secret' });
    assert.deepEqual([wrongPass.status, wrongPass.body.error.code], [401, 'UNAUTHORIZED']);
    const halfLogin = await compat(variant.app, CONTINUE, { token, codematch: { key: '123456' }, user: 'demo' });
    assert.deepEqual([halfLogin.status, halfLogin.body.error.code], [401, 'UNAUTHORIZED']);
  });

  it('PhoneMatch: the key\'s requests_per_minute (429, Retry-After) on both calls; the store away (503, Retry-After) and a fault (500)', async () => {
    const tiny = { user: 'tiny', pass: 'tiny-secret' };
    const sent = await compat(variant.app, GATEWAY, pmBody({ ...tiny, target: { phone: '2015550128' } }));
    assert.equal(sent.status, 200, sent.text);
    const template = { ...sent.body.continuations.outofband.template, codematch: { key: '000000' } };
    const counted = await compat(variant.app, CONTINUE, template);
    assert.equal(counted.status, 200, counted.text);
    await compat(variant.app, CONTINUE, template);
    const limited = await compat(variant.app, CONTINUE, template);
    assert.deepEqual([limited.status, limited.body.error.code], [429, 'RATE_LIMITED']);
    const limitedGateway = await compat(variant.app, GATEWAY, pmBody({ ...tiny, target: { phone: '2015550129' } }));
    assert.deepEqual([limitedGateway.status, limitedGateway.body.error.code], [429, 'RATE_LIMITED']);

    const made = await compat(variant.app, GATEWAY, pmBody({ target: { phone: '2015550130' } }));
    const proceed = { ...made.body.continuations.outofband.template, codematch: { key: '000000' } };
    // Every step a gateway or continue call can start with (on Redis an entry's first step is reserveEntry, not get).
    const store = variant.authn.store as unknown as Record<string, ((...args: unknown[]) => Promise<unknown>) | undefined>;
    const steps = ['get', 'open', 'reserveEntry', 'reserveAttempt'].filter((name) => typeof store[name] === 'function');
    const kept = new Map(steps.map((name) => [name, store[name]]));
    const failWith = (error: () => Error) => { for (const name of steps) store[name] = () => Promise.reject(error()); };
    try {
      failWith(() => new StoreUnavailableError());
      const away = [await compat(variant.app, GATEWAY, pmBody({ target: { phone: '2015550131' } })), await compat(variant.app, CONTINUE, proceed)];
      for (const res of away) assert.deepEqual([res.status, res.body.error.code], [503, 'UNAVAILABLE']);
      failWith(() => new Error('a fault'));
      const faults = [await compat(variant.app, GATEWAY, pmBody({ target: { phone: '2015550131' } })), await compat(variant.app, CONTINUE, proceed)];
      for (const res of faults) assert.deepEqual([res.status, res.body.error.code], [500, 'INTERNAL']);
    } finally {
      for (const [name, fn] of kept) store[name] = fn;
    }
  });

  it('the store away (503, Retry-After) and an unexpected fault (500): the documented bodies', async () => {
    const made = await create({ to: '+46701234508' });
    const store = demo.authn.store as unknown as { get: (...args: unknown[]) => Promise<unknown> };
    const get = store.get;
    try {
      store.get = () => Promise.reject(new StoreUnavailableError());
      const away = await api('get', '/v1/verifications/{id}', { id: made.body.id });
      assert.deepEqual([away.status, away.body.error.code], [503, 'UNAVAILABLE']);
      store.get = () => Promise.reject(new Error('a fault'));
      const fault = await api('get', '/v1/verifications/{id}', { id: made.body.id });
      assert.deepEqual([fault.status, fault.body.error.code], [500, 'INTERNAL']);
    } finally {
      store.get = get;
    }
  });

  it('the request schemas accept and refuse what the router does (400 or not)', async () => {
    const made = await call(variant.app, 'post', '/v1/verifications', { body: { to: '+46701234509' } });
    assert.equal(made.status, 201);
    const id = made.body.id as string;
    const long = (n: number) => 'x'.repeat(n);
    // [operation, body]; a create that the schema allows sends a code (the variant's limits allow it).
    const probes: [string, unknown][] = [
      ['/v1/verifications', {}], ['/v1/verifications', { to: '' }], ['/v1/verifications', { to: 1 }], ['/v1/verifications', { to: long(321) }],
      ['/v1/verifications', { to: long(320) }], ['/v1/verifications', { to: '+46701234510' }],
      ['/v1/verifications', { to: '+46701234511', channel: 'sms', locale: 'en', reference: long(100), subject: long(200), target: { fn: long(100), ln: '' } }],
      ['/v1/verifications', { to: 'someone@example.com', channel: 'email', target: {} }],
      ['/v1/verifications', { to: '+46701234512', channel: 'auto', locale: long(16) }],
      ['/v1/verifications', { to: 'a', channel: 'pigeon' }], ['/v1/verifications', { to: 'a', channel: null }],
      ['/v1/verifications', { to: 'a', locale: 's' }], ['/v1/verifications', { to: 'a', locale: long(17) }],
      ['/v1/verifications', { to: 'a', reference: '' }], ['/v1/verifications', { to: 'a', reference: long(101) }],
      ['/v1/verifications', { to: 'a', subject: '' }], ['/v1/verifications', { to: 'a', subject: long(201) }],
      ['/v1/verifications', { to: 'a', target: 'x' }], ['/v1/verifications', { to: 'a', target: { fn: long(101) } }],
      ['/v1/verifications', { to: 'a', target: { ln: 1 } }], ['/v1/verifications', { to: 'a', target: { mn: 'b' } }],
      ['/v1/verifications', { to: 'a', extra: 1 }], ['/v1/verifications', []],
      ['/v1/verifications', { to: '+46701234514', channel: 'voice' }], ['/v1/verifications', { to: '+46701234515', message: `{pin}${long(315)}` }],
      ['/v1/verifications', { to: '+46701234516', message: 'Kod: {{code}}' }], ['/v1/verifications', { to: 'a', message: '' }],
      ['/v1/verifications', { to: 'a', message: `{pin}${long(316)}` }], ['/v1/verifications', { to: 'a', message: 'no code {code}' }],
      ['/v1/verifications', { to: 'a', message: 7 }],
      ['/v1/verifications/{id}/check', { code: '1' }], ['/v1/verifications/{id}/check', { code: long(64) }],
      ['/v1/verifications/{id}/check', {}], ['/v1/verifications/{id}/check', { code: '' }], ['/v1/verifications/{id}/check', { code: 123456 }],
      ['/v1/verifications/{id}/check', { code: long(65) }], ['/v1/verifications/{id}/check', { code: '1', to: 'x' }],
      ['/v1/verifications/{id}/change', {}], ['/v1/verifications/{id}/change', { to: '' }], ['/v1/verifications/{id}/change', { to: 2 }],
      ['/v1/verifications/{id}/change', { to: long(321) }], ['/v1/verifications/{id}/change', { to: '+46701234513', code: '1' }],
      ['/v1/verifications/{id}/change', { to: long(320) }], ['/v1/verifications/{id}/change', { to: '+46701234513' }],
      ['/v1/verifications/{id}/resend', { a: 1 }], ['/v1/verifications/{id}/resend', []], ['/v1/verifications/{id}/resend', {}],
      ['/v1/verifications/{id}/cancel', { reason: 'x' }], ['/v1/verifications/{id}/cancel', [1]], ['/v1/verifications/{id}/cancel', {}],
      // PhoneMatch's (no Authorization header): a valid gateway body sends a code (or answers FAIL); a valid
      // continue body with a made-up token is 404.
      [GATEWAY, pmBody()], [GATEWAY, pmBody({ service: 'PhoneMatch5.0.Call', reference: long(100), target: { fn: long(100), ln: '', phone: long(64) } })],
      [GATEWAY, { user: 'demo', pass: 'demo-secret', service: 'PhoneMatch5.0.SMS', target: { phone: '2015550140' } }],
      [GATEWAY, pmBody({ options: {} })], [GATEWAY, pmBody({ options: { outofband: {} } })],
      [GATEWAY, pmBody({ options: { outofband: { message: 'Hi {pin}', do_not_send_to_types: ['voip'], country: { whitelist: ['US'], blacklist: [] } } } })],
      [GATEWAY, {}], [GATEWAY, pmBody({ user: undefined })], [GATEWAY, pmBody({ pass: '' })], [GATEWAY, pmBody({ user: long(65) })],
      [GATEWAY, pmBody({ pass: long(501) })], [GATEWAY, pmBody({ service: 'PhoneMatch5.0' })], [GATEWAY, pmBody({ service: undefined })],
      [GATEWAY, pmBody({ reference: '' })], [GATEWAY, pmBody({ reference: long(101) })], [GATEWAY, pmBody({ target: undefined })],
      [GATEWAY, pmBody({ target: { fn: 'a' } })], [GATEWAY, pmBody({ target: { phone: '' } })], [GATEWAY, pmBody({ target: { phone: long(65) } })],
      [GATEWAY, pmBody({ target: { phone: '2015550141', mn: 'x' } })], [GATEWAY, pmBody({ target: { phone: '2015550141', fn: long(101) } })],
      [GATEWAY, pmBody({ options: { inband: {} } })], [GATEWAY, pmBody({ options: { outofband: { colour: 'blue' } } })],
      [GATEWAY, pmBody({ options: { outofband: { message: 'no code' } } })], [GATEWAY, pmBody({ options: { outofband: { message: `{pin}${long(316)}` } } })],
      [GATEWAY, pmBody({ options: { outofband: { do_not_send_to_types: ['satellite'] } } })],
      [GATEWAY, pmBody({ options: { outofband: { do_not_send_to_types: ['voip', 'voip'] } } })],
      [GATEWAY, pmBody({ options: { outofband: { country: { whitelist: ['us'] } } } })], [GATEWAY, pmBody({ extra: 1 })], [GATEWAY, []],
      [CONTINUE, { token: 'pm.demo.nothing', codematch: { key: '123456' } }],
      [CONTINUE, { token: long(2000), codematch: { key: long(64) }, user: 'demo', pass: 'demo-secret', service: 'PhoneMatch5.0.Call' }],
      [CONTINUE, {}], [CONTINUE, { token: 'pm.demo.nothing' }], [CONTINUE, { codematch: { key: '1' } }], [CONTINUE, { token: '', codematch: { key: '1' } }],
      [CONTINUE, { token: long(2001), codematch: { key: '1' } }], [CONTINUE, { token: 'pm.demo.nothing', codematch: { key: 123456 } }],
      [CONTINUE, { token: 'pm.demo.nothing', codematch: { key: '' } }], [CONTINUE, { token: 'pm.demo.nothing', codematch: { key: long(65) } }],
      [CONTINUE, { token: 'pm.demo.nothing', codematch: {} }], [CONTINUE, { token: 'pm.demo.nothing', codematch: { key: '1', pin: '1' } }],
      [CONTINUE, { token: 'pm.demo.nothing', codematch: { key: '1' }, user: '' }], [CONTINUE, { token: 'pm.demo.nothing', codematch: { key: '1' }, service: 'x' }],
      [CONTINUE, { token: 'pm.demo.nothing', codematch: { key: '1' }, extra: true }], [CONTINUE, [1]],
    ];
    const seen = new Set<string>();
    for (const [path, body] of probes) {
      const res = conforms(await call(variant.app, 'post', path, { id, body, auth: path.startsWith('/compat/') ? null : AUTH }), 'post', path);
      const valid = requestValid('post', path, body);
      seen.add(`${path} ${valid}`);
      assert.equal(res.status !== 400, valid, `${path} ${JSON.stringify(body).slice(0, 120)}: the document says ${valid ? 'valid' : 'invalid'}, the router answered ${res.status} ${res.text.slice(0, 200)}`);
    }
    const withBody = operations().filter(({ op }) => op.requestBody);
    assert.equal(withBody.length, 7);
    for (const { path } of withBody) for (const valid of [true, false]) assert.ok(seen.has(`${path} ${valid}`), `${path}: a probe the schema calls ${valid}`);
  });

  it('every operation of the document was exercised, and every status the brief names was seen', () => {
    assert.deepEqual(operations().map(({ method, path }) => `${method} ${path}`).filter((o) => !exercised.has(o)), []);
    const seen = new Set([...statuses].map((s) => Number(s.split(' ').at(-1))));
    for (const status of [200, 201, 400, 401, 403, 404, 409, 413, 415, 422, 423, 429, 500, 502, 503]) assert.ok(seen.has(status), `a ${status} was checked`);
    // The PhoneMatch calls: every status they document was answered, but the gateway's 409 (NO_PENDING_CODE when its
    // verification vanishes between open and send: a race in the store, as on v1 create).
    const unreached = new Set([`post ${GATEWAY} 409`]);
    for (const path of [GATEWAY, CONTINUE]) {
      for (const status of Object.keys(doc.paths[path].post.responses)) {
        const key = `post ${path} ${status}`;
        if (!unreached.has(key)) assert.ok(statuses.has(key), `${key} was checked`);
      }
    }
  });
});
