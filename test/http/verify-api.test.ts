import assert from 'node:assert/strict';
import request from 'supertest';
import { onEvent } from '../../src/events/bus.js';
import type { EventRecord } from '../../src/events/catalogue.js';
import { demoHarness } from '../support/demo-harness.js';
import { demoVariant } from '../support/demo-variant.js';

/**
 * Issue 24, the core: the verification API of the demo (/api/verify, key `demo`, secret demo-secret) over HTTP:
 * create, check, resend, change, cancel, read; the key, its scopes and the id's binding; bad input.
 */
const AUTH = 'Bearer demo.demo-secret';

describe('verification API: PhoneMatch\'s two calls for backends (demo /api/verify)', () => {
  let demo: Awaited<ReturnType<typeof demoHarness>>;
  const events: EventRecord[] = [];
  let stop: () => void;
  before(async () => { stop = onEvent((e) => events.push(e)); demo = await demoHarness(); });
  after(async () => { stop(); delete process.env.OUTBOX_FILE; await demo.authn.close(); });

  const create = (body: unknown, auth = AUTH) => request(demo.app).post('/api/verify/v1/verifications').set('Authorization', auth).send(body as object);
  const post = (id: string, what: string, body: unknown = {}) => request(demo.app).post(`/api/verify/v1/verifications/${id}/${what}`).set('Authorization', AUTH).send(body as object);

  it('create sends a code (201, pending, the number masked); the right code approves it once (PASS), with WEB_100019', async () => {
    events.length = 0;
    const made = await create({ to: '070 123 45 67', reference: '12345', subject: 'user-42' }).expect(201);
    assert.match(made.body.id, /^vf\.v1\./);
    assert.deepEqual({ ...made.body, id: undefined, expires_at: undefined }, {
      id: undefined, status: 'pending', action: 'PENDING', detail: 'TRANSACTION REQUIRES FURTHER ATTENTION', to: '+46 70*** **67', channel: 'sms',
      expires_at: undefined, attempt_count: 0, attempts_left: 3, codes_left: 2,
    });
    assert.ok(Date.parse(made.body.expires_at) > Date.now());
    assert.equal(made.headers['cache-control'], 'no-store');
    const code = demo.lastCode('+46701234567');
    const ok = await post(made.body.id, 'check', { code }).expect(200);
    assert.deepEqual(ok.body, { id: made.body.id, status: 'approved', action: 'PASS', detail: 'ALL CHECKS PASSED', attempt_count: 1, attempts_left: 3 });
    const again = await post(made.body.id, 'check', { code });
    assert.equal(again.status, 409, 'single use');
    const validated = events.filter((e) => e.event_id === 'WEB_100019');
    assert.equal(validated.length, 1);
    assert.equal(validated[0]!.CUSTOMER_IDENTIFIER, 'user-42');
    const report = await request(demo.app).get(`/api/verify/v1/verifications/${made.body.id}`).set('Authorization', AUTH).expect(200);
    assert.deepEqual([report.body.status, report.body.result, report.body.action, report.body.reference, report.body.properties.final_destination], ['approved', 'clear', 'PASS', '12345', '+46701234567']);
  });

  it('wrong codes: pending with attempts left, then the last attempt answers reject, FAILED OUT-OF-BAND CHECK (allowed_otp_retry 2)', async () => {
    const made = await create({ to: '+447400123456' }).expect(201);
    const right = demo.lastCode('+447400123456');
    const wrong = right === '000000' ? '111111' : '000000';
    const first = await post(made.body.id, 'check', { code: wrong }).expect(200);
    assert.deepEqual([first.body.status, first.body.action, first.body.attempts_left, first.body.error.code], ['pending', 'FAIL', 2, 'INVALID_OTP']);
    await post(made.body.id, 'check', { code: wrong }).expect(200);
    const last = await post(made.body.id, 'check', { code: wrong }).expect(200);
    assert.deepEqual([last.body.status, last.body.action, last.body.detail, last.body.attempt_count, last.body.attempts_left], ['reject', 'FAIL', 'FAILED OUT-OF-BAND CHECK', 3, 0]);
    const late = await post(made.body.id, 'check', { code: right });
    assert.notEqual(late.body.status, 'approved', 'the right code after the abort approves nothing');
  });

  it('the right code checked 20 times at once approves once; no other answer says approved or PASS', async () => {
    const made = await create({ to: '+46701119988' }).expect(201);
    const code = demo.lastCode('+46701119988');
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(made.body.id, 'check', { code })));
    const approved = answers.filter((r) => r.body.status === 'approved');
    assert.equal(approved.length, 1);
    for (const r of answers) if (r !== approved[0]) assert.ok(r.body.status !== 'approved' && r.body.action !== 'PASS' && r.body.error, r.text);
  });

  it('PhoneMatch outcomes of a refused send: DATA CHECK FAILED (422), SUPPRESSED SENDING CODE (422)', async () => {
    const bad = await create({ to: 'not a number' }).expect(422);
    assert.deepEqual([bad.body.status, bad.body.action, bad.body.detail, bad.body.error.code], ['reject', 'FAIL', 'DATA CHECK FAILED', 'INVALID_DESTINATION']);
    const premium = await create({ to: '+46 900 123 45 67' }).expect(422);
    assert.deepEqual([premium.body.action, premium.body.detail], ['FAIL', 'SUPPRESSED SENDING CODE']);
  });

  it('options only narrow the policy: a refused line type or country is SUPPRESSED SENDING CODE (422), kept for a change too; a wider list sends', async () => {
    const mobile = await create({ to: '+46701112200', options: { do_not_send_to_types: ['mobile'] } }).expect(422);
    assert.deepEqual([mobile.body.action, mobile.body.detail], ['FAIL', 'SUPPRESSED SENDING CODE']);
    await create({ to: '+46701112201', options: { country: { whitelist: ['GB'] } } }).expect(422);
    await create({ to: '+46701112202', options: { country: { blacklist: ['SE'] } } }).expect(422);
    const uk = await create({ to: '+447400123411', options: { country: { whitelist: ['GB'] } } }).expect(201);
    const moved = await post(uk.body.id, 'change', { to: '+46701112203' }).expect(422);
    assert.equal(moved.body.detail, 'SUPPRESSED SENDING CODE', 'the options hold for a change of number');
    // A list wider than the authenticator's policy widens nothing: premium rate is refused by the pipe itself.
    const premium = await create({ to: '+46 900 123 45 68', options: { do_not_send_to_types: [] } }).expect(422);
    assert.equal(premium.body.detail, 'SUPPRESSED SENDING CODE');
    await create({ to: '+46701112204', options: { do_not_send_to_types: ['pigeon'] } }).expect(400);
  });

  it('a resend inside the cooldown is RESEND_TOO_SOON; change (within max_changes) and cancel; the answers say so', async () => {
    const made = await create({ to: '+46701112233' }).expect(201);
    const soon = await post(made.body.id, 'resend').expect(429);
    assert.equal(soon.body.error.code, 'RESEND_TOO_SOON', 'the cooldown holds as on the form');
    assert.ok(Number(soon.headers['retry-after']) > 0);
    const changed = await post(made.body.id, 'change', { to: '+46707654321' }).expect(200);
    assert.equal(changed.body.to, '+46 70*** **21');
    const cancelled = await post(made.body.id, 'cancel').expect(200);
    assert.deepEqual([cancelled.body.status, cancelled.body.detail], ['reject', 'TRANSACTION CANCELLED']);
  });

  it('no key, a wrong secret, an unknown key: 401 UNAUTHORIZED (WWW-Authenticate); a made-up id or one of another key: 404; cookies and CSRF play no part', async () => {
    for (const auth of ['', 'Bearer demo.wrong-secret', 'Bearer nobody.demo-secret', 'Basic ZGVtbzpkZW1vLXNlY3JldA==', 'Bearer demo']) {
      const res = await create({ to: '+46701234567' }, auth);
      assert.equal(res.status, 401, auth);
      assert.equal(res.body.error.code, 'UNAUTHORIZED');
      assert.match(String(res.headers['www-authenticate']), /^Bearer/);
    }
    for (const id of ['vf.nothing', 'x', `vf.v1.${'A'.repeat(40)}`]) {
      const res = await request(demo.app).get(`/api/verify/v1/verifications/${id}`).set('Authorization', AUTH);
      assert.equal(res.status, 404, id);
      assert.equal(res.body.error.code, 'NOT_FOUND');
    }
    const made = await create({ to: '+46701234567' }).expect(201);
    assert.equal(made.headers['set-cookie'], undefined, 'no session cookie');
  });

  it('a key past its requests_per_minute is 429 RATE_LIMITED with Retry-After, whatever the route; another key is not', async () => {
    const variant = await demoVariant((c) => {
      c.verify_api.keys[0].requests_per_minute = 3;
      c.verify_api.keys.push({ key_id: 'other', secret: 'other-secret-1', authenticator: 'api-otp' });
    });
    try {
      const get = (auth: string) => request(variant.app).get('/api/verify/v1/verifications/vf.none').set('Authorization', auth);
      for (let i = 0; i < 3; i += 1) await get(AUTH).expect(404);
      const limited = await get(AUTH).expect(429);
      assert.equal(limited.body.error.code, 'RATE_LIMITED');
      assert.ok(Number(limited.headers['retry-after']) >= 1);
      await request(variant.app).post('/api/verify/v1/verifications').set('Authorization', AUTH).send({ to: '+46701234567' }).expect(429);
      await get('Bearer other.other-secret-1').expect(404);
    } finally {
      await variant.authn.close();
    }
  });

  it('bad input: malformed JSON, wrong types, unknown fields, a huge body, a form: 4xx with a clear error.code, never 5xx', async () => {
    const cases: [request.Test, number][] = [
      [request(demo.app).post('/api/verify/v1/verifications').set('Authorization', AUTH).set('Content-Type', 'application/json').send('{"to":'), 400],
      [create({ to: 5 }), 400],
      [create({ to: '+46701234567', colour: 'blue' }), 400],
      [create({ to: '+46701234567', channel: 'pigeon' }), 400],
      [create({ to: 'a@b.se', channel: 'sms' }), 400],
      [create({ to: 'x'.repeat(20_000) }), 413],
      [request(demo.app).post('/api/verify/v1/verifications').set('Authorization', AUTH).type('form').send('to=%2B46701234567'), 415],
      [request(demo.app).get('/api/verify/v1/nothing').set('Authorization', AUTH), 404],
    ];
    for (const [req, status] of cases) {
      const res = await req;
      assert.equal(res.status, status, res.text.slice(0, 200));
      assert.equal(typeof res.body.error?.code, 'string');
      assert.doesNotMatch(res.text, /at .*\.ts:\d+/);
    }
  });
});
