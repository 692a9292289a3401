import assert from 'node:assert/strict';
import request from 'supertest';
import { chainApp, post } from '../support/chain-app.js';

const pw = { id: 'pw', type: 'UserNameAndPassword', config: { context_path: '/sso/pw', pipe_id: 'users' } };
const code = (id: string, extra: Record<string, unknown> = {}) => ({
  id, type: 'OTP', config: { context_path: `/sso/${id}`, pre_pipe_id: 'send', pipe_id: 'check', destination: { source: '${exports.mobile}' }, ...extra },
});

describe('Chain: nested chains and optional steps', () => {
  it('a chain inside a chain: steps run in order, locations resolve on the way up, the outer chain logs in', async () => {
    const { app, authn, lastCode, login } = await chainApp([
      { id: 'outer', type: 'Chain', config: { context_path: '/sso/start', chain: [{ id: 'pw' }, { id: 'inner' }], success_location: '/home', failure_location: '/outer-failed' } },
      { id: 'inner', type: 'Chain', config: { context_path: '/sso/inner', chain: [{ id: 'code' }], cancel_location: '/inner-cancelled' } },
      pw, code('code'),
    ]);
    try {
      const agent = request.agent(app);
      await agent.get('/sso/start').expect(303).expect('Location', '/sso/pw');
      assert.equal(await login(agent, '/sso/pw'), '/sso/code');
      await agent.get('/sso/inner').expect(303).expect('Location', '/sso/code');
      await agent.get('/sso/code').set('Accept', 'application/json').expect(200);
      const done = await post(agent, '/sso/code', { type: 'start', data: { otp: lastCode() } });
      assert.deepEqual(done.body, { status: 'COMPLETED', location: '/home' });
      assert.deepEqual((await agent.get('/home')).body, { user: 'bob' });
      await agent.get('/sso/start').expect(303).expect('Location', '/home');
      // Cancel resolves to the inner chain's cancel_location (the outer one sets none).
      const other = request.agent(app);
      await login(other, '/sso/pw');
      const cancelled = await post(other, '/sso/code', { type: 'cancel' });
      assert.deepEqual(cancelled.body, { status: 'CANCELLED', location: '/inner-cancelled' });
      assert.deepEqual((await other.get('/home')).body, { user: null });
    } finally {
      await authn.close();
    }
  });

  it('an optional step (required: false) can be skipped: cancelling it moves on and completes the login', async () => {
    const { app, authn, login } = await chainApp([
      { id: 'start', type: 'Chain', config: { context_path: '/sso/start', chain: [{ id: 'pw' }, { id: 'extra', required: false }], success_location: '/home', cancel_location: '/bye' } },
      pw, code('extra'),
    ]);
    try {
      const agent = request.agent(app);
      assert.equal(await login(agent, '/sso/pw'), '/sso/extra');
      const skipped = await post(agent, '/sso/extra', { type: 'cancel' });
      assert.deepEqual(skipped.body, { status: 'CANCELLED', location: '/home' });
      assert.deepEqual((await agent.get('/home')).body, { user: 'bob' });
    } finally {
      await authn.close();
    }
  });

  it('a required step cancelled goes to the cancel location and nobody is logged in', async () => {
    const { app, authn, login } = await chainApp([
      { id: 'start', type: 'Chain', config: { context_path: '/sso/start', chain: [{ id: 'pw' }, { id: 'mfa' }], success_location: '/home', cancel_location: '/bye' } },
      pw, code('mfa'),
    ]);
    try {
      const agent = request.agent(app);
      await login(agent, '/sso/pw');
      const cancelled = await post(agent, '/sso/mfa', { type: 'cancel' });
      assert.deepEqual(cancelled.body, { status: 'CANCELLED', location: '/bye' });
      assert.deepEqual((await agent.get('/home')).body, { user: null });
    } finally {
      await authn.close();
    }
  });
});
