import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { escapeHtml } from '../../src/web/html.js';
import { harnessPerTest, wrongCode } from '../support/otp-api.js';
import { OTP_PATH } from '../support/otp-harness.js';

/**
 * The original product's keys with its texts, word for word (issue 21): an operator migrating from it expects
 * exactly these. The Swedish cookie text has a double space before "språk-cookie" in the original; it is kept.
 */
const ORIGINAL: Record<'en' | 'sv', Record<string, string>> = {
  en: {
    'otp_validation.otp': 'One-time password',
    'otp_validation.start_validate': 'Verify one-time password',
    'otp_validation.verified': 'One-time password verified',
    'otp_validation.redirecting': 'Redirecting...',
    'otp_validation.cancel': 'Cancel',
    'otp_validation.ERROR': 'Wrong one-time password',
    'allow-cookies-body': 'To save your language settings on this device you need to approve a language cookie.',
    'allow-cookies-button': 'Approve language cookie',
    change_language: '',
  },
  sv: {
    'otp_validation.otp': 'Engångslösenord',
    'otp_validation.start_validate': 'Verifiera engångslösenord',
    'otp_validation.verified': 'Engångslösenord verifierat',
    'otp_validation.redirecting': 'Omdirigerar...',
    'otp_validation.cancel': 'Avbryt',
    'otp_validation.ERROR': 'Felaktigt engångslösenord',
    'allow-cookies-body': 'Vill du spara dina språkinställningar på denna enhet behövs ett godkännande av  språk-cookie.',
    'allow-cookies-button': 'Godkänn språk-cookie',
    change_language: '',
  },
};

function lookup(tree: unknown, key: string): unknown {
  // `allow-cookies-body` is a top-level key with hyphens; `otp_validation.otp` is nested.
  if (Object.hasOwn(tree as object, key)) return (tree as Record<string, unknown>)[key];
  return key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], tree);
}

describe('the original prompts, word for word (en and sv)', () => {
  for (const lng of ['en', 'sv'] as const) {
    const file = JSON.parse(readFileSync(`locales/${lng}/translation.json`, 'utf8')) as unknown;
    for (const [key, text] of Object.entries(ORIGINAL[lng])) {
      it(`${lng}: ${key} is ${JSON.stringify(text)}`, () => {
        assert.strictEqual(lookup(file, key), text);
      });
    }
  }

  const h = harnessPerTest();

  for (const lng of ['en', 'sv'] as const) {
    const o = ORIGINAL[lng];
    it(`${lng}: the page's title, label, button, cancel and cookie banner, and a wrong code's JSON message, are the original texts`, async () => {
      const u = await h().user();
      const page = await u.agent.get(`${OTP_PATH}?lng=${lng}`).set('Accept', 'text/html').expect(200);
      assert.ok(page.text.includes(`<title>${escapeHtml(o['otp_validation.otp'])}`), 'title');
      assert.ok(page.text.includes(`<label for="otp">${escapeHtml(o['otp_validation.otp'])}</label>`), 'label');
      assert.ok(page.text.includes(`>${escapeHtml(o['otp_validation.start_validate'])}</button>`), 'submit button');
      assert.ok(page.text.includes(`>${escapeHtml(o['otp_validation.cancel'])}</button>`), 'cancel button');
      assert.ok(page.text.includes(`<p>${escapeHtml(o['allow-cookies-body'])}</p>`), 'cookie banner text');
      assert.ok(page.text.includes(`>${escapeHtml(o['allow-cookies-button'])}</button>`), 'cookie banner button');
      const wrong = await u.agent.post(`${OTP_PATH}?lng=${lng}`).set('X-CSRF-Token', u.csrf).send({ type: 'start', data: { otp: wrongCode(h().codes()) } });
      assert.equal(wrong.body.error.code, 'INVALID_OTP');
      assert.strictEqual(wrong.body.error.message, o['otp_validation.ERROR']);
      const form = await u.agent.post(`${OTP_PATH}?lng=${lng}`).type('form').set('Accept', 'text/html').send({ _csrf: u.csrf, otp: wrongCode(h().codes(), 1) });
      assert.ok(form.text.includes(escapeHtml(o['otp_validation.ERROR'])), 'the form without JavaScript shows the same text');
    });
  }
});
