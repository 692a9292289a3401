import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { launchBrowser, SCREENSHOTS, startDemo } from '../support/browser.js';

/**
 * The Selector of the demo (/authn/method: otp, email, totp) in real Chromium: "Try another way", the list of
 * choices, switching (which cancels the previous choice's transaction), with and without JavaScript, in English
 * and Swedish, and the basics of the list's accessibility.
 */
const ALICE_SMS = '+46701234567';
const ALICE_MAIL = 'alice@example.com';
const CHOOSE_URL = /\/authn\/method\?choose=1$/;

describe('browser: the selector (Try another way) in real Chromium', function () {
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
  // A demo (store, outbox, rate limits) per test: together the tests send alice more SMS than the otp choice's
  // five per destination and minute.
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

  async function signIn(page: Page): Promise<void> {
    await page.goto(`${demo.url}/authn/login`);
    await page.fill('#identifier', 'alice');
    await page.fill('#password', 'wonderland');
    await page.click('form[action="/authn/password"] button');
    await page.waitForURL('**/authn/method/otp');
    assert.equal(await page.textContent('#otp-error'), '', 'the default choice sent its code without an error');
  }

  async function tryAnotherWay(page: Page, texts: typeof en = en): Promise<void> {
    assert.equal((await page.textContent('#try-another-way'))?.trim(), texts.selector.try_another_way);
    assert.equal(await page.getAttribute('#try-another-way', 'href'), '/authn/method?choose=1');
    await page.click('#try-another-way');
    await page.waitForURL(CHOOSE_URL);
    assert.equal((await page.textContent('h1'))?.trim(), texts.selector.title);
  }

  async function choose(page: Page, id: string): Promise<void> {
    await page.click(`#choose-${id}`);
    await page.waitForURL(`**/authn/method/${id}`);
  }

  async function choiceTexts(page: Page): Promise<Record<string, string>> {
    return page.$$eval('button.choice', (buttons) => Object.fromEntries(buttons.map((b) => [b.id, (b.textContent ?? '').trim()])));
  }

  async function switchingEndsOnAccount(page: Page): Promise<void> {
    const smsAtStart = demo.codes(ALICE_SMS).length;
    await signIn(page);
    assert.equal(demo.codes(ALICE_SMS).length, smsAtStart + 1, 'the default choice (otp) sent an SMS');

    await tryAnotherWay(page);
    assert.deepEqual(await choiceTexts(page), {
      'choose-otp': `${en.selector.sms}: +46 70*** **67`,
      'choose-email': `${en.selector.email}: a***@example.com`,
      'choose-totp': en.selector.totp,
    });

    const mailsBefore = demo.codes(ALICE_MAIL).length;
    await choose(page, 'email');
    assert.equal(demo.codes(ALICE_MAIL).length, mailsBefore + 1, 'the e-mail choice sent a code to alice@example.com');
    assert.match(demo.lastCode(ALICE_MAIL), /^\d{6}$/);
    assert.match(await page.textContent('#destination-text') ?? '', /a\*\*\*@example\.com/);

    await tryAnotherWay(page);
    const smsBefore = demo.codes(ALICE_SMS).length;
    await choose(page, 'otp');
    assert.equal(demo.codes(ALICE_SMS).length, smsBefore + 1, 'switching back to otp opens a new transaction and sends a new SMS');
    await page.fill('#otp', demo.lastCode(ALICE_SMS));
    await page.click('#otp-form button');
    await page.waitForURL('**/account');

    assert.equal((await page.textContent('#otp-method'))?.trim(), 'otp');
    const rows = await page.$$eval('#methods-tried tr', (trs) => trs.map((tr) => Array.from(tr.children).map((c) => (c.textContent ?? '').trim())));
    assert.deepEqual(rows, [
      ['otp', 'sms', 'CANCELLED'],
      ['email', 'email', 'CANCELLED'],
      ['otp', 'sms', 'COMPLETED'],
    ]);
    assert.match(await page.textContent('#otp-report') ?? '', /"status": "approved"/);
    await page.context().close();
  }

  it('with JavaScript: otp, Try another way, e-mail, Try another way, SMS again, then /account lists the ways tried', async () => {
    await switchingEndsOnAccount(await open());
  });

  it('with JavaScript disabled: the same switches through plain forms and links', async () => {
    await switchingEndsOnAccount(await open({ javaScriptEnabled: false }));
  });

  it('the choice page in English and in Swedish (screenshots)', async () => {
    for (const [locale, lang, texts, shot] of [['en-GB', 'en', en, 'choose-page-en'], ['sv-SE', 'sv', sv, 'choose-page-sv']] as const) {
      const page = await open({ locale });
      await signIn(page);
      assert.equal(await page.getAttribute('html', 'lang'), lang);
      if (lang === 'sv') assert.equal((await page.textContent('#try-another-way'))?.trim(), 'Prova ett annat sätt');
      await tryAnotherWay(page, texts);
      assert.equal(await page.getAttribute('html', 'lang'), lang);
      if (lang === 'sv') assert.equal((await page.textContent('h1#choose-title'))?.trim(), 'Hur vill du få din kod?');
      assert.equal(await page.title(), texts.selector.title);
      assert.deepEqual(await choiceTexts(page), {
        'choose-otp': `${texts.selector.sms}: +46 70*** **67`,
        'choose-email': `${texts.selector.email}: a***@example.com`,
        'choose-totp': texts.selector.totp,
      });
      await page.screenshot({ path: path.join(SCREENSHOTS, `${shot}.png`), fullPage: true });
      await page.context().close();
    }
  });

  it('the choice page: a list of buttons with text, each reachable with Tab', async () => {
    const page = await open();
    await signIn(page);
    await tryAnotherWay(page);
    const list = await page.$$eval('ul.choices', (uls) => uls.map((ul) => ({
      labelledBy: ul.getAttribute('aria-labelledby'),
      items: Array.from(ul.children).map((li) => ({
        tag: li.tagName,
        buttons: Array.from(li.querySelectorAll('button')).map((b) => ({ id: b.id, type: b.type, text: (b.textContent ?? '').trim() })),
      })),
    })));
    assert.equal(list.length, 1, 'one list of choices');
    const [ul] = list as [(typeof list)[number]];
    assert.equal(ul.labelledBy, 'choose-title');
    assert.equal(await page.textContent(`#${ul.labelledBy}`), en.selector.title, 'the list is named by the heading');
    assert.deepEqual(ul.items.map((i) => i.tag), ['LI', 'LI', 'LI']);
    const buttons = ul.items.map((i) => { assert.equal(i.buttons.length, 1, 'one button per item'); return i.buttons[0]!; });
    assert.deepEqual(buttons.map((b) => b.id), ['choose-otp', 'choose-email', 'choose-totp']);
    for (const b of buttons) {
      assert.equal(b.type, 'submit');
      assert.ok(b.text.length > 0, `${b.id} has text`);
    }

    // Tab from the top of the page: every choice button takes the keyboard focus, in the list's order.
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    const focused: string[] = [];
    for (let i = 0; i < 20 && focused.length < buttons.length; i++) {
      await page.keyboard.press('Tab');
      const id = await page.evaluate(() => (document.activeElement?.classList.contains('choice') ? document.activeElement.id : null));
      if (id && !focused.includes(id)) focused.push(id);
    }
    assert.deepEqual(focused, buttons.map((b) => b.id), 'each choice is reached with Tab');

    // Enter on the focused button chooses it, as a click does.
    await page.focus('#choose-totp');
    await page.keyboard.press('Enter');
    await page.waitForURL('**/authn/method/totp');
    await page.context().close();
  });
});
