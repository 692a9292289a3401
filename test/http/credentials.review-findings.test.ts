import assert from 'node:assert/strict';
import request from 'supertest';
import { generate } from 'otplib';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/config/config-error.js';
import { createDemoApp } from '../../src/demo/demo-app.js';
import { createSecretBox } from '../../src/codes/secret-box.js';
import { MemoryCredentialStore } from '../../src/store/credential-store.js';
import { chainApp } from '../support/chain-app.js';
import { demoHarness, tokenFor } from '../support/demo-harness.js';
import { tempConfigDir, validConfig } from '../support/temp-config.js';
import { loadConfigOn, testStore } from '../support/test-store.js';

/** The findings of the review of enrolment and recovery codes (issue 22), each held by a test. */
type Agent = ReturnType<typeof request.agent>;

async function passwordAs(agent: Agent, path: string, identifier: string, pw: string) {
  const token = (await agent.get(path).set('Accept', 'application/json')).body.csrf_token as string;
  return agent.post(path).set('X-CSRF-Token', token).send({ type: 'start', data: { identifier, password: pw } });
}

describe('credentials: a passed factor is the subject\'s own, checked again at activation', () => {
  const authenticators = [
    { id: 'login', type: 'Chain', config: { base_path: '/sso', chain: [{ id: 'pw' }, { id: 'code' }], success_location: '/home' } },
    { id: 'pw', type: 'UserNameAndPassword', config: { base_path: '/sso', pipe_id: 'users' } },
    { id: 'code', type: 'OTP', config: { base_path: '/sso', pre_pipe_id: 'send', pipe_id: 'check', subject: '${exports.username}', destination: { source: '${exports.mobile}' } } },
    { id: 'pw2', type: 'UserNameAndPassword', config: { base_path: '/sso', pipe_id: 'users' } },
    { id: 'enroll', type: 'TotpEnroll', config: { base_path: '/sso', success_location: '/home' } },
    { id: 'rc', type: 'RecoveryCodes', config: { base_path: '/sso', success_location: '/home' } },
  ];

  it('bob logs in, then enters alice\'s password: he can neither replace her app nor make her recovery codes; for himself he can', async () => {
    const h = await chainApp(authenticators);
    await h.authn.credentials.enrolTotp('alice', 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', { algorithm: 'sha1', digits: 6, period: 30 }, Date.now());
    await h.authn.credentials.enrolTotp('bob', 'KRUGKIDROVUWG2ZAMJZG653OEBTG66BA', { algorithm: 'sha1', digits: 6, period: 30 }, Date.now());
    const agent = request.agent(h.app);
    await passwordAs(agent, '/sso/pw', 'bob', 'builder');
    const code = await agent.get('/sso/code').set('Accept', 'application/json').expect(200);
    await agent.post('/sso/code').set('X-CSRF-Token', code.body.csrf_token).send({ type: 'start', data: { otp: h.lastCode() } }).expect(200);
    const own = await agent.get('/sso/enroll').set('Accept', 'application/json');
    assert.equal(own.status, 200, 'bob replaces his own app after his login');
    (await passwordAs(agent, '/sso/pw2', 'alice', 'wonderland')).body;
    const enroll = await agent.get('/sso/enroll').set('Accept', 'application/json');
    assert.equal(enroll.status, 401, enroll.text);
    const token = enroll.body.csrf_token as string;
    const rc = await agent.post('/sso/rc').set('X-CSRF-Token', token).send({ type: 'generate' });
    assert.equal(rc.status, 401, rc.text);
    assert.equal(await h.authn.credentials.recoveryCodesLeft('alice'), 0);
    const held = await h.authn.credentials.totp('alice');
    assert.ok(held !== null && held !== 'unusable' && held.secret === 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', 'alice\'s app is untouched');
    await h.authn.close();
  });

  it('a key shown before the subject enrolled an app cannot be activated afterwards without a passed factor', async () => {
    const h = await chainApp(authenticators);
    const attacker = request.agent(h.app);
    await passwordAs(attacker, '/sso/pw2', 'alice', 'wonderland');
    const pending = await attacker.get('/sso/enroll').set('Accept', 'application/json').expect(200);
    await h.authn.credentials.enrolTotp('alice', 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', { algorithm: 'sha1', digits: 6, period: 30 }, Date.now());
    const res = await attacker.post('/sso/enroll').set('X-CSRF-Token', pending.body.csrf_token)
      .send({ type: 'start', data: { otp: await generate({ strategy: 'totp', secret: pending.body.secret_groups.join('') }) } });
    assert.equal(res.status, 401, res.text);
    const held = await h.authn.credentials.totp('alice');
    assert.ok(held !== null && held !== 'unusable' && held.secret === 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
    await h.authn.close();
  });

  it('a RecoveryCodes step inside a chain is a config error (it needs a finished login)', () => {
    const c = validConfig();
    c.authenticators.push(
      { id: 'rc', type: 'RecoveryCodes', config: { base_path: '/authn' } },
      { id: 'login', type: 'Chain', config: { base_path: '/authn', chain: [{ id: 'otp' }, { id: 'rc' }] } },
    );
    const file = tempConfigDir().write('c.json', c);
    assert.throws(() => loadConfig(file, {}), (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.path === 'authenticators[2].config.chain[1].id' && /RecoveryCodes step/.test(p.message)));
  });
});

describe('credentials: the demo after the review', () => {
  let demo: Awaited<ReturnType<typeof demoHarness>>;
  before(async () => { demo = await demoHarness(); });
  after(async () => { delete process.env.OUTBOX_FILE; await demo.authn.close(); });

  async function signIn(agent: Agent, user: string, pw: string, to: string) {
    await passwordAs(agent, '/authn/password', user, pw);
    const otp = await agent.get('/authn/method/otp').set('Accept', 'application/json').expect(200);
    await agent.post('/authn/method/otp').set('X-CSRF-Token', otp.body.csrf_token).send({ type: 'start', data: { otp: demo.lastCode(to) } }).expect(200);
  }

  it('bob, without a secret in the user file, enrols an app: the login then offers it and takes its codes; the page is never cached', async () => {
    const agent = request.agent(demo.app);
    await signIn(agent, 'bob', 'builder', '+447400123456');
    const page = await agent.get('/authn/enroll').expect(200);
    assert.equal(page.headers['cache-control'], 'no-store');
    const res = await agent.get('/authn/enroll').set('Accept', 'application/json').expect(200);
    const secret = res.body.secret_groups.join('') as string;
    await agent.post('/authn/enroll').set('X-CSRF-Token', res.body.csrf_token).send({ type: 'start', data: { otp: await generate({ strategy: 'totp', secret }) } }).expect(200);
    const next = request.agent(demo.app);
    await passwordAs(next, '/authn/password', 'bob', 'builder');
    const list = await next.get('/authn/method?choose=1').set('Accept', 'application/json').expect(200);
    assert.deepEqual(list.body.choices.map((c: { id: string }) => c.id), ['otp', 'email', 'totp']);
    const app = await next.get('/authn/method/totp').set('Accept', 'application/json').expect(200);
    const done = await next.post('/authn/method/totp').set('X-CSRF-Token', app.body.csrf_token)
      .send({ type: 'start', data: { otp: await generate({ strategy: 'totp', secret, epoch: Math.floor(Date.now() / 1000) + 30 }) } });
    assert.deepEqual(done.body, { status: 'COMPLETED', location: '/account' });
  });

  it('an enrolled secret that no longer opens (CREDENTIAL_KEY lost its key) fails closed: the user-file secret does not come back', async () => {
    // Two apps over one credential store: one memory store handed to both, or (TEST_STORE=redis) one Redis prefix.
    const ts = await testStore();
    const shared = ts.block === undefined ? { credentials: new MemoryCredentialStore() } : {};
    const env = { ...process.env, OTP_SECRET: 'demo-test-otp', SESSION_SECRET: 'demo-test-session' };
    const before = await createDemoApp(loadConfigOn(ts, 'config/default.json', env), { env: { ...env, CREDENTIAL_KEY: 'key-one' }, ...shared });
    const after = await createDemoApp(loadConfigOn(ts, 'config/default.json', env), { env: { ...env, CREDENTIAL_KEY: 'key-two' }, ...shared });
    try {
      await before.authn.credentials.enrolTotp('alice', 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', { algorithm: 'sha1', digits: 6, period: 30 }, Date.now());
      const agent = request.agent(after.app);
      await passwordAs(agent, '/authn/password', 'alice', 'wonderland');
      const page = await agent.get('/authn/method/totp').set('Accept', 'application/json').expect(200);
      const fileSecret = 'UZU7NDYPSJNRQ7AWBXFKXHWKYGHWMQXC';
      const res = await agent.post('/authn/method/totp').set('X-CSRF-Token', page.body.csrf_token).send({ type: 'start', data: { otp: await generate({ strategy: 'totp', secret: fileSecret }) } });
      assert.equal(res.body.error?.code, 'INVALID_OTP', res.text);
    } finally {
      await before.authn.close();
      await after.authn.close();
      await ts.cleanup();
    }
  });
});

describe('credentials: sealing details', () => {
  it('a truncated GCM tag does not open', () => {
    const box = createSecretBox(['k']);
    const sealed = box.seal('SECRET', 'ctx');
    const parts = sealed.split('.');
    const short = [...parts.slice(0, 4), Buffer.from(parts[4]!, 'base64url').subarray(0, 4).toString('base64url')].join('.');
    assert.equal(box.open(short, 'ctx'), null);
  });

  it('a re-seal is a compare-and-set: an enrolment made meanwhile is kept', async () => {
    const store = new MemoryCredentialStore();
    await store.putTotp('alice', { sealed_secret: 'new-enrolment', algorithm: 'sha1', digits: 6, period: 30, created_at: 1, last_used_at: null });
    assert.equal(await store.resealTotp('alice', 'old-seal', 'old-resealed', 2), false);
    assert.equal((await store.getTotp('alice'))?.sealed_secret, 'new-enrolment');
  });
});
