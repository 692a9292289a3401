import assert from 'node:assert/strict';
import request from 'supertest';
import { onEvent } from '../../src/events/bus.js';
import type { EventRecord } from '../../src/events/catalogue.js';
import { tokenFor } from '../support/demo-harness.js';
import { demoVariant } from '../support/demo-variant.js';
import { jsonLines } from '../support/redis-processes.js';

// Issue 13, attack 5b: cross-site request forgery. Every PUT/POST of every authenticator (password, OTP login step,
// OTP phone step), the cookie-consent form and logout need the session's synchroniser token (SPEC section 3); a
// forged request changes nothing. Already proven: the OTP API's missing, wrong and other session's token, PUT, form
// without _csrf (test/http/otp.request-hygiene.test.ts); the token changes at login (test/http/demo.chain.test.ts);
// consent with a wrong token (test/http/web.pages-and-overlay.test.ts); logout with a wrong token (demo.chain).

type Agent = ReturnType<typeof request.agent>;
type Demo = Awaited<ReturnType<typeof demoVariant>>;

/** The forgeries tried against one path: what a cross-site page or a stolen-but-stale token can send. */
interface Forgery { what: string; send(agent: Agent, path: string, body: Record<string, unknown>, own: string, other: string): request.Test }

const JSON_FORGERIES: Forgery[] = [
  { what: 'JSON POST without the header', send: (a, p, b) => a.post(p).send(b) },
  { what: 'JSON PUT without the header', send: (a, p, b) => a.put(p).send(b) },
  { what: 'JSON POST with a wrong token', send: (a, p, b, own) => a.post(p).set('X-CSRF-Token', own.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'))).send(b) },
  { what: "JSON POST with another session's token", send: (a, p, b, _own, other) => a.post(p).set('X-CSRF-Token', other).send(b) },
  { what: 'JSON POST with the token in the query string only', send: (a, p, b, own) => a.post(`${p}?_csrf=${own}`).send(b) },
  { what: 'JSON POST with the token in the body only', send: (a, p, b, own) => a.post(p).send({ ...b, _csrf: own }) },
  { what: 'JSON POST with an empty token', send: (a, p, b) => a.post(p).set('X-CSRF-Token', '').send(b) },
  { what: 'a cross-site "simple" POST (text/plain) holding JSON', send: (a, p, b) => a.post(p).set('Content-Type', 'text/plain').send(JSON.stringify(b)) },
];

const FORM_FORGERIES: Forgery[] = [
  { what: 'form POST without _csrf', send: (a, p, b) => a.post(p).type('form').send(b) },
  { what: 'form POST with a wrong _csrf', send: (a, p, b) => a.post(p).type('form').send({ ...b, _csrf: 'x'.repeat(64) }) },
  { what: "form POST with another session's _csrf", send: (a, p, b, _own, other) => a.post(p).type('form').send({ ...b, _csrf: other }) },
  { what: 'form POST with _csrf twice (the right one and a wrong one)', send: (a, p, b, own) => a.post(p).type('form').send(`${new URLSearchParams(b as Record<string, string>).toString()}&_csrf=${own}&_csrf=wrong`) },
];

function assertCsrf(res: request.Response, what: string): void {
  assert.equal(res.status, 403, `${what}: ${res.status} ${res.text}`);
  if (/json/.test(String(res.headers['content-type']))) assert.equal(res.body.error?.code, 'CSRF', `${what}: ${res.text}`);
  assert.equal(res.headers['set-cookie']?.toString().includes('cookie_consent') ?? false, false);
}

describe('attack: cross-site request forgery against every authenticator (demo)', function () {
  this.timeout(30_000);
  let demo: Demo;
  const events: EventRecord[] = [];
  let stop: () => void;
  before(async () => { demo = await demoVariant(() => {}); stop = onEvent((e) => events.push(e)); });
  after(async () => { stop(); await demo.authn.close(); });

  /** Another session's valid token (what an attacker has: its own). */
  const otherToken = async (path: string) => tokenFor(request.agent(demo.app), path);

  it('the password step: every forgery answers CSRF (403), no credentials checked, no login', async () => {
    const agent = request.agent(demo.app);
    const own = await tokenFor(agent, '/authn/password');
    const other = await otherToken('/authn/password');
    events.length = 0;
    for (const f of JSON_FORGERIES) assertCsrf(await f.send(agent, '/authn/password', { type: 'start', data: { identifier: 'alice', password: 'wonderland' } }, own, other), f.what);
    for (const f of FORM_FORGERIES) assertCsrf(await f.send(agent, '/authn/password', { identifier: 'alice', password: 'wonderland' }, own, other), f.what);
    assert.deepEqual(events.map((e) => e.event_id), [], 'no password was checked');
    await agent.get('/authn/login').expect(303).expect('Location', '/authn/password');
  });

  it('the OTP login step: every request type, JSON and form, forged: CSRF (403), nothing sent, nothing evaluated, nothing cancelled', async () => {
    const agent = request.agent(demo.app);
    const pw = await tokenFor(agent, '/authn/password');
    await agent.post('/authn/password').set('X-CSRF-Token', pw).send({ type: 'start', data: { identifier: 'alice', password: 'wonderland' } }).expect(200);
    const own = await tokenFor(agent, '/authn/method/otp');
    const other = await otherToken('/authn/method/otp');
    const sent = jsonLines(demo.outbox).length;
    const before = (await agent.get('/authn/method/otp').set('Accept', 'application/json')).body;
    events.length = 0;
    const code = String(jsonLines(demo.outbox).at(-1)?.text).match(/\d{6}/)?.[0];
    const bodies = [
      { type: 'init' }, { type: 'start', data: { otp: code } }, { type: 'resend' },
      { type: 'change_destination', data: { destination: '+46702223344' } }, { type: 'cancel' }, { type: 'status' },
    ];
    for (const body of bodies) for (const f of JSON_FORGERIES) assertCsrf(await f.send(agent, '/authn/method/otp', body, own, other), `${body.type}: ${f.what}`);
    for (const body of [{ otp: code }, { action: 'resend' }, { action: 'cancel' }, { action: 'change_destination', destination: '+46702223344' }]) {
      for (const f of FORM_FORGERIES) assertCsrf(await f.send(agent, '/authn/method/otp', body, own, other), `form ${JSON.stringify(body)}: ${f.what}`);
    }
    assert.deepEqual(events.map((e) => e.event_id), [], 'nothing happened');
    assert.equal(jsonLines(demo.outbox).length, sent, 'nothing sent');
    const after = (await agent.get('/authn/method/otp').set('Accept', 'application/json')).body;
    assert.equal(after.status, 'PENDING');
    assert.equal(after.attempts_left, before.attempts_left);
    assert.equal(after.codes_left, before.codes_left);
    // The forged right code did not log the user in; the real request with the token does.
    await agent.get('/account').expect(302);
    const done = await agent.post('/authn/method/otp').set('X-CSRF-Token', own).send({ type: 'start', data: { otp: code } });
    assert.equal(done.body.status, 'COMPLETED', done.text);
  });

  it('the OTP phone step of a signed-in user: a forged change of number is refused (403), nothing sent', async () => {
    const agent = request.agent(demo.app);
    const pw = await tokenFor(agent, '/authn/password');
    await agent.post('/authn/password').set('X-CSRF-Token', pw).send({ type: 'start', data: { identifier: 'bob', password: 'builder' } }).expect(200);
    const otpToken = await tokenFor(agent, '/authn/method/otp');
    const code = String(jsonLines(demo.outbox).at(-1)?.text).match(/\d{6}/)?.[0];
    await agent.post('/authn/method/otp').set('X-CSRF-Token', otpToken).send({ type: 'start', data: { otp: code } }).expect(200);
    await agent.get('/account').expect(200);
    const own = await tokenFor(agent, '/authn/phone');
    const other = await otherToken('/authn/password');
    const sent = jsonLines(demo.outbox).length;
    events.length = 0;
    for (const f of JSON_FORGERIES) assertCsrf(await f.send(agent, '/authn/phone', { type: 'change_destination', data: { destination: '+46939123456' } }, own, other), f.what);
    for (const f of FORM_FORGERIES) assertCsrf(await f.send(agent, '/authn/phone', { action: 'change_destination', destination: '+46939123456' }, own, other), f.what);
    assert.deepEqual(events.map((e) => e.event_id), []);
    assert.equal(jsonLines(demo.outbox).length, sent);
  });

  it('the consent form: without or with a forged _csrf it sets no cookie (403)', async () => {
    const agent = request.agent(demo.app);
    const own = await tokenFor(agent, '/authn/password');
    const other = await otherToken('/authn/password');
    for (const f of FORM_FORGERIES) {
      const res = await f.send(agent, '/_authn/consent?lng=sv', { return: '/account' }, own, other);
      assertCsrf(res, f.what);
      assert.equal(res.headers['set-cookie'], undefined, `${f.what}: no cookie set`);
    }
    const ok = await agent.post('/_authn/consent?lng=sv').type('form').send({ _csrf: own, return: '/account' });
    assert.equal(ok.status, 303, 'the real form works (the forgeries failed for their token only)');
  });

  it('logout: without or with a forged _csrf the user stays signed in (403)', async () => {
    const agent = request.agent(demo.app);
    const pw = await tokenFor(agent, '/authn/password');
    await agent.post('/authn/password').set('X-CSRF-Token', pw).send({ type: 'start', data: { identifier: 'carol', password: 'bletchley' } }).expect(200);
    const otpToken = await tokenFor(agent, '/authn/method/otp');
    const code = String(jsonLines(demo.outbox).filter((l) => l.to === 'carol@example.com').at(-1)?.text).match(/\d{6}/)?.[0];
    await agent.post('/authn/method/otp').set('X-CSRF-Token', otpToken).send({ type: 'start', data: { otp: code } }).expect(200);
    const account = await agent.get('/account').expect(200);
    const own = /name="_csrf" value="([^"]+)"/.exec(account.text)?.[1] ?? '';
    const other = await otherToken('/authn/password');
    for (const f of FORM_FORGERIES) assertCsrf(await f.send(agent, '/logout', {}, own, other), f.what);
    assert.equal((await agent.post('/logout')).status, 403, 'a bodiless POST');
    await agent.get('/account').expect(200);
  });
});
