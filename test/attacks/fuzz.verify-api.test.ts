import assert from 'node:assert/strict';
import fc from 'fast-check';
import request from 'supertest';
import { ERRORS } from '../../src/errors.js';
import { demoVariant } from '../support/demo-variant.js';

/**
 * Issue 24: the verification API under 1,500 random requests (fixed seed): methods, paths (ids real, forged and of
 * garbage), Authorization headers, content types, JSON bodies of any shape, raw text. Whatever comes in: no 5xx,
 * the answer is JSON, an error is one of the catalogue's codes, and no stack trace leaves.
 */
const SEED = 24_240_024;
const CODES = new Set(Object.keys(ERRORS));

describe('attack: fuzzing the verification API (fast-check, fixed seed)', function () {
  this.timeout(120_000);
  let demo: Awaited<ReturnType<typeof demoVariant>>;
  let realId = '';
  before(async () => {
    // Every case must reach the routes: the key's own budget (600 a minute) is raised for the run.
    demo = await demoVariant((c) => { c.verify_api.keys[0].requests_per_minute = 1_000_000; });
    const made = await request(demo.app).post('/api/verify/v1/verifications').set('Authorization', 'Bearer demo.demo-secret').send({ to: 'a@example.com' }).expect(201);
    realId = made.body.id as string;
  });
  after(async () => { await demo.authn.close(); });

  const text = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('', '+46701234567', 'a@example.com', '070 123 45 67', '__proto__', '${env.HOME}', '{{code}}', 'x'.repeat(400), '\u0000'));
  const json = fc.oneof(
    fc.record({ to: fc.oneof(text, fc.anything({ maxDepth: 1 })), channel: fc.oneof(fc.constantFrom('sms', 'email', 'auto', 'voice'), text), code: fc.oneof(text, fc.integer()), subject: text, reference: text, locale: text, target: fc.anything({ maxDepth: 2 }), extra: fc.anything({ maxDepth: 1 }) }, { requiredKeys: [] }),
    fc.anything({ maxDepth: 3 }),
  );
  const route = fc.tuple(
    fc.constantFrom('POST', 'GET', 'PUT', 'DELETE', 'PATCH'),
    fc.constantFrom('', '/check', '/resend', '/change', '/cancel', '/nothing'),
    fc.oneof(fc.constant('$REAL'), fc.constant('vf.v1.AAAA.BBBB.CCCC.DDDD'), text.map((t) => encodeURIComponent(t))),
    fc.boolean(),
  );
  const auth = fc.constantFrom('Bearer demo.demo-secret', 'Bearer demo.demo-secret', 'Bearer demo.wrong', 'Bearer ', 'Basic x', '', 'Bearer demo.demo-secret extra', `Bearer ${'a'.repeat(80)}.x`);
  const body = fc.oneof(
    json.map((v) => ({ type: 'application/json', raw: JSON.stringify(v) ?? 'null' })),
    text.map((t) => ({ type: 'application/json', raw: t })),
    text.map((t) => ({ type: 'text/plain', raw: t })),
    text.map((t) => ({ type: 'application/x-www-form-urlencoded', raw: `to=${encodeURIComponent(t)}` })),
  );

  it('1,500 random requests: never a 5xx, always JSON, every error code from the catalogue, no stack trace', async () => {
    const seen = new Map<number, number>();
    await fc.assert(fc.asyncProperty(route, auth, body, async ([method, tail, idPart, collection], authorization, b) => {
      const id = idPart === '$REAL' ? realId : idPart;
      const path = collection ? `/api/verify/v1/verifications${tail === '' ? '' : `/${id}${tail}`}` : `/api/verify/v1/verifications/${id}${tail}`;
      let req = request(demo.app)[method.toLowerCase() as 'post'](path);
      if (authorization) req = req.set('Authorization', authorization);
      const res = method === 'GET' ? await req : await req.set('Content-Type', b.type).send(b.raw);
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
      assert.ok(res.status < 500 || res.status === 502, `${method} ${path}: ${res.status} ${res.text.slice(0, 200)}`);
      assert.match(String(res.headers['content-type']), /application\/json/, `${method} ${path}`);
      if (res.body.error) assert.ok(CODES.has(res.body.error.code), `${res.body.error.code}`);
      assert.doesNotMatch(res.text, /\bat .*\.(ts|js):\d+|node_modules/);
    }), { seed: SEED, numRuns: 1500 });
    assert.ok((seen.get(401) ?? 0) > 0 && (seen.get(404) ?? 0) > 0 && (seen.get(400) ?? 0) > 0, JSON.stringify([...seen]));
  });

  it('PhoneMatch\'s two calls, 800 random bodies: the same promises; real tokens, forged ones and garbage', async () => {
    const sent = await request(demo.app).post('/api/verify/compat/phonematch/process/comprehensive/gateway')
      .send({ user: 'demo', pass: 'demo-secret', service: 'PhoneMatch5.0.SMS', target: { fn: 'John', phone: '2015106000' } }).expect(200);
    const token = sent.body.continuations.outofband.template.token as string;
    const pm = fc.record({
      user: fc.oneof(fc.constantFrom('demo', 'nobody'), text, fc.anything({ maxDepth: 1 })),
      pass: fc.oneof(fc.constantFrom('demo-secret', 'wrong'), text),
      service: fc.oneof(fc.constantFrom('PhoneMatch5.0.SMS', 'PhoneMatch5.0.Call'), text),
      reference: text,
      target: fc.oneof(fc.record({ fn: text, ln: text, phone: fc.oneof(fc.constantFrom('2015106000', '+46701234567', '123'), text) }, { requiredKeys: [] }), fc.anything({ maxDepth: 2 })),
      options: fc.oneof(fc.record({ outofband: fc.record({ message: fc.oneof(fc.constantFrom('Hello {fn}, {pin}', '{pin}{pin}{{code}}'), text), do_not_send_to_types: fc.oneof(fc.constant(['voip', 'mobile']), fc.anything({ maxDepth: 1 })), country: fc.anything({ maxDepth: 2 }) }, { requiredKeys: [] }) }, { requiredKeys: [] }), fc.anything({ maxDepth: 3 })),
      token: fc.oneof(fc.constant(token), fc.constant(`pm.demo.${token.slice(8, -3)}`), fc.constant('pm.other.x'), text),
      codematch: fc.oneof(fc.record({ key: fc.oneof(fc.constantFrom('000000', '123456'), text, fc.integer()) }), fc.anything({ maxDepth: 1 })),
    }, { requiredKeys: [] });
    const seen = new Map<number, number>();
    await fc.assert(fc.asyncProperty(fc.constantFrom('process/comprehensive/gateway', 'process/continue', 'process/nothing'), fc.oneof(pm.map((v) => JSON.stringify(v)), text), async (tail, raw) => {
      const res = await request(demo.app).post(`/api/verify/compat/phonematch/${tail}`).set('Content-Type', 'application/json').send(raw);
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
      assert.ok(res.status < 500 || res.status === 502, `${tail}: ${res.status} ${res.text.slice(0, 200)}`);
      assert.match(String(res.headers['content-type']), /application\/json/);
      if (res.body.error) assert.ok(CODES.has(res.body.error.code), `${res.body.error.code}`);
      if (res.status === 200) assert.ok(['PASS', 'PENDING', 'FAIL'].includes(res.body.result?.action), res.text);
      assert.doesNotMatch(res.text, /\bat .*\.(ts|js):\d+|node_modules/);
    }), { seed: SEED, numRuns: 800 });
    assert.ok((seen.get(400) ?? 0) > 0 && (seen.get(404) ?? 0) > 0, JSON.stringify([...seen]));
  });
});
