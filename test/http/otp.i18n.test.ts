import assert from 'node:assert/strict';
import { assertErrorAnswer, fakeClock, harnessPerTest, session, translations, wrongCode } from '../support/otp-api.js';
import { OTP_PATH } from '../support/otp-harness.js';

describe('OTP API: translated error messages', () => {
  const sv = translations('sv');
  const en = translations('en');
  const clock = fakeClock();
  const h = harnessPerTest({}, () => ({ now: clock.now }));

  it('the Swedish and English texts differ (so the tests below can tell them apart)', () => {
    assert.equal(typeof sv.otp_validation.ERROR, 'string');
    assert.notEqual(sv.otp_validation.ERROR, en.otp_validation.ERROR);
  });

  it('?lng=sv gives the Swedish INVALID_OTP text (otp_validation.ERROR)', async () => {
    const u = await h().user();
    const res = await u.agent.post(`${OTP_PATH}?lng=sv`).set('X-CSRF-Token', u.csrf).send({ type: 'start', data: { otp: wrongCode(h().codes()) } });
    assertErrorAnswer(res, 200, 'INVALID_OTP');
    assert.equal(res.body.error.message, sv.otp_validation.ERROR);
  });

  it('Accept-Language: sv gives the Swedish INVALID_OTP text (otp_validation.ERROR)', async () => {
    const u = await h().user();
    const res = await u.agent.post(OTP_PATH).set('X-CSRF-Token', u.csrf).set('Accept-Language', 'sv-SE,sv;q=0.9,en;q=0.5').send({ type: 'start', data: { otp: wrongCode(h().codes()) } });
    assertErrorAnswer(res, 200, 'INVALID_OTP');
    assert.equal(res.body.error.message, sv.otp_validation.ERROR);
  });

  it('without a language, and with an unsupported one, the fallback (English) text', async () => {
    const u = await h().user();
    const plain = await u.send('start', { otp: wrongCode(h().codes(), 1) });
    assert.equal(plain.body.error.message, en.otp_validation.ERROR);
    const fr = await u.agent.post(OTP_PATH).set('X-CSRF-Token', u.csrf).set('Accept-Language', 'fr').send({ type: 'start', data: { otp: wrongCode(h().codes(), 2) } });
    assert.equal(fr.body.error.message, en.otp_validation.ERROR);
  });

  it('?lng= wins over Accept-Language', async () => {
    const u = await h().user();
    const res = await u.agent.post(`${OTP_PATH}?lng=en`).set('X-CSRF-Token', u.csrf).set('Accept-Language', 'sv').send({ type: 'start', data: { otp: wrongCode(h().codes()) } });
    assert.equal(res.body.error.message, en.otp_validation.ERROR);
  });

  it('other errors are translated too: MAX_ATTEMPTS, CSRF, NOT_IN_FLOW, RESEND_TOO_SOON (with its seconds)', async () => {
    const u = await h().user();
    const codes = h().codes();
    for (let i = 1; i <= 2; i += 1) await u.send('start', { otp: wrongCode(codes, i) }).expect(200);
    const max = await u.agent.post(`${OTP_PATH}?lng=sv`).set('X-CSRF-Token', u.csrf).send({ type: 'start', data: { otp: wrongCode(codes, 3) } });
    assertErrorAnswer(max, 200, 'MAX_ATTEMPTS');
    assert.equal(max.body.error.message, sv.errors.MAX_ATTEMPTS);

    const csrf = await u.agent.post(`${OTP_PATH}?lng=sv`).send({ type: 'init' });
    assertErrorAnswer(csrf, 403, 'CSRF');
    assert.equal(csrf.body.error.message, sv.errors.CSRF);

    const stranger = await session(h(), null);
    const nif = await stranger.get('application/json', '?lng=sv');
    assertErrorAnswer(nif, 401, 'NOT_IN_FLOW');
    assert.equal(nif.body.error.message, sv.errors.NOT_IN_FLOW);

    const v = await h().user({ username: 'bob', mobile: '+46701112233' });
    clock.advance(12);
    const soon = await v.agent.post(`${OTP_PATH}?lng=sv`).set('X-CSRF-Token', v.csrf).send({ type: 'resend' });
    assertErrorAnswer(soon, 429, 'RESEND_TOO_SOON');
    assert.equal(soon.body.error.message, sv.errors.RESEND_TOO_SOON!.replace('{{seconds}}', '18'));
  });

  it('every error code has a text in both languages, at the key its message is read from', async () => {
    const { ERRORS } = await import('../../src/errors.js');
    const { messageKey } = await import('../../src/http/respond.js');
    const at = (tree: unknown, key: string): unknown => key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], tree);
    for (const code of Object.keys(ERRORS) as (keyof typeof ERRORS)[]) {
      assert.equal(typeof at(en, messageKey(code)), 'string', `en ${messageKey(code)}`);
      assert.equal(typeof at(sv, messageKey(code)), 'string', `sv ${messageKey(code)}`);
    }
    assert.equal(messageKey('INVALID_OTP'), 'otp_validation.ERROR', 'a wrong code keeps the original key');
  });
});
