import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, SCREENSHOTS, startDemo } from '../support/browser.js';

const ALICE = '+46701234567';

describe('browser: alice logs in with password and code in real Chromium', function () {
  this.timeout(60_000);
  let browser: Browser | null = null;
  let demo: Awaited<ReturnType<typeof startDemo>>;
  const sv = JSON.parse(readFileSync('locales/sv/translation.json', 'utf8'));
  const en = JSON.parse(readFileSync('locales/en/translation.json', 'utf8'));

  before(async function () {
    browser = await launchBrowser(this);
    demo = await startDemo({ resend_cooldown_seconds: 2 });
    mkdirSync(SCREENSHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await demo?.close();
  });

  async function signIn(page: Page): Promise<void> {
    await page.goto(`${demo.url}/authn/login`);
    await page.fill('#identifier', 'alice');
    await page.fill('#password', 'wonderland');
    await page.click('form[action="/authn/password"] button');
    await page.waitForURL('**/authn/method/otp');
  }

  async function wrongThenRight(page: Page, texts: typeof en, shot: string): Promise<void> {
    const code = demo.lastCode(ALICE);
    await page.screenshot({ path: path.join(SCREENSHOTS, `${shot}.png`), fullPage: true });
    await page.fill('#otp', code === '000000' ? '111111' : '000000');
    await page.click('#otp-form button');
    await page.waitForFunction((msg) => document.getElementById('otp-error')?.textContent === msg, texts.otp_validation.ERROR);
    assert.equal(await page.textContent('#attempts-left'), texts.otp.attempts_left_other.replace('{{count}}', '2'));
    assert.match(page.url(), /\/authn\/method\/otp$/, 'the script answered in place, no reload');
    await page.screenshot({ path: path.join(SCREENSHOTS, `${shot}-wrong-code.png`), fullPage: true });
    await page.fill('#otp', code);
    await page.click('#otp-form button');
    await page.waitForURL('**/account');
    assert.match(await page.textContent('#otp-report') ?? '', /"status": "approved"/);
  }

  it('in English: the translated error and attempts left after a wrong code, then /account', async () => {
    const context = await browser!.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    await signIn(page);
    assert.equal(await page.getAttribute('#otp', 'autocomplete'), 'one-time-code');
    assert.equal(await page.getAttribute('#otp', 'inputmode'), 'numeric');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'otp', 'the code input has focus');
    await wrongThenRight(page, en, 'otp-page-en');
    await context.close();
  });

  it('in Swedish (Accept-Language sv): the Swedish page and error', async () => {
    const context = await browser!.newContext({ locale: 'sv-SE' });
    const page = await context.newPage();
    await signIn(page);
    assert.equal(await page.getAttribute('html', 'lang'), 'sv');
    assert.equal(await page.textContent('label[for="otp"]'), sv.otp_validation.otp);
    await wrongThenRight(page, sv, 'otp-page-sv');
    await context.close();
  });

  it('with JavaScript disabled the forms still lead to /account', async () => {
    const context = await browser!.newContext({ javaScriptEnabled: false, locale: 'en-GB' });
    const page = await context.newPage();
    await signIn(page);
    const code = demo.lastCode(ALICE);
    await page.fill('#otp', code === '000000' ? '111111' : '000000');
    await Promise.all([page.waitForNavigation(), page.click('#otp-form button')]);
    assert.equal(await page.textContent('#otp-error'), en.otp_validation.ERROR);
    assert.equal(await page.textContent('#attempts-left'), en.otp.attempts_left_other.replace('{{count}}', '2'));
    await page.fill('#otp', code);
    await Promise.all([page.waitForURL('**/account'), page.click('#otp-form button')]);
    await context.close();
  });

  it('the resend button counts down, then sends a new code that works', async () => {
    const context = await browser!.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    await signIn(page);
    const before = demo.codes(ALICE).length;
    assert.equal(await page.isDisabled('#resend'), true, 'disabled during the cooldown');
    assert.match(await page.textContent('#resend') ?? '', /\(\d s\)/);
    await page.waitForFunction(() => !(document.getElementById('resend') as HTMLButtonElement).disabled, undefined, { timeout: 10_000 });
    assert.equal(await page.textContent('#resend'), en.otp.resend);
    await page.click('#resend');
    await page.waitForFunction((msg) => document.getElementById('otp-notice')?.textContent === msg, en.otp.resent);
    assert.equal(demo.codes(ALICE).length, before + 1);
    assert.equal(await page.isDisabled('#resend'), true, 'the countdown starts again');
    await page.fill('#otp', demo.lastCode(ALICE));
    await page.click('#otp-form button');
    await page.waitForURL('**/account');
    await context.close();
  });

  it('the language cookie is written only after the user accepts cookies', async () => {
    const context = await browser!.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    await page.goto(`${demo.url}/authn/password?lng=sv`);
    assert.equal(await page.textContent('h1'), sv.password.title);
    assert.equal((await context.cookies()).some((c) => c.name === 'lng'), false, 'no language cookie before consent');
    await page.goto(`${demo.url}/authn/password`);
    assert.equal(await page.textContent('h1'), en.password.title, 'without the cookie the next page is English again');
    await page.goto(`${demo.url}/authn/password?lng=sv`);
    await Promise.all([page.waitForNavigation(), page.click('.banner button')]);
    assert.equal((await context.cookies()).find((c) => c.name === 'lng')?.value, 'sv');
    await page.goto(`${demo.url}/authn/password`);
    assert.equal(await page.textContent('h1'), sv.password.title, 'the cookie keeps Swedish');
    assert.equal(await page.locator('.banner').count(), 0, 'the banner is gone after consent');
    await context.close();
  });

  it('the page loads under its CSP without violations', async () => {
    const context = await browser!.newContext();
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
    const res = await page.goto(`${demo.url}/authn/password`);
    const csp = res?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /form-action 'self'/);
    await signIn(page);
    assert.deepEqual(violations, []);
    await context.close();
  });
});
