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
 * and refuse what the router does.
 */
type Json = Record<string, any>;
type Method = 'get' | 'post';

const doc = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as Json;
const DOC_ID = 'https://otp-authenticator.invalid/openapi.json';
const BASE = '/api/verify';
const AUTH = 'Bearer demo.demo-secret';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

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
      // The request-schema probes below send codes from one address.
      const api = (config.authenticators as Json[]).find((a) => a.id === 'api-otp')!;
      api.config.rate_limits = { sends_per_ip_per_hour: 1000, sends_per_destination_per_minute: 100 };
    });
  });
  after(async () => {
    delete process.env.OUTBOX_FILE;
    await demo.authn.close();
    await variant.authn.close();
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

  it('each operation\'s security role is the scope the router asks for: a key without it is 403, one with it is not', async () => {
    for (const { method, path, op } of operations()) {
      const roles = (op.security ?? doc.security ?? []).flatMap((s: Json) => Object.values(s).flat()) as string[];
      if (roles.length === 0) continue;
      assert.equal(roles.length, 1, `${method} ${path} needs one scope`);
      for (const [keyId, scope] of Object.entries(SCOPES)) {
        const res = conforms(await call(variant.app, method, path, { id: 'vf.nothing', auth: `Bearer ${keyId}.${SECRETS[keyId as keyof typeof SECRETS]}` }), method, path);
        if (scope === roles[0]) assert.notEqual(res.status, 403, `${keyId} may ${method} ${path}`);
        else assert.deepEqual([res.status, res.body.error.code], [403, 'FORBIDDEN'], `${keyId} may not ${method} ${path}`);
      }
    }
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
      ['/v1/verifications/{id}/check', { code: '1' }], ['/v1/verifications/{id}/check', { code: long(64) }],
      ['/v1/verifications/{id}/check', {}], ['/v1/verifications/{id}/check', { code: '' }], ['/v1/verifications/{id}/check', { code: 123456 }],
      ['/v1/verifications/{id}/check', { code: long(65) }], ['/v1/verifications/{id}/check', { code: '1', to: 'x' }],
      ['/v1/verifications/{id}/change', {}], ['/v1/verifications/{id}/change', { to: '' }], ['/v1/verifications/{id}/change', { to: 2 }],
      ['/v1/verifications/{id}/change', { to: long(321) }], ['/v1/verifications/{id}/change', { to: '+46701234513', code: '1' }],
      ['/v1/verifications/{id}/change', { to: long(320) }], ['/v1/verifications/{id}/change', { to: '+46701234513' }],
      ['/v1/verifications/{id}/resend', { a: 1 }], ['/v1/verifications/{id}/resend', []], ['/v1/verifications/{id}/resend', {}],
      ['/v1/verifications/{id}/cancel', { reason: 'x' }], ['/v1/verifications/{id}/cancel', [1]], ['/v1/verifications/{id}/cancel', {}],
    ];
    const seen = new Set<string>();
    for (const [path, body] of probes) {
      const res = conforms(await call(variant.app, 'post', path, { id, body }), 'post', path);
      const valid = requestValid('post', path, body);
      seen.add(`${path} ${valid}`);
      assert.equal(res.status !== 400, valid, `${path} ${JSON.stringify(body).slice(0, 120)}: the document says ${valid ? 'valid' : 'invalid'}, the router answered ${res.status} ${res.text.slice(0, 200)}`);
    }
    const withBody = operations().filter(({ op }) => op.requestBody);
    assert.equal(withBody.length, 5);
    for (const { path } of withBody) for (const valid of [true, false]) assert.ok(seen.has(`${path} ${valid}`), `${path}: a probe the schema calls ${valid}`);
  });

  it('every operation of the document was exercised, and every status the brief names was seen', () => {
    assert.deepEqual(operations().map(({ method, path }) => `${method} ${path}`).filter((o) => !exercised.has(o)), []);
    const seen = new Set([...statuses].map((s) => Number(s.split(' ').at(-1))));
    for (const status of [200, 201, 400, 401, 403, 404, 409, 413, 415, 422, 423, 429, 500, 502, 503]) assert.ok(seen.has(status), `a ${status} was checked`);
  });
});
