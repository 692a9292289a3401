import assert from 'node:assert/strict';
import { ALICE_MASKED, ALICE_MOBILE, assertErrorAnswer, eventsOf, fakeClock, harnessPerTest, outboxCount, wrongCode } from '../support/otp-api.js';

describe('OTP API: resend inside the cooldown', () => {
  const clock = fakeClock();
  const h = harnessPerTest({}, () => ({ now: clock.now }));

  it('answers RESEND_TOO_SOON (429) with retry_after and a matching Retry-After header, and sends nothing', async () => {
    const u = await h().user();
    clock.advance(10);
    const res = await u.send('resend');
    assertErrorAnswer(res, 429, 'RESEND_TOO_SOON');
    assert.equal(res.body.retry_after, 20);
    assert.equal(res.headers['retry-after'], '20');
    assert.equal(outboxCount(h()), 1);
    assert.equal(eventsOf(h(), 'OTP_200005').length, 0);
  });

  it('works once the cooldown has passed (the cooldown is per transaction, from the last send)', async () => {
    const u = await h().user();
    clock.advance(30);
    const res = await u.send('resend').expect(200);
    assert.equal(res.body.status, 'PENDING');
    assert.equal(res.body.resend_in, 30);
    assert.equal(outboxCount(h()), 2);
    clock.advance(29);
    const again = await u.send('resend');
    assertErrorAnswer(again, 429, 'RESEND_TOO_SOON');
    assert.equal(again.body.retry_after, 1);
  });
});

describe('OTP API: resend with resend_cooldown_seconds 0 (keep_previous, the default)', () => {
  const h = harnessPerTest({ resend_cooldown_seconds: 0 });

  it('sends a new code, answers PENDING with one code fewer left, and logs the resend', async () => {
    const u = await h().user();
    const res = await u.send('resend').expect(200);
    assert.deepEqual(
      { status: res.body.status, destination: res.body.destination, channel: res.body.channel, codes_left: res.body.codes_left, attempts_left: res.body.attempts_left, resend_in: res.body.resend_in },
      { status: 'PENDING', destination: ALICE_MASKED, channel: 'sms', codes_left: 1, attempts_left: 3, resend_in: 0 },
    );
    const codes = h().codes(ALICE_MOBILE);
    assert.equal(codes.length, 2);
    const resent = eventsOf(h(), 'OTP_200005');
    assert.equal(resent.length, 1);
    assert.equal(resent[0]!.destination, ALICE_MASKED);
  });

  it('the earlier code still validates after a resend', async () => {
    const u = await h().user();
    await u.send('resend').expect(200);
    const [old, fresh] = h().codes(ALICE_MOBILE);
    assert.notEqual(old, fresh);
    const res = await u.send('start', { otp: old }).expect(200);
    assert.deepEqual(res.body, { status: 'COMPLETED', location: '/account' });
  });

  it('the newer code validates too', async () => {
    const u = await h().user();
    await u.send('resend').expect(200);
    const [, fresh] = h().codes(ALICE_MOBILE);
    assert.equal((await u.send('start', { otp: fresh }).expect(200)).body.status, 'COMPLETED');
  });

  it('max_codes (3) counts the first code: two resends, then MAX_CODES (409) and nothing more sent', async () => {
    const u = await h().user();
    assert.equal((await u.send('resend').expect(200)).body.codes_left, 1);
    assert.equal((await u.send('resend').expect(200)).body.codes_left, 0);
    assertErrorAnswer(await u.send('resend'), 409, 'MAX_CODES');
    assert.equal(outboxCount(h()), 3);
  });

  it('a resend gives back no attempts (counters belong to the transaction)', async () => {
    const u = await h().user();
    const first = await u.send('start', { otp: wrongCode(h().codes(), 1) });
    assert.equal(first.body.attempts_left, 2);
    const resent = await u.send('resend').expect(200);
    assert.equal(resent.body.attempts_left, 2);
    const second = await u.send('start', { otp: wrongCode(h().codes(), 2) });
    assertErrorAnswer(second, 200, 'INVALID_OTP');
    assert.equal(second.body.attempts_left, 1);
    const third = await u.send('start', { otp: wrongCode(h().codes(), 3) });
    assertErrorAnswer(third, 200, 'MAX_ATTEMPTS');
    assert.equal(third.body.aborted, true);
  });

  it('resend after COMPLETED answers NO_PENDING_CODE and sends nothing', async () => {
    const u = await h().user();
    await u.send('start', { otp: h().codes()[0] }).expect(200);
    assertErrorAnswer(await u.send('resend'), 409, 'NO_PENDING_CODE');
    assert.equal(outboxCount(h()), 1);
  });
});

describe('OTP API: resend with max_codes 1', () => {
  const h = harnessPerTest({ resend_cooldown_seconds: 0, max_codes: 1 });

  it('the first resend answers MAX_CODES', async () => {
    const u = await h().user();
    assertErrorAnswer(await u.send('resend'), 409, 'MAX_CODES');
    assert.equal(outboxCount(h()), 1);
  });
});

describe("OTP API: resend with resend_strategy 'new'", () => {
  const h = harnessPerTest({ resend_cooldown_seconds: 0, resend_strategy: 'new' });

  it('the earlier code is refused (a wrong entry), the new one completes', async () => {
    const u = await h().user();
    await u.send('resend').expect(200);
    const [old, fresh] = h().codes(ALICE_MOBILE);
    const refused = await u.send('start', { otp: old });
    assertErrorAnswer(refused, 200, 'INVALID_OTP');
    assert.equal(refused.body.attempts_left, 2);
    assert.deepEqual((await u.send('start', { otp: fresh }).expect(200)).body, { status: 'COMPLETED', location: '/account' });
  });
});
