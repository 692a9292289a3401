import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, startDemo } from '../support/browser.js';

/** "Don't ask again on this browser for 30 days" in real Chromium, with the enhancing script and without it. */
const ALICE_SMS = '+46701234567';

describe('browser: remember this browser (trust_device) in real Chromium', function () {
  this.timeout(60_000);
  let browser: Browser | null = null;
  let demo: Awaited<ReturnType<typeof startDemo>>;
  before(async function () { browser = await launchBrowser(this); });
  after(async () => { await browser?.close(); });
  beforeEach(async () => { demo = await startDemo(); });
  afterEach(async () => { await demo?.close(); });

  async function password(page: Page): Promise<void> {
    await page.goto(`${demo.url}/authn/login`);
    await page.fill('#identifier', 'alice');
    await page.fill('#password', 'wonderland');
    await page.click('form[action="/authn/password"] button');
  }

  for (const javaScriptEnabled of [true, false]) {
    it(`ticked, the next login on this browser skips the code (JavaScript ${javaScriptEnabled ? 'on' : 'off'}); another browser still gets one`, async () => {
      const context = await browser!.newContext({ locale: 'en-GB', javaScriptEnabled });
      const page = await context.newPage();
      await password(page);
      await page.waitForURL('**/authn/method/otp');
      assert.equal((await page.textContent('label.check'))?.trim(), "Don't ask again on this browser for 30 days");
      await page.check('#trust-device');
      await page.fill('#otp', demo.lastCode(ALICE_SMS));
      await Promise.all([page.waitForURL('**/account'), page.click('#otp-form button')]);
      const cookie = (await context.cookies()).find((c) => c.name === 'otp_trusted_device');
      assert.ok(cookie && cookie.httpOnly && cookie.sameSite === 'Lax', JSON.stringify(cookie));
      await Promise.all([page.waitForURL(`${demo.url}/`), page.click('form[action="/logout"] button')]);

      const sent = demo.codes(ALICE_SMS).length;
      await password(page);
      await page.waitForURL('**/account');
      assert.equal((await page.textContent('#otp-method'))?.trim(), 'trusted_device');
      assert.equal(demo.codes(ALICE_SMS).length, sent, 'no code was sent');
      await context.close();

      const other = await browser!.newContext({ locale: 'en-GB', javaScriptEnabled });
      const fresh = await other.newPage();
      await password(fresh);
      await fresh.waitForURL('**/authn/method/otp');
      assert.equal(demo.codes(ALICE_SMS).length, sent + 1, 'another browser gets a code');
      await other.close();
    });
  }
});
