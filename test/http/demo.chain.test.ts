import assert from 'node:assert/strict';
import request from 'supertest';
import { onEvent } from '../../src/events/bus.js';
import type { EventRecord } from '../../src/events/catalogue.js';
import { demoHarness, tokenFor } from '../support/demo-harness.js';

describe('demo: the login chain (password, then OTP, then /account)', () => {
  let demo: Awaited<ReturnType<typeof demoHarness>>;
  const events: EventRecord[] = [];
  let stop: () => void;
  before(async () => { demo = await demoHarness(); stop = onEvent((e) => events.push(e)); });
  after(async () => { stop(); delete process.env.OUTBOX_FILE; await demo.authn.close(); });

  async function password(agent: ReturnType<typeof request.agent>, identifier: string, pw: string) {
    const token = await tokenFor(agent, '/authn/password');
    return agent.post('/authn/password').set('X-CSRF-Token', token).send({ type: 'start', data: { identifier, password: pw } });
  }

  it('/authn/login sends the browser to the first step, /account to the login', async () => {
    const agent = request.agent(demo.app);
    await agent.get('/authn/login').expect(303).expect('Location', '/authn/password');
    await agent.get('/account').expect(302).expect('Location', '/authn/login');
  });

  it('alice logs in with password and code, the session id is renewed, /account shows her and the report', async () => {
    const agent = request.agent(demo.app);
    const first = await password(agent, 'alice', 'wonderland');
    assert.deepEqual(first.body, { status: 'COMPLETED', location: '/authn/method' });
    await agent.get('/authn/login').expect(303).expect('Location', '/authn/method');
    const otpPage = await agent.get('/authn/method/otp').set('Accept', 'application/json').expect(200);
    assert.equal(otpPage.body.status, 'PENDING');
    assert.equal(otpPage.body.destination, '+46 70*** **67');
    const cookieBefore = String(otpPage.headers['set-cookie'] ?? '');
    const code = demo.lastCode('+46701234567');
    assert.match(code, /^\d{6}$/);
    const done = await agent.post('/authn/method/otp').set('X-CSRF-Token', otpPage.body.csrf_token).send({ type: 'start', data: { otp: code } }).expect(200);
    assert.deepEqual(done.body, { status: 'COMPLETED', location: '/account' });
    const renewed = String(done.headers['set-cookie'] ?? '');
    assert.match(renewed, /sid=/, 'login sets a new session cookie');
    assert.notEqual(renewed, cookieBefore);
    const account = await agent.get('/account').expect(200);
    assert.match(account.text, /<td>alice<\/td>/);
    assert.match(account.text, /&quot;status&quot;: &quot;approved&quot;/);
    assert.match(account.text, /&quot;detail&quot;: &quot;ALL CHECKS PASSED&quot;/);
  });

  it('carol, who has no mobile, gets her code by e-mail and logs in', async () => {
    const agent = request.agent(demo.app);
    assert.equal((await password(agent, 'carol', 'bletchley')).body.location, '/authn/method');
    const page = await agent.get('/authn/method/otp').set('Accept', 'application/json').expect(200);
    assert.equal(page.body.destination, 'c***@example.com');
    assert.equal(page.body.channel, 'email');
    const code = demo.lastCode('carol@example.com');
    assert.match(code, /^\d{6}$/);
    const done = await agent.post('/authn/method/otp').set('X-CSRF-Token', page.body.csrf_token).send({ type: 'start', data: { otp: code } });
    assert.deepEqual(done.body, { status: 'COMPLETED', location: '/account' });
    const account = await agent.get('/account').expect(200);
    assert.match(account.text, /<td>carol<\/td>/);
    assert.match(account.text, /&quot;channel&quot;: &quot;email&quot;/);
  });

  it('/authn/phone: a signed-in user verifies a new number; its report shows on /account beside the login report', async () => {
    const anonymous = request.agent(demo.app);
    await anonymous.get('/authn/phone').expect(302).expect('Location', '/authn/login');
    const afterPassword = request.agent(demo.app);
    await password(afterPassword, 'alice', 'wonderland');
    await afterPassword.get('/authn/phone').expect(302).expect('Location', '/authn/login');

    const agent = request.agent(demo.app);
    await password(agent, 'alice', 'wonderland');
    const token = await tokenFor(agent, '/authn/method/otp');
    await agent.post('/authn/method/otp').set('X-CSRF-Token', token).send({ type: 'start', data: { otp: demo.lastCode('+46701234567') } }).expect(200);
    const phone = await agent.get('/authn/phone').set('Accept', 'application/json').expect(200);
    assert.equal(phone.body.destination, '+46 70*** **67', 'starts from her own number');
    const changed = await agent.post('/authn/phone').set('X-CSRF-Token', phone.body.csrf_token).send({ type: 'change_destination', data: { destination: '070-765 43 21' } }).expect(200);
    assert.equal(changed.body.destination, '+46 70*** **21');
    const done = await agent.post('/authn/phone').set('X-CSRF-Token', phone.body.csrf_token).send({ type: 'start', data: { otp: demo.lastCode('+46707654321') } }).expect(200);
    assert.deepEqual(done.body, { status: 'COMPLETED', location: '/account' });
    const account = await agent.get('/account').expect(200);
    assert.match(account.text, /Phone verification report/);
    assert.match(account.text, /&quot;final_destination&quot;: &quot;\+46707654321&quot;/);
    assert.match(account.text, /&quot;phone_number_changes&quot;: 1/);
    const login = await agent.get('/authn/method/otp').set('Accept', 'application/json');
    assert.equal(login.status, 303, 'the login MFA step stays completed');
  });

  it('the login MFA step refuses a change of destination', async () => {
    const agent = request.agent(demo.app);
    await password(agent, 'bob', 'builder');
    const token = await tokenFor(agent, '/authn/method/otp');
    const res = await agent.post('/authn/method/otp').set('X-CSRF-Token', token).send({ type: 'change_destination', data: { destination: '+46 70 765 43 21' } });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'MAX_CHANGES');
  });

  it('the CSRF token changes at login: the old one is refused afterwards', async () => {
    const agent = request.agent(demo.app);
    await password(agent, 'bob', 'builder');
    const before = await tokenFor(agent, '/authn/method/otp');
    await agent.post('/authn/method/otp').set('X-CSRF-Token', before).send({ type: 'start', data: { otp: demo.lastCode('+447400123456') } }).expect(200);
    const after = await tokenFor(agent, '/authn/password');
    assert.notEqual(after, before);
    const stale = await agent.post('/authn/password').set('X-CSRF-Token', before).send({ type: 'start', data: { identifier: 'bob', password: 'builder' } });
    assert.equal(stale.status, 403);
    assert.equal(stale.body.error.code, 'CSRF');
  });

  it('a wrong password and an unknown user get the same answer and the same event shape', async () => {
    events.length = 0;
    const a = await password(request.agent(demo.app), 'alice', 'not-her-password');
    const b = await password(request.agent(demo.app), 'mallory', 'whatever');
    assert.equal(a.status, 200);
    assert.deepEqual(a.body, b.body);
    assert.equal(a.body.error.code, 'INVALID_CREDENTIALS');
    const failures = events.filter((e) => e.event_id === 'WEB_100018');
    assert.equal(failures.length, 2);
    assert.deepEqual(Object.keys(failures[0]!).sort(), Object.keys(failures[1]!).sort());
  });

  it('after allowed_retries + 1 wrong passwords the step answers MAX_ATTEMPTS with aborted', async () => {
    const agent = request.agent(demo.app);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push((await password(agent, 'alice', `wrong-${i}`)).body);
    assert.deepEqual(answers.map((a) => a.error.code), ['INVALID_CREDENTIALS', 'INVALID_CREDENTIALS', 'MAX_ATTEMPTS', 'MAX_ATTEMPTS']);
    assert.equal(answers[2].aborted, true);
    const right = await password(agent, 'alice', 'wonderland');
    assert.equal(right.body.error.code, 'MAX_ATTEMPTS', 'even the right password is refused after the abort');
  });

  it('the OTP step reached before the password step answers NOT_IN_FLOW', async () => {
    const agent = request.agent(demo.app);
    const res = await agent.get('/authn/method/otp').set('Accept', 'application/json').expect(401);
    assert.equal(res.body.error.code, 'NOT_IN_FLOW');
    assert.ok(res.body.csrf_token);
  });

  it('cancel answers CANCELLED with the chain\'s cancel location and the user is not logged in', async () => {
    const agent = request.agent(demo.app);
    await password(agent, 'alice', 'wonderland');
    const token = await tokenFor(agent, '/authn/method/otp');
    const res = await agent.post('/authn/method/otp').set('X-CSRF-Token', token).send({ type: 'cancel' }).expect(200);
    assert.deepEqual(res.body, { status: 'CANCELLED', location: '/' });
    await agent.get('/account').expect(302);
  });

  it('logout ends the session', async () => {
    const agent = request.agent(demo.app);
    await password(agent, 'bob', 'builder');
    const token = await tokenFor(agent, '/authn/method/otp');
    await agent.post('/authn/method/otp').set('X-CSRF-Token', token).send({ type: 'start', data: { otp: demo.lastCode('+447400123456') } }).expect(200);
    const account = await agent.get('/account').expect(200);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(account.text)?.[1] ?? '';
    await agent.post('/logout').type('form').send({ _csrf: 'wrong' }).expect(403);
    await agent.post('/logout').type('form').send({ _csrf: csrf }).expect(303).expect('Location', '/');
    await agent.get('/account').expect(302);
  });

  it('the no-JavaScript forms log in too', async () => {
    const agent = request.agent(demo.app);
    const page = await agent.get('/authn/password').expect(200);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
    await agent.post('/authn/password').type('form').send({ _csrf: csrf, identifier: 'alice', password: 'wonderland' }).expect(303).expect('Location', '/authn/method');
    const otp = await agent.get('/authn/method/otp').expect(200);
    assert.match(otp.text, /autocomplete="one-time-code"/);
    assert.match(otp.text, /inputmode="numeric"/);
    const otpCsrf = /name="_csrf" value="([^"]+)"/.exec(otp.text)?.[1] ?? '';
    const wrong = await agent.post('/authn/method/otp').type('form').send({ _csrf: otpCsrf, otp: '000000' === demo.lastCode('+46701234567') ? '111111' : '000000' });
    assert.equal(wrong.status, 200);
    assert.match(wrong.text, /role="alert" aria-live="assertive">Wrong one-time password</);
    await agent.post('/authn/method/otp').type('form').send({ _csrf: otpCsrf, otp: demo.lastCode('+46701234567') }).expect(303).expect('Location', '/account');
    await agent.get('/account').expect(200);
  });
});
