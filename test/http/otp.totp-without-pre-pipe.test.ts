import assert from 'node:assert/strict';
import { generate, generateSecret } from 'otplib';
import request from 'supertest';
import { otpHarness } from '../support/otp-harness.js';

/** An authenticator with no pre-pipe validates app codes: nothing is sent, the validation pipe decides alone. */
describe('OTP authenticator without a pre-pipe: TOTP from an authenticator app', () => {
  it('opens with nothing sent, refuses a wrong code, accepts the app code once', async () => {
    const secret = generateSecret();
    const h = await otpHarness({ pre_pipe_id: undefined, pipe_id: 'totp', destination: {} }, {}, {
      pipes: [{ id: 'totp', valves: [{ name: 'TotpValidate', config: { secret: '${exports.totp_secret}' } }] }],
    });
    try {
      const agent = request.agent(h.app);
      await agent.post('/test/exports').send({ username: 'dave', totp_secret: secret }).expect(200);
      const first = await agent.get('/authn/otp').set('Accept', 'application/json').expect(200);
      assert.equal(first.body.status, 'PENDING');
      assert.equal(first.body.report.properties.codes_sent, 0);
      assert.deepEqual(h.codes(), [], 'nothing was sent');
      const csrf = first.body.csrf_token as string;
      const send = (otp: string) => agent.post('/authn/otp').set('X-CSRF-Token', csrf).send({ type: 'start', data: { otp } });
      const code = await generate({ secret });
      const wrong = await send(code === '000000' ? '111111' : '000000');
      assert.equal(wrong.body.error.code, 'INVALID_OTP');
      assert.equal(wrong.body.attempts_left, 2);
      const ok = await send(code);
      assert.deepEqual(ok.body, { status: 'COMPLETED', location: '/account' });
      const again = await send(code);
      assert.equal(again.status, 409, 'a code works once');
      assert.ok(h.events.some((e) => e.event_id === 'WEB_100019'));
    } finally {
      await h.close();
    }
  });
});
