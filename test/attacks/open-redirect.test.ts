import assert from 'node:assert/strict';
import request from 'supertest';
import { ALICE, firstGet, harnessPerTest, session, wrongCode } from '../support/otp-api.js';
import { tokenFor } from '../support/demo-harness.js';
import { demoVariant } from '../support/demo-variant.js';
import { jsonLines } from '../support/redis-processes.js';

// Issue 13, attack 5c: open redirect. "Locations come from config only, never from the request" (SPEC section 3).
// Every place a location is answered (COMPLETED, the abort, CANCELLED, GET after COMPLETED or CANCELLED, the form's
// 303s, the password step) is tried with the usual redirect parameters in the query and the body, and with forged
// Host headers. Already proven: the consent form only returns to local paths (test/http/web.pages-and-overlay.test.ts).

const EVIL = 'https://evil.example/phish';
const QUERY = `?location=${encodeURIComponent(EVIL)}&return=${encodeURIComponent(EVIL)}&next=${encodeURIComponent('//evil.example')}&redirect=${encodeURIComponent(EVIL)}&success_location=${encodeURIComponent(EVIL)}&returnTo=${encodeURIComponent(EVIL)}`;
const BODY_FIELDS = { location: EVIL, return: EVIL, next: '//evil.example', redirect: EVIL, success_location: EVIL, cancel_location: EVIL, failure_location: EVIL };

/** Nothing in the answer points at the attacker's site. */
function assertNoEvil(res: request.Response, what: string): void {
  assert.ok(res.status < 500, `${what}: ${res.status}`);
  const everything = JSON.stringify(res.headers) + res.text;
  assert.doesNotMatch(everything, /evil\.example/, `${what}: ${res.status} ${res.headers.location ?? ''} ${res.text.slice(0, 300)}`);
}

describe('attack: open redirect through the OTP step', () => {
  const h = harnessPerTest({ rate_limits: { failures_per_subject_per_hour: 100, sends_per_destination_per_minute: 100 } });

  it('COMPLETED answers the configured success_location, whatever the query and the Host say', async () => {
    const u = await h().user();
    const res = await u.agent.post(`/authn/otp${QUERY}`).set('X-CSRF-Token', u.csrf).set('Host', 'evil.example').set('X-Forwarded-Host', 'evil.example')
      .send({ type: 'start', data: { otp: h().codes().at(-1) } });
    assertNoEvil(res, 'start');
    assert.deepEqual(res.body, { status: 'COMPLETED', location: '/account' });
    const again = await u.agent.get(`/authn/otp${QUERY}`).set('Accept', 'application/json');
    assert.equal(again.status, 303);
    assert.equal(again.headers.location, '/account');
  });

  it('redirect fields in the JSON body are refused as BAD_REQUEST (the envelope is closed), not followed', async () => {
    const u = await h().user();
    for (const body of [
      { type: 'start', data: { otp: h().codes().at(-1) }, ...BODY_FIELDS },
      { type: 'start', data: { otp: h().codes().at(-1), ...BODY_FIELDS } },
      { type: 'cancel', ...BODY_FIELDS },
      { type: 'cancel', data: BODY_FIELDS },
    ]) {
      const res = await u.agent.post('/authn/otp').set('X-CSRF-Token', u.csrf).send(body);
      assertNoEvil(res, JSON.stringify(body));
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.error.code, 'BAD_REQUEST');
    }
    assert.equal((await u.send('status')).body.status, 'PENDING', 'none of them acted');
  });

  it('the abort, and the GET after it, answer the configured failure_location', async () => {
    const u = await h().user();
    let last: request.Response | undefined;
    for (let i = 1; i <= 3; i += 1) last = await u.agent.post(`/authn/otp${QUERY}`).set('X-CSRF-Token', u.csrf).send({ type: 'start', data: { otp: wrongCode(h().codes(), i) } });
    assertNoEvil(last!, 'abort');
    assert.equal(last!.body.location, '/failed');
    const aborted = await u.agent.get(`/authn/otp${QUERY}`).set('Accept', 'application/json');
    assertNoEvil(aborted, 'GET after the abort');
    assert.equal(aborted.body.location, '/failed');
  });

  it('cancel answers the configured cancel_location', async () => {
    const s = await session(h(), ALICE);
    await firstGet(s);
    const res = await s.agent.post(`/authn/otp${QUERY}`).set('X-CSRF-Token', s.csrf).send({ type: 'cancel' });
    assertNoEvil(res, 'cancel');
    assert.deepEqual(res.body, { status: 'CANCELLED', location: '/cancelled' });
  });

  it('the no-JavaScript form: 303s go to the configured locations; extra redirect fields in the form are ignored', async () => {
    const u = await h().user();
    const page = await u.get('text/html');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
    const wrong = await u.agent.post(`/authn/otp${QUERY}`).type('form').send({ _csrf: csrf, otp: wrongCode(h().codes(), 1), ...BODY_FIELDS });
    assertNoEvil(wrong, 'form wrong code');
    const right = await u.agent.post(`/authn/otp${QUERY}`).type('form').send({ _csrf: csrf, otp: h().codes().at(-1), ...BODY_FIELDS });
    assertNoEvil(right, 'form right code');
    assert.equal(right.status, 303);
    assert.equal(right.headers.location, '/account');

    const c = await h().user({ username: 'carol', mobile: '+46702223344' });
    const cPage = await c.get('text/html');
    const cCsrf = /name="_csrf" value="([^"]+)"/.exec(cPage.text)?.[1] ?? '';
    const cancel = await c.agent.post(`/authn/otp${QUERY}`).type('form').send({ _csrf: cCsrf, action: 'cancel', ...BODY_FIELDS });
    assertNoEvil(cancel, 'form cancel');
    assert.equal(cancel.headers.location, '/cancelled');
  });
});

describe('attack: open redirect through the password step and the chain (demo)', function () {
  this.timeout(20_000);
  let demo: Awaited<ReturnType<typeof demoVariant>>;
  before(async () => { demo = await demoVariant(() => {}); });
  after(async () => { await demo.authn.close(); });

  it('the password step, the chain and the OTP step lead only to configured paths, through JSON and forms', async () => {
    const agent = request.agent(demo.app);
    const token = await tokenFor(agent, '/authn/password');
    const pw = await agent.post(`/authn/password${QUERY}`).set('X-CSRF-Token', token).set('Host', 'evil.example')
      .send({ type: 'start', data: { identifier: 'alice', password: 'wonderland' } });
    assertNoEvil(pw, 'password');
    assert.deepEqual(pw.body, { status: 'COMPLETED', location: '/authn/method' });
    const chain = await agent.get(`/authn/login${QUERY}`);
    assertNoEvil(chain, 'chain');
    assert.equal(chain.headers.location, '/authn/method');
    const otpToken = await tokenFor(agent, '/authn/method/otp');
    const code = String(jsonLines(demo.outbox).at(-1)?.text).match(/\d{6}/)?.[0];
    const done = await agent.post(`/authn/method/otp${QUERY}`).set('X-CSRF-Token', otpToken).send({ type: 'start', data: { otp: code } });
    assertNoEvil(done, 'otp');
    assert.deepEqual(done.body, { status: 'COMPLETED', location: '/account' });
    const back = await agent.get(`/authn/password${QUERY}`);
    assertNoEvil(back, 'password step after login');
    assert.equal(back.headers.location, '/account');

    const form = request.agent(demo.app);
    const page = await form.get('/authn/password');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
    const res = await form.post(`/authn/password${QUERY}`).type('form').send({ _csrf: csrf, identifier: 'bob', password: 'builder', ...BODY_FIELDS });
    assertNoEvil(res, 'password form');
    assert.equal(res.headers.location, '/authn/method');
  });
});
