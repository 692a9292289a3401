import assert from 'node:assert/strict';
import request from 'supertest';
import { demoVariant } from '../support/demo-variant.js';
import { jsonLines } from '../support/redis-processes.js';

// Issue 13: session fixation and cookie theft. The session id is renewed when the chain completes (passport login
// with keepSessionInfo, then a fresh CSRF token: src/authn/chain.ts), a cookie the server did not sign is never
// adopted, and the cookie is HttpOnly, SameSite and (when configured) Secure. Already proven: the id is renewed
// and the old CSRF token refused (test/http/demo.chain.test.ts).

const sidOf = (res: request.Response): string | undefined => /(?:^|,)\s*sid=([^;]+)/.exec(String(res.headers['set-cookie'] ?? ''))?.[1];

describe('attack: session fixation (demo)', function () {
  this.timeout(20_000);
  let demo: Awaited<ReturnType<typeof demoVariant>>;
  before(async () => { demo = await demoVariant(() => {}); });
  after(async () => { await demo.authn.close(); });

  it('a session id the server did not issue is not adopted: a new one is set', async () => {
    for (const forged of ['attacker-chosen-id', 's%3Aattacker-chosen-id.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']) {
      const res = await request(demo.app).get('/authn/password').set('Accept', 'application/json').set('Cookie', `sid=${forged}`);
      assert.equal(res.status, 200);
      const issued = sidOf(res);
      assert.ok(issued, 'a session cookie is issued');
      assert.ok(!issued.includes('attacker-chosen-id'), `adopted: ${issued}`);
    }
  });

  it('a session planted in the victim\'s browser before login is worthless after it: the id changes and the old cookie is not signed in', async () => {
    // The attacker gets a real, server-issued session, and plants its cookie in the victim's browser.
    const attacker = await request(demo.app).get('/authn/password').set('Accept', 'application/json');
    const planted = `sid=${sidOf(attacker)}`;
    const victim = (path: string) => ({ get: () => request(demo.app).get(path).set('Cookie', planted).set('Accept', 'application/json') });
    const token = attacker.body.csrf_token as string;
    await request(demo.app).post('/authn/password').set('Cookie', planted).set('X-CSRF-Token', token).send({ type: 'start', data: { identifier: 'alice', password: 'wonderland' } }).expect(200);
    const otp = await victim('/authn/method/otp').get().expect(200);
    const code = String(jsonLines(demo.outbox).at(-1)?.text).match(/\d{6}/)?.[0];
    const done = await request(demo.app).post('/authn/method/otp').set('Cookie', planted).set('X-CSRF-Token', otp.body.csrf_token).send({ type: 'start', data: { otp: code } });
    assert.equal(done.body.status, 'COMPLETED', done.text);
    const renewed = sidOf(done);
    assert.ok(renewed && `sid=${renewed}` !== planted, 'the login answered a new session cookie');
    // The victim (new cookie) is signed in; the attacker (old cookie) is not.
    await request(demo.app).get('/account').set('Cookie', `sid=${renewed}`).expect(200);
    await request(demo.app).get('/account').set('Cookie', planted).expect(302).expect('Location', '/authn/login');
  });

  it('the session cookie is HttpOnly, SameSite=Lax, Path=/, with a Max-Age', async () => {
    const res = await request(demo.app).get('/authn/password').set('Accept', 'application/json');
    const cookie = String(res.headers['set-cookie']);
    assert.match(cookie, /sid=/);
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Lax/i);
    assert.match(cookie, /Path=\//);
    assert.match(cookie, /Expires=|Max-Age=/i);
  });
});

describe('attack: the session cookie over plain HTTP when server.session.secure is set', function () {
  this.timeout(20_000);
  let demo: Awaited<ReturnType<typeof demoVariant>>;
  before(async () => { demo = await demoVariant((c) => { c.server.session.secure = true; c.server.trust_proxy = 1; }); });
  after(async () => { await demo.authn.close(); });

  it('is never sent over plain HTTP, and is Secure behind a TLS-terminating proxy (X-Forwarded-Proto: https)', async () => {
    const plain = await request(demo.app).get('/authn/password').set('Accept', 'application/json');
    assert.equal(sidOf(plain), undefined, `no session cookie over http: ${plain.headers['set-cookie']}`);
    const tls = await request(demo.app).get('/authn/password').set('Accept', 'application/json').set('X-Forwarded-Proto', 'https');
    assert.match(String(tls.headers['set-cookie']), /sid=.*;.*Secure/i);
    assert.ok(tls.headers['strict-transport-security'], 'HSTS with secure cookies');
  });
});
