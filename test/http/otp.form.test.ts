import assert from 'node:assert/strict';
import { ALICE, ALICE_MOBILE, assertNoLeak, eventsOf, harnessPerTest, outboxCount, session, translations, wrongCode } from '../support/otp-api.js';
import { OTP_PATH } from '../support/otp-harness.js';

/** The same API without JavaScript (SPEC 3, last paragraph): form posts with _csrf. */
describe('OTP form without JavaScript', () => {
  const en = translations('en');
  const h = harnessPerTest();

  it('the first GET of the HTML page sends the code too (both GETs do the same thing)', async () => {
    const s = await session(h(), ALICE);
    const page = await s.get('text/html').expect(200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.match(page.text, /autocomplete="one-time-code"/);
    assert.equal(h().codes(ALICE_MOBILE).length, 1);
  });

  it('the right code redirects (303) to the success location', async () => {
    const u = await h().user();
    const res = await u.agent.post(OTP_PATH).type('form').send({ _csrf: u.csrf, otp: h().codes()[0] });
    assert.equal(res.status, 303, res.text);
    assert.equal(res.headers.location, '/account');
    assert.equal(eventsOf(h(), 'WEB_100019').length, 1);
  });

  it('a wrong code answers the page again with the translated error (HTTP 200)', async () => {
    const u = await h().user();
    const res = await u.agent.post(OTP_PATH).type('form').send({ _csrf: u.csrf, otp: wrongCode(h().codes()) });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.ok(res.text.includes(en.otp_validation.ERROR!), 'the page shows the error');
    assertNoLeak(res);
    assert.equal(eventsOf(h(), 'WEB_100020').length, 1);
  });

  it('action=resend inside the cooldown answers the page with 429 and Retry-After', async () => {
    const u = await h().user();
    const res = await u.agent.post(OTP_PATH).type('form').send({ _csrf: u.csrf, action: 'resend' });
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers['retry-after']) >= 1);
    assert.equal(outboxCount(h()), 1);
  });

  it('action=cancel redirects (303) to the cancel location', async () => {
    const u = await h().user();
    const res = await u.agent.post(OTP_PATH).type('form').send({ _csrf: u.csrf, action: 'cancel' });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/cancelled');
  });

  it('an unknown action answers 400, not a 5xx', async () => {
    const u = await h().user();
    const res = await u.agent.post(OTP_PATH).type('form').send({ _csrf: u.csrf, action: 'approve' });
    assert.equal(res.status, 400);
    assertNoLeak(res);
  });
});
