import assert from 'node:assert/strict';
import { otpHarness, type Harness } from '../support/otp-harness.js';

describe('OTP API smoke', () => {
  let h: Harness;
  before(async () => { h = await otpHarness(); });
  after(async () => h.close());

  it('GET sends a code, start with it completes', async () => {
    const u = await h.user();
    const codes = h.codes('+46701234567');
    assert.equal(codes.length, 1);
    const wrong = await u.send('start', { otp: '000000' === codes[0] ? '111111' : '000000' }).expect(200);
    assert.equal(wrong.body.error.code, 'INVALID_OTP');
    const ok = await u.send('start', { otp: codes[0] }).expect(200);
    assert.deepEqual(ok.body, { status: 'COMPLETED', location: '/account' });
  });
});
