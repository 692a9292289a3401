import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { generate } from 'otplib';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { launchBrowser, SCREENSHOTS, startDemo } from '../support/browser.js';

/**
 * TotpEnroll in the demo (/authn/enroll, linked from /account) in real Chromium: a signed-in alice sees the QR
 * code (inline SVG, nothing fetched from elsewhere) and the key in groups of four, activates the app with a
 * current code, and then logs in through the selector's totp choice with a code of the enrolled app; a wrong
 * code activates nothing; the same without JavaScript; the page in English and Swedish (screenshots).
 */
const ALICE_SMS = '+46701234567';
const FILE_SECRET = (JSON.parse(readFileSync('config/demo-users.json', 'utf8')) as { users: { username: string; totp_secret?: string }[] })
  .users.find((u) => u.username === 'alice')!.totp_secret!;

describe('browser: enrolling an authenticator app (TotpEnroll) in real Chromium', function () {
  this.timeout(60_000);
  let browser: Browser | null = null;
  let demo: Awaited<ReturnType<typeof startDemo>>;
  const sv = JSON.parse(readFileSync('locales/sv/translation.json', 'utf8'));
  const en = JSON.parse(readFileSync('locales/en/translation.json', 'utf8'));

  before(async function () {
    browser = await launchBrowser(this);
    mkdirSync(SCREENSHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
  });
  // A demo (store, credentials, outbox, rate limits) per test: each test signs alice in with an SMS code, and
  // together they would pass the otp choice's five per destination and minute.
  beforeEach(async () => {
    demo = await startDemo();
  });
  afterEach(async () => {
    await demo?.close();
  });

  async function open(options: BrowserContextOptions = {}): Promise<Page> {
    const context = await browser!.newContext({ locale: 'en-GB', ...options });
    return context.newPage();
  }

  /** Clicks and waits for the navigation it starts (a plain form post or link, with or without JavaScript). */
  async function clickTo(page: Page, selector: string, url: string | RegExp): Promise<void> {
    await Promise.all([page.waitForURL(url), page.click(selector)]);
  }

  async function password(page: Page): Promise<void> {
    await page.goto(`${demo.url}/authn/login`);
    await page.fill('#identifier', 'alice');
    await page.fill('#password', 'wonderland');
    await clickTo(page, 'form[action="/authn/password"] button', '**/authn/method/otp');
    assert.equal(await page.textContent('#otp-error'), '', 'the default choice sent its code without an error');
  }

  /** Password, then the SMS code the default choice sent: /account. */
  async function signIn(page: Page): Promise<void> {
    const before = demo.codes(ALICE_SMS).length;
    await password(page);
    assert.equal(demo.codes(ALICE_SMS).length, before + 1, 'the otp choice sent an SMS');
    await page.fill('#otp', demo.lastCode(ALICE_SMS));
    await clickTo(page, '#otp-form button', '**/account');
  }

  /** From /account to the enrolment page; answers the key shown (the spans of #totp-secret joined). */
  async function openEnroll(page: Page, texts: typeof en = en): Promise<string> {
    assert.match(page.url(), /\/account$/);
    assert.equal((await page.textContent('a#enroll-totp'))?.trim(), texts.demo.enroll_totp);
    assert.equal(await page.getAttribute('a#enroll-totp', 'href'), '/authn/enroll');
    await clickTo(page, 'a#enroll-totp', '**/authn/enroll');
    assert.equal((await page.textContent('h1'))?.trim(), texts.enroll.title);
    return shownKey(page);
  }

  async function shownKey(page: Page): Promise<string> {
    const groups = await page.$$eval('p#totp-secret span', (spans) => spans.map((s) => (s.textContent ?? '').trim()));
    assert.ok(groups.length > 0, 'the key is shown');
    assert.ok(groups.every((g) => /^[A-Z2-7]{1,4}$/.test(g)), `groups of base32: ${groups.join(' ')}`);
    assert.ok(groups.slice(0, -1).every((g) => g.length === 4), 'groups of four');
    const secret = groups.join('');
    assert.match(secret, /^[A-Z2-7]{32}$/, '20 random bytes, base32');
    return secret;
  }

  async function assertInlineQr(page: Page): Promise<void> {
    assert.equal(await page.locator('figure#totp-qr svg').count(), 1, 'one inline <svg> in the figure');
    assert.equal(await page.locator('img').count(), 0, 'no <img> on the page');
    assert.equal(await page.getAttribute('figure#totp-qr', 'aria-label'), en.enroll.qr_label);
    const box = await page.locator('figure#totp-qr svg').boundingBox();
    assert.ok(box && box.width > 50 && box.height > 50, `the QR code is drawn (${JSON.stringify(box)})`);
  }

  /** A code other than the right one of `secret` now. */
  async function wrongCode(secret: string): Promise<string> {
    const right = await generate({ strategy: 'totp', secret });
    return right === '000000' ? '111111' : '000000';
  }

  /**
   * The right code activates the app; without recovery codes yet, the next page offers them: made, shown once
   * (ten, with the download link), then on to /account.
   */
  async function activate(page: Page, secret: string): Promise<void> {
    await page.fill('#otp', await generate({ strategy: 'totp', secret }));
    await clickTo(page, '#enroll-form button', '**/authn/recovery-codes');
    assert.equal((await page.textContent('#recovery-why'))?.trim(), en.recovery.why);
    await Promise.all([page.waitForSelector('#recovery-codes li'), page.click('#recovery-form button')]);
    const codes = await page.$$eval('#recovery-codes li', (items) => items.map((li) => li.textContent ?? ''));
    assert.equal(codes.length, 10);
    for (const c of codes) assert.match(c, /^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
    assert.ok(await page.$('#recovery-download'), 'a download link');
    await clickTo(page, '#recovery-continue', '**/account');
    assert.equal((await page.textContent('h1'))?.trim(), en.demo.account);
    assert.match((await page.textContent('#recovery-codes-left')) ?? '', /10/);
  }

  async function logOut(page: Page): Promise<void> {
    assert.equal((await page.textContent('form[action="/logout"] button'))?.trim(), en.demo.logout);
    await clickTo(page, 'form[action="/logout"] button', `${demo.url}/`);
    await page.goto(`${demo.url}/account`);
    assert.match(page.url(), /\/authn\/(login|password)$/, `signed out: /account leads to the login (${page.url()})`);
  }

  /**
   * Password again, the list of ways, the authenticator app: a code of `rejected` (when given) is refused, and a
   * code of `secret` leads to /account.
   */
  async function logInWithApp(page: Page, secret: string, rejected?: { secret: string; script: boolean }): Promise<void> {
    await password(page);
    await page.goto(`${demo.url}/authn/method?choose=1`);
    assert.equal((await page.textContent('#choose-totp'))?.trim(), en.selector.totp);
    await clickTo(page, '#choose-totp', '**/authn/method/totp');
    if (rejected) {
      await page.fill('#otp', await generate({ strategy: 'totp', secret: rejected.secret }));
      if (rejected.script) {
        await page.click('#otp-form button');
        await page.waitForFunction((msg) => document.getElementById('otp-error')?.textContent === msg, en.otp_validation.ERROR);
      } else {
        await Promise.all([page.waitForNavigation(), page.click('#otp-form button')]);
        assert.equal(await page.textContent('#otp-error'), en.otp_validation.ERROR);
      }
      assert.match(page.url(), /\/authn\/method\/totp$/, 'the code of the user-file secret was refused');
    }
    // The next time step's code: the step that activated the app is used up (the replay guard), and one step
    // ahead is within the window.
    await page.fill('#otp', await generate({ strategy: 'totp', secret, epoch: Math.floor(Date.now() / 1000) + 30 }));
    await clickTo(page, '#otp-form button', '**/account');
    assert.equal((await page.textContent('#otp-method'))?.trim(), 'totp');
    assert.match(await page.textContent('#otp-report') ?? '', /"status": "approved"/);
  }

  async function enrolAndLogInAgain(options: BrowserContextOptions): Promise<void> {
    const page = await open(options);
    await signIn(page);

    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const secret = await openEnroll(page);
    await page.waitForLoadState('load');
    await assertInlineQr(page);
    assert.notEqual(secret, FILE_SECRET, 'a new key, not the one in the user file');
    const origin = new URL(demo.url).origin;
    const elsewhere = requests.filter((u) => !u.startsWith('data:') && new URL(u).origin !== origin);
    assert.deepEqual(elsewhere, [], 'the enrolment page asked no other host for anything');
    assert.ok(requests.some((u) => u === `${demo.url}/authn/enroll`), 'the page itself was recorded');

    await activate(page, secret);
    await logOut(page);
    await logInWithApp(page, secret, { secret: FILE_SECRET, script: options.javaScriptEnabled !== false });
    await page.context().close();
  }

  it('with JavaScript: alice enrols an app from /account, logs out, and logs in with a code of the enrolled app', async () => {
    await enrolAndLogInAgain({});
  });

  it('a wrong code does not activate: the error is shown with the same key, and the user-file secret still logs in', async () => {
    const page = await open();
    await signIn(page);
    const secret = await openEnroll(page);
    await page.fill('#otp', await wrongCode(secret));
    // The page answers in place (same URL): wait for the navigation of the post itself.
    await Promise.all([page.waitForNavigation(), page.click('#enroll-form button')]);
    assert.match(page.url(), /\/authn\/enroll$/);
    assert.equal(await page.textContent('#enroll-error'), en.otp_validation.ERROR);
    assert.equal(await shownKey(page), secret, 'the same key is still shown');
    await assertInlineQr(page);
    await page.goto(`${demo.url}/authn/enroll`);
    assert.equal(await page.textContent('#enroll-error'), '', 'a fresh GET shows no error');
    assert.equal(await shownKey(page), secret, 'the key stays pending');

    // Nothing was enrolled: the next login's totp choice still takes the secret in the user file.
    await page.goto(`${demo.url}/account`);
    await logOut(page);
    await logInWithApp(page, FILE_SECRET);
    await page.context().close();
  });

  it('with JavaScript disabled: enrolment and the next login work the same through plain forms', async () => {
    await enrolAndLogInAgain({ javaScriptEnabled: false });
  });

  it('the enrolment page in English and in Swedish (screenshots)', async () => {
    for (const [locale, lang, texts, shot] of [['en-GB', 'en', en, 'enroll-page-en'], ['sv-SE', 'sv', sv, 'enroll-page-sv']] as const) {
      const page = await open({ locale });
      await signIn(page);
      await openEnroll(page, texts);
      assert.equal(await page.getAttribute('html', 'lang'), lang);
      assert.equal(await page.title(), texts.enroll.title);
      if (lang === 'sv') assert.equal((await page.textContent('h1'))?.trim(), 'Konfigurera en autentiseringsapp');
      assert.equal(await page.textContent('label[for="otp"]'), texts.enroll.code);
      assert.equal((await page.textContent('#enroll-form button'))?.trim(), texts.enroll.activate);
      assert.equal(await page.getAttribute('figure#totp-qr', 'aria-label'), texts.enroll.qr_label);
      assert.equal(await page.getAttribute('#otp', 'autocomplete'), 'one-time-code');
      assert.equal(await page.getAttribute('#otp', 'inputmode'), 'numeric');
      await page.screenshot({ path: path.join(SCREENSHOTS, `${shot}.png`), fullPage: true });
      await page.context().close();
    }
  });
});
