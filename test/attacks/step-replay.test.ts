import assert from 'node:assert/strict';
import request from 'supertest';
import { chainApp, post } from '../support/chain-app.js';
import { demoHarness, tokenFor } from '../support/demo-harness.js';

/**
 * Running an earlier step again must not let its new user ride on a second factor someone else passed, nor carry
 * the earlier user's exports along (found by review: the password step re-posted after login logged in as anyone).
 */
describe('attack: replaying the password step', () => {
  let demo: Awaited<ReturnType<typeof demoHarness>>;
  before(async () => { demo = await demoHarness(); });
  after(async () => { delete process.env.OUTBOX_FILE; await demo.authn.close(); });

  async function passwordStep(agent: ReturnType<typeof request.agent>, identifier: string, password: string, token?: string) {
    // The token first: the agent attaches its cookies when the POST is created.
    const csrf = token ?? await tokenFor(agent, '/authn/password');
    return agent.post('/authn/password').set('X-CSRF-Token', csrf).send({ type: 'start', data: { identifier, password } });
  }

  it('after a finished login, another user\'s password in the same session logs nobody else in', async () => {
    const agent = request.agent(demo.app);
    assert.equal((await passwordStep(agent, 'bob', 'builder')).body.location, '/authn/method');
    const token = await tokenFor(agent, '/authn/method/otp');
    await agent.post('/authn/method/otp').set('X-CSRF-Token', token).send({ type: 'start', data: { otp: demo.lastCode('+447400123456') } }).expect(200);
    const account = await agent.get('/account').expect(200);
    const csrf = /<meta name="csrf-token" content="([0-9a-f]+)">/.exec(account.text)?.[1] ?? '';
    const replay = await passwordStep(agent, 'alice', 'wonderland', csrf);
    assert.deepEqual(replay.body, { status: 'COMPLETED', location: '/account' }, 'answered unevaluated');
    const after = await agent.get('/account').expect(200);
    assert.match(after.text, /<td>bob<\/td>/);
    assert.doesNotMatch(after.text, /alice|Liddell|46701234567/, 'nothing of alice reached the session');
  });

  it('mid-chain, a second password restarts the chain: the new user must pass every later step, with none of the old user\'s exports', async () => {
    const agent = request.agent(demo.app);
    assert.equal((await passwordStep(agent, 'alice', 'wonderland')).body.location, '/authn/method');
    const second = await passwordStep(agent, 'carol', 'bletchley');
    assert.equal(second.body.location, '/authn/method');
    const page = await agent.get('/authn/method/otp').set('Accept', 'application/json').expect(200);
    assert.equal(page.body.destination, 'c***@example.com', 'the code goes to carol, not to alice\'s phone');
    await agent.post('/authn/method/otp').set('X-CSRF-Token', page.body.csrf_token).send({ type: 'start', data: { otp: demo.lastCode('carol@example.com') } }).expect(200);
    const account = await agent.get('/account').expect(200);
    assert.match(account.text, /<td>carol<\/td>/);
    assert.doesNotMatch(account.text, /Alice|Liddell|\+46701234567/, 'alice\'s name and number are gone');
  });
});

describe('attack: replaying a step in a three-step chain', () => {
  it('a second user at the first step must pass the second and third steps again', async () => {
    const { app, authn, lastCode, login } = await chainApp([
      { id: 'start', type: 'Chain', config: { context_path: '/a/start', chain: [{ id: 'pw' }, { id: 'otp' }, { id: 'otp2' }], success_location: '/home' } },
      { id: 'pw', type: 'UserNameAndPassword', config: { context_path: '/a/pw', pipe_id: 'users' } },
      { id: 'otp', type: 'OTP', config: { context_path: '/a/otp', pre_pipe_id: 'send', pipe_id: 'check', destination: { source: '${exports.mobile}' } } },
      { id: 'otp2', type: 'OTP', config: { context_path: '/a/otp2', pre_pipe_id: 'send', pipe_id: 'check', destination: { source: '${exports.mobile}' } } },
    ]);
    try {
      const agent = request.agent(app);
      assert.equal(await login(agent, '/a/pw'), '/a/otp');
      await agent.get('/a/otp').set('Accept', 'application/json').expect(200);
      const first = await post(agent, '/a/otp', { type: 'start', data: { otp: lastCode() } });
      assert.equal(first.body.location, '/a/otp2');
      await agent.get('/a/otp').expect(303).expect('Location', '/a/otp2');
      // The same user at the first step again: the chain starts over from there.
      assert.equal(await login(agent, '/a/pw'), '/a/otp');
      await agent.get('/a/start').expect(303).expect('Location', '/a/otp');
      assert.deepEqual((await agent.get('/home')).body, { user: null });
    } finally {
      await authn.close();
    }
  });
});
