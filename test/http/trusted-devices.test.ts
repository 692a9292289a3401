import assert from 'node:assert/strict';
import request from 'supertest';
import { onEvent } from '../../src/events/bus.js';
import type { EventRecord } from '../../src/events/catalogue.js';
import { demoHarness, tokenFor } from '../support/demo-harness.js';
import { credentialDump } from '../support/test-store.js';
import { demoVariant } from '../support/demo-variant.js';

/** Issue 22: "Don't ask again on this browser for 30 days" on the demo's login step (trust_device.days 30). */
type Agent = ReturnType<typeof request.agent>;

describe('trusted devices: remember this browser (demo)', () => {
  let demo: Awaited<ReturnType<typeof demoHarness>>;
  const events: EventRecord[] = [];
  let stop: () => void;
  before(async () => { demo = await demoHarness(); stop = onEvent((e) => events.push(e)); });
  after(async () => { stop(); delete process.env.OUTBOX_FILE; await demo.authn.close(); });

  async function password(agent: Agent, user: string, pw: string) {
    const token = await tokenFor(agent, '/authn/password');
    await agent.post('/authn/password').set('X-CSRF-Token', token).send({ type: 'start', data: { identifier: user, password: pw } }).expect(200);
  }
  /** A full login with the box ticked; answers the cookie the browser keeps. */
  async function trustedLogin(user: string, pw: string, to: string): Promise<string> {
    const agent = request.agent(demo.app);
    await password(agent, user, pw);
    const page = await agent.get('/authn/method/otp').expect(200);
    assert.match(page.text, /<input id="trust-device" name="trust_device" type="checkbox" value="on"> Don&#39;t ask again on this browser for 30 days<\/label>/);
    const otp = await agent.get('/authn/method/otp').set('Accept', 'application/json').expect(200);
    const done = await agent.post('/authn/method/otp').set('X-CSRF-Token', otp.body.csrf_token).send({ type: 'start', data: { otp: demo.lastCode(to), trust_device: true } }).expect(200);
    const cookie = ([] as string[]).concat(done.headers['set-cookie'] ?? []).find((c) => c.startsWith('otp_trusted_device='));
    assert.ok(cookie, 'the cookie is set');
    assert.match(cookie, /^otp_trusted_device=[A-Za-z0-9_-]{43}; Max-Age=2592000; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Lax$/);
    return cookie.split(';')[0]!;
  }

  it('ticked, a right code trusts the browser: the next login of that user skips the code (otp_method trusted_device), no code is sent', async () => {
    const cookie = await trustedLogin('alice', 'wonderland', '+46701234567');
    const dump = await credentialDump(demo.authn);
    assert.ok(!dump.includes(cookie.split('=')[1]!), 'only the token\'s keyed hash is kept');
    const next = request.agent(demo.app);
    await password(next.set('Cookie', cookie) as unknown as Agent, 'alice', 'wonderland');
    events.length = 0;
    const res = await next.get('/authn/method/otp').set('Cookie', cookie).expect(303);
    assert.equal(res.headers.location, '/account');
    assert.deepEqual(events.filter((e) => e.event_id === 'OTP_200002'), [], 'no code sent');
    assert.equal(events.filter((e) => e.event_id === 'OTP_200022').length, 1);
    const account = await next.get('/account').expect(200);
    assert.match(account.text, /<p id="otp-method">trusted_device<\/p>/);
    assert.match(account.text, /&quot;detail&quot;: &quot;TRUSTED DEVICE&quot;/);
  });

  it('the selector honours a trusted browser itself: its GET completes at once, whichever choice is the default', async () => {
    const cookie = await trustedLogin('alice', 'wonderland', '+46701234567');
    const html = request.agent(demo.app);
    await password(html, 'alice', 'wonderland');
    const res = await html.get('/authn/method').set('Cookie', cookie).expect(303);
    assert.equal(res.headers.location, '/account', 'straight on, not to the default choice first');
    assert.match((await html.get('/account').expect(200)).text, /<p id="otp-method">trusted_device<\/p>/);

    const variant = await demoVariant((c) => {
      const selector = (c.authenticators as { id: string; config: Record<string, unknown> }[]).find((a) => a.id === 'method')!;
      selector.config.default = 'totp';
    });
    try {
      const token = await variant.authn.credentials.trustDevice('alice', 'test', 30, Date.now());
      const json = request.agent(variant.app);
      const t = await tokenFor(json, '/authn/password');
      await json.post('/authn/password').set('X-CSRF-Token', t).send({ type: 'start', data: { identifier: 'alice', password: 'wonderland' } }).expect(200);
      const done = await json.get('/authn/method').set('Cookie', `otp_trusted_device=${token}`).set('Accept', 'application/json').expect(200);
      assert.deepEqual([done.body.status, done.body.location], ['COMPLETED', '/account'], 'the totp default has no trust; the otp choice does');
      const plain = request.agent(variant.app);
      const t2 = await tokenFor(plain, '/authn/password');
      await plain.post('/authn/password').set('X-CSRF-Token', t2).send({ type: 'start', data: { identifier: 'alice', password: 'wonderland' } }).expect(200);
      const untrusted = await plain.get('/authn/method').expect(303);
      assert.equal(untrusted.headers.location, '/authn/method/totp', 'without the cookie: the default choice');
    } finally {
      await variant.authn.close();
    }
  });

  it('another user, a forged or malformed cookie, or a revoked device: the step runs as usual', async () => {
    const cookie = await trustedLogin('bob', 'builder', '+447400123456');
    for (const [user, pw, sent] of [['alice', 'wonderland', cookie], ['bob', 'builder', 'otp_trusted_device=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'], ['bob', 'builder', 'otp_trusted_device=%%%;;;'], ['bob', 'builder', `otp_trusted_device=${'x'.repeat(5000)}`]] as const) {
      const agent = request.agent(demo.app);
      await password(agent, user, pw);
      const page = await agent.get('/authn/method/otp').set('Cookie', sent).set('Accept', 'application/json');
      assert.equal(page.status, 200, `${user} with ${sent.slice(0, 40)}: ${page.text.slice(0, 200)}`);
      assert.equal(page.body.status, 'PENDING');
    }
    const devices = await demo.authn.credentials.devices('bob');
    assert.equal(devices.length, 1);
    assert.ok(devices[0]!.user_agent.length <= 60);
    assert.equal(await demo.authn.credentials.revokeDevices('bob', devices[0]!.id), 1);
    const agent = request.agent(demo.app);
    await password(agent, 'bob', 'builder');
    assert.equal((await agent.get('/authn/method/otp').set('Cookie', cookie).set('Accept', 'application/json')).body.status, 'PENDING', 'revoked');
  });

  it('new recovery codes (or a new app) revoke every trusted browser of the user', async () => {
    const cookie = await trustedLogin('carol', 'bletchley', 'carol@example.com');
    assert.equal((await demo.authn.credentials.devices('carol')).length, 1);
    await demo.authn.credentials.newRecoveryCodes('carol', Date.now());
    assert.equal((await demo.authn.credentials.devices('carol')).length, 0);
    const agent = request.agent(demo.app);
    await password(agent, 'carol', 'bletchley');
    assert.equal((await agent.get('/authn/method/otp').set('Cookie', cookie).set('Accept', 'application/json')).body.status, 'PENDING');
  });

  it('/account lists the trusted browsers under "Security settings" and revokes one (CSRF-checked)', async () => {
    const cookie = await trustedLogin('alice', 'wonderland', '+46701234567');
    const agent = request.agent(demo.app);
    await password(agent, 'alice', 'wonderland');
    await agent.get('/authn/method/otp').set('Cookie', cookie).expect(303);
    const account = await agent.get('/account').expect(200);
    assert.match(account.text, /<h2 id="security-settings">Security settings<\/h2>/);
    const ids = [...account.text.matchAll(/name="id" value="([0-9a-f]{8})"/g)].map((m) => m[1]!);
    assert.ok(ids.length >= 1);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(account.text)?.[1] ?? '';
    await agent.post('/account/devices/revoke').type('form').send({ _csrf: 'forged', id: ids[0] }).expect(403);
    await agent.post('/account/devices/revoke').type('form').send({ _csrf: csrf, id: 'all' }).expect(303).expect('Location', '/account');
    assert.equal((await demo.authn.credentials.devices('alice')).length, 0);
    assert.match((await agent.get('/account').expect(200)).text, /<p id="no-devices">/);
  });

  it('unticked, nothing is trusted; an expired device is not honoured', async () => {
    const agent = request.agent(demo.app);
    await password(agent, 'alice', 'wonderland');
    const otp = await agent.get('/authn/method/otp').set('Accept', 'application/json').expect(200);
    const before = (await demo.authn.credentials.devices('alice')).length;
    const done = await agent.post('/authn/method/otp').set('X-CSRF-Token', otp.body.csrf_token).send({ type: 'start', data: { otp: demo.lastCode('+46701234567') } }).expect(200);
    assert.ok(!String(done.headers['set-cookie'] ?? '').includes('otp_trusted_device='));
    assert.equal((await demo.authn.credentials.devices('alice')).length, before);
    const token = await demo.authn.credentials.trustDevice('alice', 'test', 1, Date.now() - 2 * 86_400_000);
    assert.equal(await demo.authn.credentials.trustedDevice('alice', token, Date.now()), null, 'expired');
  });
});
