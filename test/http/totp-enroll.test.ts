import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { generate } from 'otplib';
import { onEvent } from '../../src/events/bus.js';
import type { EventRecord } from '../../src/events/catalogue.js';
import { loadConfig } from '../../src/config/index.js';
import { createDemoApp } from '../../src/demo/demo-app.js';
import { MemoryCredentialStore } from '../../src/store/credential-store.js';
import { PENDING_TTL_MS } from '../../src/authn/totp-enroll-router.js';
import { demoHarness, tokenFor } from '../support/demo-harness.js';
import { credentialDump } from '../support/test-store.js';

/** Issue 22, first part: TotpEnroll in the demo (/authn/enroll for a signed-in user) and TotpValidate reading the store. */
type Agent = ReturnType<typeof request.agent>;
const FILE_SECRET = (JSON.parse(readFileSync('config/demo-users.json', 'utf8')) as { users: { username: string; totp_secret?: string }[] })
  .users.find((u) => u.username === 'alice')!.totp_secret!;

describe('TotpEnroll: an authenticator app enrolled with a QR code, then used to log in (demo)', () => {
  let demo: Awaited<ReturnType<typeof demoHarness>>;
  const events: EventRecord[] = [];
  let stop: () => void;
  before(async () => { demo = await demoHarness(); stop = onEvent((e) => events.push(e)); });
  after(async () => { stop(); delete process.env.OUTBOX_FILE; await demo.authn.close(); });

  async function signIn(agent: Agent, user: string, pw: string, mobile: string) {
    const token = await tokenFor(agent, '/authn/password');
    await agent.post('/authn/password').set('X-CSRF-Token', token).send({ type: 'start', data: { identifier: user, password: pw } }).expect(200);
    const otp = await agent.get('/authn/method/otp').set('Accept', 'application/json').expect(200);
    await agent.post('/authn/method/otp').set('X-CSRF-Token', otp.body.csrf_token).send({ type: 'start', data: { otp: demo.lastCode(mobile) } }).expect(200);
  }

  const secretOf = (body: { secret_groups: string[] }) => body.secret_groups.join('');

  it('only a signed-in user reaches it', async () => {
    const agent = request.agent(demo.app);
    await agent.get('/authn/enroll').set('Accept', 'application/json').expect(401);
    await agent.get('/authn/enroll').expect(302).expect('Location', '/authn/login');
  });

  it('GET shows the otpauth URI, the key in groups of four and an SVG QR code; the same pending key until it is used', async () => {
    const agent = request.agent(demo.app);
    await signIn(agent, 'bob', 'builder', '+447400123456');
    const res = await agent.get('/authn/enroll').set('Accept', 'application/json').expect(200);
    assert.equal(res.body.status, 'PENDING');
    const secret = secretOf(res.body);
    assert.match(secret, /^[A-Z2-7]{32}$/, '20 random bytes, base32');
    assert.ok(res.body.secret_groups.every((g: string) => g.length === 4));
    assert.equal(res.body.otpauth_uri, `otpauth://totp/Demo%20SSO:bob?secret=${secret}&issuer=Demo%20SSO&algorithm=SHA1&digits=6&period=30`);
    assert.match(res.body.qr_svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[^>]*>.*<\/svg>\s*$/s);
    const again = await agent.get('/authn/enroll').set('Accept', 'application/json').expect(200);
    assert.equal(secretOf(again.body), secret);
    const page = await agent.get('/authn/enroll').expect(200);
    assert.match(page.text, /<figure id="totp-qr"[^>]*><svg/);
    assert.match(page.text, new RegExp(`<p id="totp-secret" class="secret" translate="no">${res.body.secret_groups.map((g: string) => `<span>${g}</span>`).join(' ')}</p>`));
    assert.doesNotMatch(page.text, /<img|https?:\/\/(?!www\.w3\.org)/, 'the QR code is inline: no request leaves the page');
  });

  it('a wrong code does not activate; the right one does (OTP_200017); the form replayed answers NO_PENDING_CODE', async () => {
    const agent = request.agent(demo.app);
    await signIn(agent, 'bob', 'builder', '+447400123456');
    const res = await agent.get('/authn/enroll').set('Accept', 'application/json').expect(200);
    const secret = secretOf(res.body);
    const code = await generate({ strategy: 'totp', secret });
    const wrong = await agent.post('/authn/enroll').set('X-CSRF-Token', res.body.csrf_token).send({ type: 'start', data: { otp: code === '000000' ? '111111' : '000000' } });
    assert.equal(wrong.body.error.code, 'INVALID_OTP');
    assert.equal(wrong.body.attempts_left, 4);
    assert.equal(await demo.authn.credentials.totp('bob'), null, 'nothing enrolled');
    events.length = 0;
    const ok = await agent.post('/authn/enroll').set('X-CSRF-Token', res.body.csrf_token).send({ type: 'start', data: { otp: code } }).expect(200);
    assert.deepEqual(ok.body, { status: 'COMPLETED', location: '/authn/recovery-codes' }, 'without recovery codes, the activation leads to making them');
    const offer = await agent.get('/authn/recovery-codes').expect(200);
    assert.match(offer.text, /<p id="recovery-why">Recovery codes let you sign in when you cannot use your phone or your authenticator app\.<\/p>/);
    assert.deepEqual(await demo.authn.credentials.totp('bob'), { secret, algorithm: 'sha1', digits: 6, period: 30 });
    assert.equal(events.filter((e) => e.event_id === 'OTP_200017' && e.CUSTOMER_IDENTIFIER === 'bob').length, 1);
    const replay = await agent.post('/authn/enroll').set('X-CSRF-Token', res.body.csrf_token).send({ type: 'start', data: { otp: code } });
    assert.equal(replay.status, 409);
    assert.equal(replay.body.error.code, 'NO_PENDING_CODE');
    for (const bad of [{ type: 'start' }, { type: 'start', data: { otp: 5 } }, { type: 'init' }]) {
      await agent.post('/authn/enroll').set('X-CSRF-Token', res.body.csrf_token).send(bad).expect(400);
    }
    await agent.post('/authn/enroll').set('X-CSRF-Token', 'forged').send({ type: 'start', data: { otp: code } }).expect(403);
  });

  it('alice enrols a new app: she logs in with it, and the secret in the user file no longer works', async () => {
    const agent = request.agent(demo.app);
    await signIn(agent, 'alice', 'wonderland', '+46701234567');
    const res = await agent.get('/authn/enroll').set('Accept', 'application/json').expect(200);
    const secret = secretOf(res.body);
    const activation = await generate({ strategy: 'totp', secret });
    await agent.post('/authn/enroll').set('X-CSRF-Token', res.body.csrf_token).send({ type: 'start', data: { otp: activation } }).expect(200);
    const dump = await credentialDump(demo.authn);
    assert.ok(!dump.includes(secret), 'the store holds no clear secret');
    assert.match(dump, /"sealed_secret":"v1\./);

    const next = request.agent(demo.app);
    const token = await tokenFor(next, '/authn/password');
    await next.post('/authn/password').set('X-CSRF-Token', token).send({ type: 'start', data: { identifier: 'alice', password: 'wonderland' } }).expect(200);
    const page = await next.get('/authn/method/totp').set('Accept', 'application/json').expect(200);
    const old = await next.post('/authn/method/totp').set('X-CSRF-Token', page.body.csrf_token).send({ type: 'start', data: { otp: await generate({ strategy: 'totp', secret: FILE_SECRET }) } });
    assert.equal(old.body.error?.code, 'INVALID_OTP', 'the file secret was replaced');
    const replayed = await next.post('/authn/method/totp').set('X-CSRF-Token', page.body.csrf_token).send({ type: 'start', data: { otp: activation } });
    assert.equal(replayed.body.error?.code, 'INVALID_OTP', 'the code that activated the app does not also log in');
    // The next time step's code (one step ahead is within the window of 1).
    const done = await next.post('/authn/method/totp').set('X-CSRF-Token', page.body.csrf_token).send({ type: 'start', data: { otp: await generate({ strategy: 'totp', secret, epoch: Math.floor(Date.now() / 1000) + 30 }) } });
    assert.deepEqual(done.body, { status: 'COMPLETED', location: '/account' });
    const held = await demo.authn.credentials.store.getTotp('alice');
    assert.ok(held?.last_used_at, 'its use is recorded');
  });

  it('with recovery codes already made, an activation (the form) goes to success_location, and the codes stay', async () => {
    const agent = request.agent(demo.app);
    await signIn(agent, 'carol', 'bletchley', 'carol@example.com');
    const made = await demo.authn.credentials.newRecoveryCodes('carol', Date.now());
    const res = await agent.get('/authn/enroll').set('Accept', 'application/json').expect(200);
    const code = await generate({ strategy: 'totp', secret: secretOf(res.body) });
    const form = await agent.post('/authn/enroll').type('form').send({ _csrf: res.body.csrf_token, otp: code }).expect(303);
    assert.equal(form.headers.location, '/account');
    assert.equal(await demo.authn.credentials.recoveryCodesLeft('carol'), made.length);
  });

  it('a code for a pending key that expired answers NO_PENDING_CODE, and the next GET makes another key', async () => {
    let clock = Date.now();
    const env = { ...process.env, OTP_SECRET: 'demo-test-otp', SESSION_SECRET: 'demo-test-session' };
    const timed = await createDemoApp(loadConfig('config/default.json', env), { env, now: () => clock });
    const agent = request.agent(timed.app);
    const token = await tokenFor(agent, '/authn/password');
    await agent.post('/authn/password').set('X-CSRF-Token', token).send({ type: 'start', data: { identifier: 'carol', password: 'bletchley' } }).expect(200);
    await agent.get('/authn/method/otp').set('Accept', 'application/json').expect(200);
    const code = demo.lastCode('carol@example.com');
    await agent.post('/authn/method/otp').set('X-CSRF-Token', token).send({ type: 'start', data: { otp: code } }).expect(200);
    const res = await agent.get('/authn/enroll').set('Accept', 'application/json').expect(200);
    clock += PENDING_TTL_MS + 1000;
    const late = await agent.post('/authn/enroll').set('X-CSRF-Token', res.body.csrf_token).send({ type: 'start', data: { otp: await generate({ strategy: 'totp', secret: secretOf(res.body), epoch: Math.floor(clock / 1000) }) } });
    assert.equal(late.status, 409, late.text);
    assert.equal(late.body.error.code, 'NO_PENDING_CODE');
    const fresh = await agent.get('/authn/enroll').set('Accept', 'application/json').expect(200);
    assert.notEqual(secretOf(fresh.body), secretOf(res.body));
    await timed.authn.close();
  });
});
