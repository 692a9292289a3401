import assert from 'node:assert/strict';
import { ALICE_MASKED, ALICE_MOBILE, assertErrorAnswer, eventsOf, fakeClock, firstGet, harnessPerTest, outboxCount, session } from '../support/otp-api.js';

describe('OTP API: init', () => {
  const clock = fakeClock();
  const h = harnessPerTest({}, () => ({ now: clock.now }));

  it('answers PENDING with the masked destination, channel and counters (SPEC 3, init)', async () => {
    const u = await h().user();
    clock.advance(5);
    const res = await u.send('init').expect(200);
    assert.deepEqual(res.body, {
      status: 'PENDING',
      destination: ALICE_MASKED,
      channel: 'sms',
      expires_in: 595,
      resend_in: 25,
      codes_left: 2,
      attempts_left: 3,
    });
  });

  it('sends nothing when a code was already sent, however often it is called', async () => {
    const u = await h().user();
    assert.equal(outboxCount(h()), 1);
    for (let i = 0; i < 3; i += 1) await u.send('init').expect(200);
    assert.equal(outboxCount(h()), 1);
    assert.equal(h().codes(ALICE_MOBILE).length, 1);
    assert.equal(eventsOf(h(), 'OTP_200002').length, 1);
    assert.equal(eventsOf(h(), 'OTP_200005').length, 0);
  });

  it('without a subject from an earlier step answers NOT_IN_FLOW (401)', async () => {
    const s = await session(h(), null);
    const got = await s.get();
    assertErrorAnswer(got, 401, 'NOT_IN_FLOW');
    assert.equal(typeof got.body.csrf_token, 'string');
    s.csrf = got.body.csrf_token as string;
    assertErrorAnswer(await s.send('init'), 401, 'NOT_IN_FLOW');
    assert.equal(outboxCount(h()), 0);
  });
});

describe('OTP API: init, e-mail destination', () => {
  const h = harnessPerTest({ pre_pipe_id: 'otp-send-email' });

  it('masks an e-mail address as its first character and domain, channel email', async () => {
    const s = await session(h(), { username: 'carol', mobile: 'carol@example.com' });
    const got = await firstGet(s);
    assert.equal(got.status, 200, got.text);
    const res = await s.send('init').expect(200);
    assert.equal(res.body.destination, 'c***@example.com');
    assert.equal(res.body.channel, 'email');
    assert.equal(h().codes('carol@example.com').length, 1);
  });
});
