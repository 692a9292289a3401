import assert from 'node:assert/strict';
import { ALICE_MOBILE, assertErrorAnswer, eventsOf, harnessPerTest, outboxCount } from '../support/otp-api.js';

const OTHER = '+46709876543';
const THIRD = '+46705550011';

describe('OTP API: change_destination not allowed (the default, login MFA)', () => {
  const h = harnessPerTest();

  it('answers MAX_CHANGES (409) and sends nothing', async () => {
    const u = await h().user();
    assertErrorAnswer(await u.send('change_destination', { destination: OTHER }), 409, 'MAX_CHANGES');
    assert.equal(outboxCount(h()), 1);
    assert.equal(h().codes(OTHER).length, 0);
    assert.equal(eventsOf(h(), 'OTP_200006').length, 0);
  });
});

describe('OTP API: change_destination allowed', () => {
  const h = harnessPerTest({ destination: { source: '${exports.mobile}', allow_change: true, max_changes: 1 }, max_codes: 10 });

  it('sends at once (not held by the cooldown) to the new destination, and kills the codes sent elsewhere', async () => {
    const u = await h().user();
    const res = await u.send('change_destination', { destination: OTHER }).expect(200);
    assert.equal(res.body.status, 'PENDING');
    assert.equal(res.body.destination, '+46 70*** **43');
    assert.equal(h().codes(OTHER).length, 1);
    const changed = eventsOf(h(), 'OTP_200006');
    assert.equal(changed.length, 1);
    const [old] = h().codes(ALICE_MOBILE);
    assertErrorAnswer(await u.send('start', { otp: old }), 200, 'INVALID_OTP');
    assert.equal((await u.send('start', { otp: h().codes(OTHER)[0] }).expect(200)).body.status, 'COMPLETED');
  });

  it('A to B to A is one change; a second distinct one is MAX_CHANGES', async () => {
    const u = await h().user();
    await u.send('change_destination', { destination: OTHER }).expect(200);
    await u.send('change_destination', { destination: ALICE_MOBILE }).expect(200);
    assertErrorAnswer(await u.send('change_destination', { destination: THIRD }), 409, 'MAX_CHANGES');
    assert.equal(h().codes(THIRD).length, 0);
  });

  it('a destination that does not parse answers INVALID_DESTINATION (400)', async () => {
    const u = await h().user();
    assertErrorAnswer(await u.send('change_destination', { destination: 'not a phone' }), 400, 'INVALID_DESTINATION');
    assert.equal(outboxCount(h()), 1);
    assert.equal(eventsOf(h(), 'OTP_200013').length, 1);
  });
});

describe('OTP API: change_destination counts toward max_codes', () => {
  const h = harnessPerTest({ destination: { source: '${exports.mobile}', allow_change: true }, max_codes: 2 });

  it('the first code and one change use max_codes 2: another change answers MAX_CODES', async () => {
    const u = await h().user();
    const changed = await u.send('change_destination', { destination: OTHER }).expect(200);
    assert.equal(changed.body.codes_left, 0);
    assertErrorAnswer(await u.send('change_destination', { destination: THIRD }), 409, 'MAX_CODES');
    assert.equal(h().codes(THIRD).length, 0);
    assert.equal(outboxCount(h()), 2);
  });
});
