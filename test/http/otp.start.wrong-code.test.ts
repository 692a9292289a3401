import assert from 'node:assert/strict';
import { ALICE_MOBILE, assertErrorAnswer, eventsOf, harnessPerTest, outboxCount, wrongCode } from '../support/otp-api.js';

describe('OTP API: start', () => {
  const h = harnessPerTest();

  it('the right code completes with the success location', async () => {
    const u = await h().user();
    const [code] = h().codes(ALICE_MOBILE);
    const res = await u.send('start', { otp: code }).expect(200);
    assert.deepEqual(res.body, { status: 'COMPLETED', location: '/account' });
    assert.equal(eventsOf(h(), 'WEB_100019').length, 1);
  });

  it('wrong codes answer INVALID_OTP with attempts_left 2 then 1 (HTTP 200)', async () => {
    const u = await h().user();
    const codes = h().codes();
    const first = await u.send('start', { otp: wrongCode(codes, 1) });
    assertErrorAnswer(first, 200, 'INVALID_OTP');
    assert.equal(first.body.attempts_left, 2);
    const second = await u.send('start', { otp: wrongCode(codes, 2) });
    assertErrorAnswer(second, 200, 'INVALID_OTP');
    assert.equal(second.body.attempts_left, 1);
    assert.equal(second.body.aborted, undefined, 'not aborted while attempts remain');
  });

  it('the third wrong code answers MAX_ATTEMPTS, aborted, attempts_left 0, location /failed', async () => {
    const u = await h().user();
    const codes = h().codes();
    await u.send('start', { otp: wrongCode(codes, 1) }).expect(200);
    await u.send('start', { otp: wrongCode(codes, 2) }).expect(200);
    const third = await u.send('start', { otp: wrongCode(codes, 3) });
    assertErrorAnswer(third, 200, 'MAX_ATTEMPTS');
    assert.equal(third.body.aborted, true);
    assert.equal(third.body.attempts_left, 0);
    assert.equal(third.body.location, '/failed');
    assert.equal(eventsOf(h(), 'WEB_100020').length, 3);
    assert.equal(eventsOf(h(), 'OTP_200008').length, 1);
  });

  it('entries after the abort answer MAX_ATTEMPTS unevaluated, even the right code, and log no WEB_100020', async () => {
    const u = await h().user();
    const codes = h().codes();
    for (let i = 1; i <= 3; i += 1) await u.send('start', { otp: wrongCode(codes, i) }).expect(200);
    const failedBefore = eventsOf(h(), 'WEB_100020').length;
    const refusedBefore = eventsOf(h(), 'OTP_200007').length;
    for (const otp of [wrongCode(codes, 4), codes[0]!]) {
      const res = await u.send('start', { otp });
      assertErrorAnswer(res, 200, 'MAX_ATTEMPTS');
      assert.equal(res.body.aborted, true);
      assert.equal(res.body.attempts_left, 0);
      assert.equal(res.body.location, '/failed');
    }
    assert.equal(eventsOf(h(), 'WEB_100020').length, failedBefore);
    assert.equal(eventsOf(h(), 'WEB_100019').length, 0, 'the right code after an abort is not accepted');
    assert.equal(eventsOf(h(), 'OTP_200007').length, refusedBefore + 2, 'each unevaluated entry logs "entry refused"');
  });

  it('a code works once: start after COMPLETED answers NO_PENDING_CODE (409)', async () => {
    const u = await h().user();
    const [code] = h().codes(ALICE_MOBILE);
    await u.send('start', { otp: code }).expect(200);
    assertErrorAnswer(await u.send('start', { otp: code }), 409, 'NO_PENDING_CODE');
    assertErrorAnswer(await u.send('start', { otp: wrongCode([code!]) }), 409, 'NO_PENDING_CODE');
    assert.equal(eventsOf(h(), 'WEB_100019').length, 1);
    assert.equal(eventsOf(h(), 'WEB_100020').length, 0);
  });

  it('normalises the entered code: spaces, hyphens and Unicode digits (SPEC 2)', async () => {
    const u = await h().user();
    const [code] = h().codes(ALICE_MOBILE);
    const fullwidth = [...code!].map((d) => String.fromCodePoint(0xff10 + Number(d))).join('');
    const spaced = `${fullwidth.slice(0, 3)} -${fullwidth.slice(3)}`;
    const res = await u.send('start', { otp: spaced }).expect(200);
    assert.equal(res.body.status, 'COMPLETED', res.text);
  });

  it('a wrong entry then the right code completes, and nothing more is sent', async () => {
    const u = await h().user();
    const [code] = h().codes(ALICE_MOBILE);
    assertErrorAnswer(await u.send('start', { otp: wrongCode([code!]) }), 200, 'INVALID_OTP');
    const ok = await u.send('start', { otp: code }).expect(200);
    assert.equal(ok.body.status, 'COMPLETED');
    assert.equal(outboxCount(h()), 1);
  });
});

describe('OTP API: start with allowed_otp_retry 0', () => {
  const h = harnessPerTest({ allowed_otp_retry: 0 });

  it('the first wrong entry aborts', async () => {
    const u = await h().user();
    const res = await u.send('start', { otp: wrongCode(h().codes()) });
    assertErrorAnswer(res, 200, 'MAX_ATTEMPTS');
    assert.equal(res.body.aborted, true);
    assert.equal(res.body.attempts_left, 0);
  });
});

describe('OTP API: start with Arabic-Indic digits', () => {
  const h = harnessPerTest();

  it('folds Arabic-Indic digits to ASCII before the check', async () => {
    const u = await h().user();
    const [code] = h().codes(ALICE_MOBILE);
    const arabic = [...code!].map((d) => String.fromCodePoint(0x0660 + Number(d))).join('');
    assert.equal((await u.send('start', { otp: arabic }).expect(200)).body.status, 'COMPLETED');
  });
});

describe('OTP API: start with alphanumeric codes', () => {
  const h = harnessPerTest({ code: { charset: 'alphanumeric', length: 8 } });

  it('sends 8 symbols of the 32-symbol alphabet and accepts the code typed in lower case', async () => {
    const u = await h().user();
    const [code] = h().codes(ALICE_MOBILE);
    assert.match(code!, /^[2-9A-HJ-NP-Z]{8}$/);
    assert.equal((await u.send('start', { otp: code!.toLowerCase() }).expect(200)).body.status, 'COMPLETED');
  });
});
