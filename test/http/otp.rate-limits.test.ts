import assert from 'node:assert/strict';
import { ALICE, ALICE_MOBILE, assertErrorAnswer, eventsOf, firstGet, harnessPerTest, outboxCount, session, wrongCode } from '../support/otp-api.js';

describe('OTP API: entries_per_transaction_per_minute', () => {
  const h = harnessPerTest({ rate_limits: { entries_per_transaction_per_minute: 2 } });

  it('the 3rd entry answers RATE_LIMITED (429) with Retry-After, unevaluated even with the right code, and logs OTP_200011', async () => {
    const u = await h().user();
    const codes = h().codes();
    assertErrorAnswer(await u.send('start', { otp: wrongCode(codes, 1) }), 200, 'INVALID_OTP');
    assertErrorAnswer(await u.send('start', { otp: wrongCode(codes, 2) }), 200, 'INVALID_OTP');
    const third = await u.send('start', { otp: codes[0] });
    assertErrorAnswer(third, 429, 'RATE_LIMITED');
    const retry = Number(third.headers['retry-after']);
    assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60, `Retry-After ${third.headers['retry-after']}`);
    assert.equal(third.body.retry_after, retry);
    assert.equal(eventsOf(h(), 'WEB_100019').length, 0);
    assert.equal(eventsOf(h(), 'WEB_100020').length, 2);
    const limited = eventsOf(h(), 'OTP_200011');
    assert.equal(limited.length, 1);
    assert.equal(limited[0]!.limit, 'entries_per_transaction_per_minute');
    assert.equal((await u.send('status').expect(200)).body.attempts_left, 1, 'a refused entry uses no attempt');
  });
});

describe('OTP API: failures_per_subject_per_hour', () => {
  const h = harnessPerTest({ rate_limits: { failures_per_subject_per_hour: 2 } });

  it('counts wrong entries of one subject across two sessions; then entries answer RATE_LIMITED', async () => {
    const a = await h().user();
    const b = await h().user();
    assertErrorAnswer(await a.send('start', { otp: wrongCode(h().codes(), 1) }), 200, 'INVALID_OTP');
    assertErrorAnswer(await b.send('start', { otp: wrongCode(h().codes(), 2) }), 200, 'INVALID_OTP');
    const bCode = h().codes().at(-1);
    const limited = await b.send('start', { otp: bCode });
    assertErrorAnswer(limited, 429, 'RATE_LIMITED');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    assertErrorAnswer(await a.send('start', { otp: wrongCode(h().codes(), 3) }), 429, 'RATE_LIMITED');
    const events = eventsOf(h(), 'OTP_200011');
    assert.equal(events.length, 2);
    assert.ok(events.every((e) => e.limit === 'failures_per_subject_per_hour'));
    assert.equal(eventsOf(h(), 'WEB_100019').length, 0);
  });

  it('another subject keeps its own budget', async () => {
    const a = await h().user();
    await a.send('start', { otp: wrongCode(h().codes(), 1) }).expect(200);
    await a.send('start', { otp: wrongCode(h().codes(), 2) }).expect(200);
    const bob = await h().user({ username: 'bob', mobile: '+46701112233' });
    const res = await bob.send('start', { otp: h().codes('+46701112233')[0] }).expect(200);
    assert.equal(res.body.status, 'COMPLETED');
  });

  it('a right entry does not use the failure budget', async () => {
    const a = await h().user();
    await a.send('start', { otp: h().codes().at(-1) }).expect(200);
    const b = await h().user();
    assertErrorAnswer(await b.send('start', { otp: wrongCode(h().codes(), 1) }), 200, 'INVALID_OTP');
    assertErrorAnswer(await b.send('start', { otp: wrongCode(h().codes(), 2) }), 200, 'INVALID_OTP');
  });
});

describe('OTP API: sends_per_destination_per_minute', () => {
  const h = harnessPerTest({ rate_limits: { sends_per_destination_per_minute: 1 } });

  it('two users with the same mobile: the second GET answers RATE_LIMITED (429) with csrf_token, nothing sent, OTP_200011', async () => {
    await h().user();
    assert.equal(outboxCount(h()), 1);
    const s = await session(h(), { username: 'bob', mobile: ALICE.mobile });
    const res = await firstGet(s);
    assertErrorAnswer(res, 429, 'RATE_LIMITED');
    assert.equal(typeof res.body.csrf_token, 'string');
    const retry = Number(res.headers['retry-after']);
    assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60, `Retry-After ${res.headers['retry-after']}`);
    assert.equal(h().codes(ALICE_MOBILE).length, 1);
    const limited = eventsOf(h(), 'OTP_200011');
    assert.equal(limited.length, 1);
    assert.equal(limited[0]!.limit, 'sends_per_destination_per_minute');
    assert.equal(limited[0]!.CUSTOMER_IDENTIFIER, 'bob');
  });

  it('different destinations keep their own budgets', async () => {
    await h().user({ username: 'bob', mobile: '+46701112233' });
    const s = await session(h(), ALICE);
    const res = await firstGet(s);
    assert.equal(res.status, 200, res.text);
    assert.equal(h().codes('+46701112233').length, 1);
    assert.equal(h().codes(ALICE_MOBILE).length, 1);
    assert.equal(eventsOf(h(), 'OTP_200011').length, 0);
  });
});

describe('OTP API: sends_per_destination_per_minute with resends', () => {
  const h = harnessPerTest({ resend_cooldown_seconds: 0, rate_limits: { sends_per_destination_per_minute: 2 } });

  it('a resend over the limit answers RATE_LIMITED and does not use up a code', async () => {
    const u = await h().user();
    await u.send('resend').expect(200);
    const res = await u.send('resend');
    assertErrorAnswer(res, 429, 'RATE_LIMITED');
    assert.equal(h().codes(ALICE_MOBILE).length, 2);
    assert.equal((await u.send('status').expect(200)).body.codes_left, 1, 'a refused send is not counted toward max_codes');
    assert.equal(eventsOf(h(), 'OTP_200011')[0]?.limit, 'sends_per_destination_per_minute');
  });
});

describe('OTP API: a first send refused by a rate limit', () => {
  const h = harnessPerTest({ rate_limits: { sends_per_destination_per_minute: 1 } });

  it('leaves nothing to check: start answers NO_PENDING_CODE (409); init tries to send again and is refused again', async () => {
    await h().user();
    const s = await session(h(), { username: 'bob', mobile: ALICE.mobile });
    assert.equal((await firstGet(s)).status, 429);
    assertErrorAnswer(await s.send('start', { otp: h().codes()[0] }), 409, 'NO_PENDING_CODE');
    assertErrorAnswer(await s.send('init'), 429, 'RATE_LIMITED');
    assert.equal(outboxCount(h()), 1);
    assert.equal(eventsOf(h(), 'WEB_100019').length, 0);
  });
});

describe('OTP API: sends_per_ip_per_hour', () => {
  const h = harnessPerTest({ rate_limits: { sends_per_ip_per_hour: 1 } });

  it('a second destination from the same address answers RATE_LIMITED with OTP_200011', async () => {
    await h().user();
    const s = await session(h(), { username: 'bob', mobile: '+46701112233' });
    const res = await firstGet(s);
    assertErrorAnswer(res, 429, 'RATE_LIMITED');
    assert.equal(h().codes('+46701112233').length, 0);
    assert.equal(eventsOf(h(), 'OTP_200011')[0]?.limit, 'sends_per_ip_per_hour');
  });
});
