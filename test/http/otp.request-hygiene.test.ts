import assert from 'node:assert/strict';
import { ALICE_MOBILE, assertErrorAnswer, assertNoLeak, eventsOf, harnessPerTest, outboxCount } from '../support/otp-api.js';
import { OTP_PATH } from '../support/otp-harness.js';

describe('OTP API: CSRF', () => {
  const h = harnessPerTest();

  it('a POST without the token answers CSRF (403) and evaluates nothing', async () => {
    const u = await h().user();
    const res = await u.agent.post(OTP_PATH).send({ type: 'start', data: { otp: h().codes(ALICE_MOBILE)[0] } });
    assertErrorAnswer(res, 403, 'CSRF');
    assert.equal(eventsOf(h(), 'WEB_100019').length, 0);
    assert.equal((await u.send('status').expect(200)).body.status, 'PENDING');
  });

  it('a wrong token answers CSRF (403)', async () => {
    const u = await h().user();
    const wrong = u.csrf.slice(0, -1) + (u.csrf.endsWith('0') ? '1' : '0');
    assertErrorAnswer(await u.agent.post(OTP_PATH).set('X-CSRF-Token', wrong).send({ type: 'init' }), 403, 'CSRF');
    assertErrorAnswer(await u.agent.post(OTP_PATH).set('X-CSRF-Token', '').send({ type: 'init' }), 403, 'CSRF');
  });

  it("another session's token answers CSRF (403), also on PUT", async () => {
    const u = await h().user();
    const other = await h().user({ username: 'bob', mobile: '+46701112233' });
    assert.notEqual(u.csrf, other.csrf);
    assertErrorAnswer(await u.agent.post(OTP_PATH).set('X-CSRF-Token', other.csrf).send({ type: 'resend' }), 403, 'CSRF');
    assertErrorAnswer(await u.agent.put(OTP_PATH).set('X-CSRF-Token', other.csrf).send({ type: 'resend' }), 403, 'CSRF');
    assert.equal(eventsOf(h(), 'OTP_200005').length, 0);
  });

  it('PUT with the right token works like POST', async () => {
    const u = await h().user();
    const res = await u.agent.put(OTP_PATH).set('X-CSRF-Token', u.csrf).send({ type: 'init' }).expect(200);
    assert.equal(res.body.status, 'PENDING');
  });

  it('a form POST without _csrf answers CSRF (403)', async () => {
    const u = await h().user();
    const res = await u.agent.post(OTP_PATH).type('form').send({ otp: h().codes()[0] });
    assert.equal(res.status, 403);
    assertNoLeak(res);
    assert.equal(eventsOf(h(), 'WEB_100019').length, 0);
  });
});

describe('OTP API: malformed requests', () => {
  const h = harnessPerTest();

  const post = async (body: string | object, type = 'application/json') => {
    const u = await h().user();
    const res = await u.agent.post(OTP_PATH).set('X-CSRF-Token', u.csrf).set('Content-Type', type).send(typeof body === 'string' ? body : JSON.stringify(body));
    return { res, u };
  };

  it('malformed JSON answers BAD_REQUEST (400)', async () => {
    assertErrorAnswer((await post('{"type": "start", "data": {')).res, 400, 'BAD_REQUEST');
    assertErrorAnswer((await post('{type: init}')).res, 400, 'BAD_REQUEST');
  });

  it('an unknown type answers BAD_REQUEST (400)', async () => {
    assertErrorAnswer((await post({ type: 'approve' })).res, 400, 'BAD_REQUEST');
    assertErrorAnswer((await post({ type: '__proto__' })).res, 400, 'BAD_REQUEST');
    assertErrorAnswer((await post({ data: {} })).res, 400, 'BAD_REQUEST');
  });

  const badShapes: [string, unknown][] = [
    ['an extra top-level field', { type: 'init', admin: true }],
    ['an extra field in data', { type: 'start', data: { otp: '123456', attempts_left: 99 } }],
    ['otp as a number', { type: 'start', data: { otp: 123456 } }],
    ['otp as null', { type: 'start', data: { otp: null } }],
    ['an empty otp', { type: 'start', data: { otp: '' } }],
    ['data as an array', { type: 'start', data: ['123456'] }],
    ['data as a string', { type: 'start', data: '123456' }],
    ['start without data', { type: 'start' }],
    ['type as a number', { type: 1 }],
    ['data for init', { type: 'init', data: { x: 1 } }],
    ['destination as an object', { type: 'change_destination', data: { destination: { $ne: '' } } }],
    ['a JSON array body', [{ type: 'init' }]],
    ['a JSON string body', 'init'],
    ['a JSON null body', null],
  ];
  for (const [what, body] of badShapes) {
    it(`${what} answers BAD_REQUEST (400) and changes nothing`, async () => {
      const { res, u } = await post(JSON.stringify(body));
      assertErrorAnswer(res, 400, 'BAD_REQUEST');
      const status = await u.send('status').expect(200);
      assert.equal(status.body.attempts_left, 3);
      assert.equal(outboxCount(h()), 1);
    });
  }

  it('a body over 16 KB answers BAD_REQUEST with 413', async () => {
    const { res } = await post({ type: 'start', data: { otp: '1'.repeat(17 * 1024) } });
    assertErrorAnswer(res, 413, 'BAD_REQUEST');
  });

  it('a body just under 16 KB is read (and refused for its shape, 400, not 413)', async () => {
    const { res } = await post({ type: 'start', data: { otp: '1'.repeat(15 * 1024) } });
    assertErrorAnswer(res, 400, 'BAD_REQUEST');
  });

  it('text/plain answers BAD_REQUEST with 415', async () => {
    const { res } = await post('{"type":"init"}', 'text/plain');
    assertErrorAnswer(res, 415, 'BAD_REQUEST');
  });

  it('no content type at all answers 415', async () => {
    const u = await h().user();
    const res = await u.agent.post(OTP_PATH).set('X-CSRF-Token', u.csrf).unset('Content-Type').send(Buffer.from('{"type":"init"}'));
    // supertest sets application/octet-stream for a Buffer: still not JSON
    assertErrorAnswer(res, 415, 'BAD_REQUEST');
  });

  it('DELETE and PATCH answer 405 with Allow', async () => {
    const u = await h().user();
    for (const method of ['delete', 'patch'] as const) {
      const res = await u.agent[method](OTP_PATH).set('X-CSRF-Token', u.csrf).send({ type: 'cancel' });
      assertErrorAnswer(res, 405, 'BAD_REQUEST');
      assert.match(String(res.headers.allow), /GET/);
      assert.match(String(res.headers.allow), /POST/);
    }
    assert.equal(eventsOf(h(), 'OTP_200012').length, 0, 'DELETE did not cancel');
  });

  it('every JSON answer has status; none of the bad requests is a 5xx', async () => {
    const u = await h().user();
    const answers = await Promise.all([
      u.agent.post(OTP_PATH).set('X-CSRF-Token', u.csrf).set('Content-Type', 'application/json').send('{"'),
      u.agent.post(OTP_PATH).set('X-CSRF-Token', u.csrf).set('Content-Type', 'application/json').send('\u0000\u0001'),
      u.agent.post(OTP_PATH).set('X-CSRF-Token', u.csrf).set('Content-Type', 'application/json; charset=iso-8859-1').send('{"type":"init"}'),
      u.agent.post(OTP_PATH).set('X-CSRF-Token', u.csrf).set('Content-Type', 'application/json').set('Content-Encoding', 'gzip').send('{"type":"init"}'),
      u.agent.post(`${OTP_PATH}?type=start&otp=1`).set('X-CSRF-Token', u.csrf).send({ type: 'init', data: { otp: '1' } }),
    ]);
    for (const res of answers) {
      assertNoLeak(res);
      assert.ok(res.status >= 400 && res.status < 500, `${res.status} ${res.text}`);
      assert.equal(res.body.status, 'ERROR', res.text);
      assert.equal(res.body.error.code, 'BAD_REQUEST', res.text);
    }
  });
});
