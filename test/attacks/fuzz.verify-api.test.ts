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
});
