import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { otpHarness } from '../support/otp-harness.js';
import { tempConfigDir } from '../support/temp-config.js';

const sv = JSON.parse(readFileSync('locales/sv/translation.json', 'utf8'));
const en = JSON.parse(readFileSync('locales/en/translation.json', 'utf8'));

async function page(h: Awaited<ReturnType<typeof otpHarness>>, headers: Record<string, string> = {}, query = '') {
  const agent = request.agent(h.app);
  await agent.post('/test/exports').send({ username: 'alice', mobile: '+46701234567' }).expect(200);
  let req = agent.get(`/authn/otp${query}`).set('Accept', 'text/html');
  for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
  return req.expect(200);
}

describe('web: the OTP page over HTTP', () => {
  it('English by default: labelled one-time-code input, CSRF meta and field, script and style from self', async () => {
    const h = await otpHarness();
    try {
      const res = await page(h);
      assert.match(res.text, /<html lang="en">/);
      assert.match(res.text, /<label for="otp">One-time password<\/label>/);
      assert.match(res.text, /id="otp" name="otp" type="text" autocomplete="one-time-code" inputmode="numeric"/);
      const meta = /<meta name="csrf-token" content="([0-9a-f]+)">/.exec(res.text)?.[1];
      assert.ok(meta && res.text.includes(`name="_csrf" value="${meta}"`));
      assert.match(res.text, /<script src="\/_authn\/assets\/otp-form.js" defer><\/script>/);
      assert.equal((res.text.match(/<script/g) ?? []).length, 1, 'no inline script');
      assert.match(res.headers['content-security-policy'] ?? '', /default-src 'none';script-src 'self';style-src 'self'/);
      assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
    } finally { await h.close(); }
  });

  it('Swedish from ?lng=sv and from Accept-Language, with the banner and the switch in Swedish', async () => {
    const h = await otpHarness();
    try {
      for (const res of [await page(h, {}, '?lng=sv'), await page(h, { 'Accept-Language': 'sv-SE,sv;q=0.9' })]) {
        assert.match(res.text, /<html lang="sv">/);
        assert.ok(res.text.includes(`<label for="otp">${sv.otp_validation.otp}</label>`));
        assert.ok(res.text.includes(sv['allow-cookies-body']));
        assert.ok(res.text.includes(`${sv.language_switch}:`));
        assert.equal(String(res.headers['set-cookie'] ?? '').includes('lng='), false, 'no language cookie without consent');
      }
    } finally { await h.close(); }
  });

  it('alphanumeric codes get a text input that upper-cases, not the numeric keypad', async () => {
    const h = await otpHarness({ code: { length: 6, charset: 'alphanumeric' } });
    try {
      const res = await page(h);
      assert.doesNotMatch(res.text, /inputmode="numeric"/);
      assert.match(res.text, /autocapitalize="characters"/);
    } finally { await h.close(); }
  });

  it('the consent form refuses a wrong CSRF token and only returns to local paths', async () => {
    const h = await otpHarness();
    try {
      const res = await page(h);
      const csrf = /name="_csrf" value="([0-9a-f]+)"/.exec(res.text)?.[1] ?? '';
      const agent = request.agent(h.app);
      await agent.post('/test/exports').send({ username: 'alice', mobile: '+46701234567' });
      const own = (await agent.get('/authn/otp').set('Accept', 'application/json')).body.csrf_token as string;
      await agent.post('/_authn/consent').type('form').send({ _csrf: csrf === own ? 'x' : csrf, return: '/authn/otp' }).expect(403);
      const ok = await agent.post('/_authn/consent?lng=sv').type('form').send({ _csrf: own, return: '//evil.example/x' }).expect(303);
      assert.equal(ok.headers.location, '/');
      const cookies = String(ok.headers['set-cookie']);
      assert.match(cookies, /cookie_consent=yes/);
      assert.match(cookies, /lng=sv/);
    } finally { await h.close(); }
  });
});

describe('web: overlay_dir overrides texts key by key, the layout and the stylesheet', () => {
  it('an operator overlay changes one text, keeps the others, and replaces layout and CSS', async () => {
    const t = tempConfigDir();
    t.write('overlay/locales/en/translation.json', { otp_validation: { start_validate: 'Check my code' } });
    t.write('overlay/templates/layout.html', '<!doctype html><html lang="{{lang}}"><head>{{{head}}}<title>{{title}} | ACME</title></head><body><header>ACME Bank</header>{{{banner}}}{{{body}}}</body></html>');
    t.write('overlay/assets/otp.css', 'body { background: #123456; }');
    const h = await otpHarness({}, {}, { overlay_dir: `${t.dir}/overlay` });
    try {
      const res = await page(h);
      assert.match(res.text, />Check my code<\/button>/);
      assert.ok(res.text.includes(`<label for="otp">${en.otp_validation.otp}</label>`), 'other keys keep the package text');
      assert.match(res.text, /<header>ACME Bank<\/header>/);
      assert.match(res.text, /<title>One-time password \| ACME<\/title>/);
      const css = await request(h.app).get('/_authn/assets/otp.css').expect(200);
      assert.equal(css.text, 'body { background: #123456; }');
      const sv2 = await page(h, {}, '?lng=sv');
      assert.ok(sv2.text.includes(`>${sv.otp_validation.start_validate}</button>`), 'Swedish has no overlay: the package text');
    } finally { await h.close(); }
  });

  it('an unknown asset is a 404, not a file read', async () => {
    const h = await otpHarness();
    try {
      await request(h.app).get('/_authn/assets/..%2f..%2fpackage.json').expect(404);
      await request(h.app).get('/_authn/assets/otp-form.js').expect(200).expect('Content-Type', /javascript/);
    } finally { await h.close(); }
  });
});
