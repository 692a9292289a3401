import assert from 'node:assert/strict';
import request from 'supertest';
import { chainApp } from '../support/chain-app.js';

/**
 * A Selector's choices share the per-subject failure budget (in every session) and the longest lockout of them;
 * each keeps its other limits, so resend budgets stay per destination. bob logs in with a password; his two
 * choices send to his mobile and to a second number.
 */
const choice = (id: string, source: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'OTP',
  config: {
    pre_pipe_id: 'send', pipe_id: 'check', subject: '${exports.username}', destination: { source },
    allowed_otp_retry: 9, resend_cooldown_seconds: 0, max_codes: 5,
    rate_limits: { sends_per_destination_per_minute: 2, failures_per_subject_per_hour: 3, entries_per_transaction_per_minute: 100 },
    ...extra,
  },
});

async function build() {
  return chainApp([
    { id: 'login', type: 'Chain', config: { base_path: '/authn', chain: [{ id: 'password' }, { id: 'method' }], success_location: '/home' } },
    { id: 'password', type: 'UserNameAndPassword', config: { base_path: '/authn', pipe_id: 'users' } },
    { id: 'method', type: 'Selector', config: { base_path: '/authn', choices: [{ id: 'sms' }, { id: 'backup' }] } },
    choice('sms', '${exports.mobile}', { lockout_seconds: 60 }),
    choice('backup', '+46709999999', { lockout_seconds: 900, rate_limits: { sends_per_destination_per_minute: 2, failures_per_subject_per_hour: 50, entries_per_transaction_per_minute: 100 } }),
  ]);
}

describe('selector: limits the choices share and limits they keep', () => {
  it('failures_per_subject_per_hour counts across the choices and sessions (the strictest the choices set: 3)', async () => {
    const h = await build();
    const agent = request.agent(h.app);
    assert.equal(await h.login(agent, '/authn/password'), '/authn/method');
    const sms = await agent.get('/authn/method/sms').set('Accept', 'application/json').expect(200);
    const token = sms.body.csrf_token as string;
    const enter = (path: string) => agent.post(path).set('X-CSRF-Token', token).send({ type: 'start', data: { otp: '000001' } });
    assert.equal((await enter('/authn/method/sms')).body.error.code, 'INVALID_OTP');
    assert.equal((await enter('/authn/method/sms')).body.error.code, 'INVALID_OTP');
    await agent.post('/authn/method').set('X-CSRF-Token', token).send({ type: 'select', data: { id: 'backup' } }).expect(200);
    await agent.get('/authn/method/backup').set('Accept', 'application/json').expect(200);
    assert.equal((await enter('/authn/method/backup')).body.error.code, 'INVALID_OTP', 'the third failure, in the other choice');
    const limited = await enter('/authn/method/backup');
    assert.equal(limited.status, 429, limited.text);
    assert.equal(limited.body.error.code, 'RATE_LIMITED');
    const other = request.agent(h.app);
    await h.login(other, '/authn/password');
    const page = await other.get('/authn/method/backup').set('Accept', 'application/json').expect(200);
    const again = await other.post('/authn/method/backup').set('X-CSRF-Token', page.body.csrf_token).send({ type: 'start', data: { otp: '000001' } });
    assert.equal(again.body.error.code, 'RATE_LIMITED', 'another session of bob meets the same budget');
    await h.authn.close();
  });

  it('resend budgets stay per destination: each choice sends its two codes a minute to its own number', async () => {
    const h = await build();
    const agent = request.agent(h.app);
    await h.login(agent, '/authn/password');
    const sms = await agent.get('/authn/method/sms').set('Accept', 'application/json').expect(200);
    const token = sms.body.csrf_token as string;
    const resend = (path: string) => agent.post(path).set('X-CSRF-Token', token).send({ type: 'resend' });
    assert.equal((await resend('/authn/method/sms')).status, 200, 'the second code to the mobile');
    assert.equal((await resend('/authn/method/sms')).body.error.code, 'RATE_LIMITED', 'a third to the mobile is refused');
    await agent.post('/authn/method').set('X-CSRF-Token', token).send({ type: 'select', data: { id: 'backup' } }).expect(200);
    assert.equal((await agent.get('/authn/method/backup').set('Accept', 'application/json')).status, 200, 'the first code to the other number');
    assert.equal((await resend('/authn/method/backup')).status, 200, 'and its second');
    await h.authn.close();
  });

  it('an abort in one choice locks the whole selector for the longest lockout_seconds of its choices (900 s)', async () => {
    // allowed_otp_retry 0: the first wrong entry aborts (the failure budget of 3 is not reached).
    const h2 = await chainApp([
      { id: 'login', type: 'Chain', config: { base_path: '/authn', chain: [{ id: 'password' }, { id: 'method' }], success_location: '/home' } },
      { id: 'password', type: 'UserNameAndPassword', config: { base_path: '/authn', pipe_id: 'users' } },
      { id: 'method', type: 'Selector', config: { base_path: '/authn', choices: [{ id: 'sms' }, { id: 'backup' }] } },
      choice('sms', '${exports.mobile}', { allowed_otp_retry: 0, lockout_seconds: 60 }),
      choice('backup', '+46709999999', { allowed_otp_retry: 0, lockout_seconds: 900 }),
    ]);
    const a = request.agent(h2.app);
    await h2.login(a, '/authn/password');
    const page = await a.get('/authn/method/sms').set('Accept', 'application/json').expect(200);
    const aborted = await a.post('/authn/method/sms').set('X-CSRF-Token', page.body.csrf_token).send({ type: 'start', data: { otp: '000001' } });
    assert.equal(aborted.body.error.code, 'MAX_ATTEMPTS');
    assert.equal(aborted.body.aborted, true);
    const lock = await h2.authn.store.getLock('method', 'bob', Date.now());
    assert.ok(lock, 'locked under the selector');
    const seconds = (lock.until - Date.now()) / 1000;
    assert.ok(seconds > 890 && seconds <= 900, `${seconds} s`);
    await a.post('/authn/method').set('X-CSRF-Token', page.body.csrf_token).send({ type: 'select', data: { id: 'backup' } }).expect(200);
    const locked = await a.get('/authn/method/backup').set('Accept', 'application/json');
    assert.equal(locked.status, 423);
    assert.ok(Number(locked.headers['retry-after']) > 890);
    await h2.authn.close();
  });
});
