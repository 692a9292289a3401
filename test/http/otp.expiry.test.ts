import assert from 'node:assert/strict';
import { ALICE_MOBILE, assertErrorAnswer, eventsOf, fakeClock, harnessPerTest, outboxCount } from '../support/otp-api.js';

describe('OTP API: an expired code (fake clock, code.ttl_seconds 60)', () => {
  const clock = fakeClock();
  const h = harnessPerTest({ code: { ttl_seconds: 60 } }, () => ({ now: clock.now }));

  it('entering it answers OTP_EXPIRED (200), counts as a wrong entry, logs WEB_100020 and OTP_200010', async () => {
    const u = await h().user();
    clock.advance(61);
    const res = await u.send('start', { otp: h().codes(ALICE_MOBILE)[0] });
    assertErrorAnswer(res, 200, 'OTP_EXPIRED');
    assert.equal(res.body.attempts_left, 2);
    assert.equal(eventsOf(h(), 'WEB_100020').length, 1);
    assert.equal(eventsOf(h(), 'OTP_200010').length, 1);
    assert.equal(eventsOf(h(), 'WEB_100019').length, 0);
  });

  it('a reload after expiry sends nothing (only the user\'s resend replaces the code); the resent code completes', async () => {
    const u = await h().user();
    clock.advance(61);
    const got = await u.get().expect(200);
    assert.equal(got.body.status, 'PENDING');
    assert.equal(got.body.expires_in, 0);
    assert.equal(outboxCount(h()), 1);
    await u.send('resend').expect(200);
    const [, fresh] = h().codes(ALICE_MOBILE);
    assert.equal((await u.send('start', { otp: fresh }).expect(200)).body.status, 'COMPLETED');
  });

  it('expires_in counts down', async () => {
    const u = await h().user();
    clock.advance(15);
    assert.equal((await u.send('init').expect(200)).body.expires_in, 45);
  });
});

describe('OTP API: every code expired and none left (max_codes 1)', () => {
  const clock = fakeClock();
  const h = harnessPerTest({ code: { ttl_seconds: 60 }, max_codes: 1 }, () => ({ now: clock.now }));

  it('status is EXPIRED with the failed report; GET shows it and sends nothing; resend is MAX_CODES; cancel remains', async () => {
    const u = await h().user();
    clock.advance(61);
    const status = await u.send('status').expect(200);
    assert.equal(status.body.status, 'EXPIRED');
    const r = status.body.report;
    assert.deepEqual(
      { status: r.status, result: r.result, attempts: r.breakdown.attempts.result, action: r.action, detail: r.detail },
      { status: 'reject', result: 'consider', attempts: 'consider', action: 'FAIL', detail: 'FAILED OUT-OF-BAND CHECK' },
    );
    const got = await u.get().expect(200);
    assert.equal(got.body.status, 'EXPIRED');
    assert.equal(outboxCount(h()), 1);
    assertErrorAnswer(await u.send('resend'), 409, 'MAX_CODES');
    assert.deepEqual((await u.send('cancel').expect(200)).body, { status: 'CANCELLED', location: '/cancelled' });
  });

  it('expiry does not lock the subject: another session starts normally', async () => {
    await h().user();
    clock.advance(61);
    const other = await h().user();
    assert.equal((await other.send('status').expect(200)).body.status, 'PENDING');
    assert.equal(outboxCount(h()), 2);
  });
});
