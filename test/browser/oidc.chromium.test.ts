import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, SCREENSHOTS } from '../support/browser.js';
import { oidcDemo, type OidcDemo } from '../support/oidc-demo.js';

/**
 * Issue 23 in real Chromium: the demo's relying party (/rp, openid-client) signs in through the demo's own
 * OpenID Provider (/oidc, oidc-provider) whose login interaction is the login chain: the whole redirect loop
 * (/rp -> /oidc/auth -> /interaction/:uid -> /authn/password -> /authn/method/otp -> /interaction/:uid/complete ->
 * /oidc/auth/:uid -> /rp/callback -> /rp), with the enhancing script and with plain forms, under the pages' CSP;
 * then a step-up from a password-only sign-in to the MFA acr that asks only for the code.
 */
const ALICE = { username: 'alice', password: 'wonderland', to: '+46701234567' };
const BOB = { username: 'bob', password: 'builder', to: '+447400123456' };

interface Claims {
  iss: string;
  aud: string | string[];
  sub: string;
  acr: string;
  amr: string[];
  auth_time: number;
  nonce?: string;
  [name: string]: unknown;
}

describe('browser: OpenID Connect sign-in at the demo relying party in real Chromium', function () {
  this.timeout(60_000);
  let browser: Browser | null = null;
  let demo: OidcDemo;
  const en = JSON.parse(readFileSync('locales/en/translation.json', 'utf8'));

  before(async function () {
    browser = await launchBrowser(this);
    demo = await oidcDemo();
    mkdirSync(SCREENSHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await demo?.close();
  });

  function codes(to: string): string[] {
    if (!existsSync(demo.outbox)) return [];
    return readFileSync(demo.outbox, 'utf8').trim().split('\n').filter(Boolean)
      .map((l) => JSON.parse(l) as { to: string; text: string }).filter((m) => m.to === to).map((m) => /\b(\d{6})\b/.exec(m.text)?.[1] ?? '');
  }

  /** The new code sent to `to` after `before` codes (the outbox is appended to as the code page is served). */
  async function newCode(to: string, before: number): Promise<string> {
    for (let i = 0; i < 100; i += 1) {
      if (codes(to).length > before) {
        assert.equal(codes(to).length, before + 1, `exactly one new code to ${to}`);
        return demo.lastCode(to);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no code to ${to} in the outbox`);
  }

  interface Watched { page: Page; context: BrowserContext; visited: string[]; csp: string[]; errors: string[] }

  /** A page that records every top-level navigation (path), CSP violations and page errors. */
  async function open(javaScriptEnabled: boolean): Promise<Watched> {
    const context = await browser!.newContext({ locale: 'en-GB', javaScriptEnabled });
    const page = await context.newPage();
    const visited: string[] = [];
    const csp: string[] = [];
    const errors: string[] = [];
    // Every document request of the main frame, redirects included (framenavigated sees only where they end).
    page.on('request', (r) => { if (r.isNavigationRequest() && r.frame() === page.mainFrame()) visited.push(new URL(r.url()).pathname); });
    page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) csp.push(m.text()); });
    page.on('pageerror', (e) => errors.push(e.message));
    return { page, context, visited, csp, errors };
  }

  async function password(page: Page, who: typeof ALICE): Promise<void> {
    await page.fill('#identifier', who.username);
    await page.fill('#password', who.password);
    await page.click('form[action="/authn/password"] button');
  }

  async function code(page: Page, who: typeof ALICE, before: number): Promise<void> {
    const value = await newCode(who.to, before);
    assert.match(value, /^\d{6}$/);
    await page.fill('#otp', value);
    await page.click('#otp-form button');
  }

  async function noRpError(page: Page): Promise<void> {
    const error = page.locator('#rp-error');
    if ((await error.count()) > 0) assert.fail(`the relying party shows an error: ${await error.textContent()}`);
  }

  async function shownClaims(page: Page): Promise<Claims> {
    return JSON.parse((await page.textContent('#rp-claims')) ?? 'null') as Claims;
  }

  /** GET /rp/claims from the page, as its own script would (same origin, the browser's cookies). */
  async function claimsFromPage(page: Page): Promise<{ status: number; type: string; body: unknown }> {
    return page.evaluate(async () => {
      const res = await fetch('/rp/claims', { headers: { Accept: 'application/json' } });
      return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.json() as unknown };
    });
  }

  function assertMfa(claims: Claims, sub: string, notBefore: number): void {
    assert.equal(claims.iss, demo.issuer);
    assert.ok(claims.aud === 'demo-rp' || (Array.isArray(claims.aud) && claims.aud.includes('demo-rp')), `aud ${JSON.stringify(claims.aud)}`);
    assert.equal(claims.sub, sub);
    assert.equal(claims.acr, 'urn:otp:mfa');
    assert.ok(Array.isArray(claims.amr) && claims.amr.includes('pwd') && claims.amr.includes('otp'), `amr ${JSON.stringify(claims.amr)}`);
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'sms', 'mfa']);
    assert.equal(typeof claims.auth_time, 'number');
    assert.ok(claims.auth_time >= notBefore - 1 && claims.auth_time <= Math.floor(Date.now() / 1000) + 1, `auth_time ${claims.auth_time} in this test's time`);
    assert.equal(typeof claims.nonce, 'string', 'the nonce the relying party checked');
  }

  for (const javaScriptEnabled of [true, false]) {
    const mode = javaScriptEnabled ? 'with JavaScript' : 'with JavaScript disabled (plain forms)';
    it(`${mode}: /rp, Sign in with Demo SSO, password, the SMS code, back at /rp with the verified claims (sub alice, amr pwd+otp, acr mfa, auth_time) and the OTP report`, async () => {
      const w = await open(javaScriptEnabled);
      const { page } = w;
      const notBefore = Math.floor(Date.now() / 1000);
      await page.goto(`${demo.base}/rp`);
      assert.equal((await page.textContent('h1'))?.trim(), en.rp.title);
      assert.equal(await page.locator('#rp-claims').count(), 0, 'no claims before a sign-in');
      assert.equal((await page.textContent('#rp-sign-in'))?.trim(), en.rp.sign_in);
      assert.equal((await page.textContent('#rp-sign-in'))?.trim(), 'Sign in with Demo SSO');

      await page.click('#rp-sign-in');
      await page.waitForURL(`${demo.base}/authn/password`);
      const sent = codes(ALICE.to).length;
      await password(page, ALICE);
      await page.waitForURL(`${demo.base}/authn/method/otp`);
      await code(page, ALICE, sent);
      await page.waitForURL(`${demo.base}/rp`);

      const loop = w.visited.filter((p) => !p.startsWith('/authn/assets'));
      const uid = /^\/interaction\/([^/]+)$/.exec(loop.find((p) => p.startsWith('/interaction/')) ?? '')?.[1];
      assert.ok(uid, `an interaction: ${loop.join(' > ')}`);
      assert.deepEqual(loop, [
        '/rp', '/rp/login', '/oidc/auth', `/interaction/${uid}`, '/authn/login', '/authn/password',
        '/authn/password', '/authn/method', '/authn/method/otp',
        ...(javaScriptEnabled ? [] : ['/authn/method/otp']),
        `/interaction/${uid}/complete`, `/oidc/auth/${uid}`, '/rp/callback', '/rp',
      ], `the redirect loop: ${loop.join(' > ')}`);
      await noRpError(page);

      const claims = await shownClaims(page);
      assertMfa(claims, 'alice', notBefore);
      const report = JSON.parse((await page.textContent('#rp-report')) ?? 'null') as { action: string; detail: string; properties: { channel: string } };
      assert.deepEqual([report.action, report.detail, report.properties.channel], ['PASS', 'ALL CHECKS PASSED', 'sms']);

      const fromPage = await claimsFromPage(page);
      assert.equal(fromPage.status, 200);
      assert.match(fromPage.type, /^application\/json/);
      assert.deepEqual(fromPage.body, claims, '/rp/claims answers the claims the page shows');
      await page.screenshot({ path: path.join(SCREENSHOTS, `oidc-rp-claims-${javaScriptEnabled ? 'js' : 'nojs'}.png`), fullPage: true });

      assert.deepEqual(w.csp, [], 'no CSP violation on the way (form-action included)');
      assert.deepEqual(w.errors, []);
      const sid = (await w.context.cookies()).find((c) => c.name === 'sid');
      assert.ok(sid?.httpOnly, 'the session cookie is httpOnly');

      const fresh = await open(javaScriptEnabled);
      await fresh.page.goto(`${demo.base}/rp`);
      assert.equal(await fresh.page.locator('#rp-claims').count(), 0, 'another browser is not signed in');
      const none = await claimsFromPage(fresh.page);
      assert.equal(none.status, 401);
      assert.equal((none.body as { error?: { code?: string } }).error?.code, 'NOT_SIGNED_IN');
      await fresh.context.close();
      await w.context.close();
    });
  }

  for (const javaScriptEnabled of [true, false]) {
    it(`step-up ${javaScriptEnabled ? 'with JavaScript' : 'with JavaScript disabled'}: /rp/login?acr=pwd gives acr pwd and amr [pwd]; then #rp-step-up asks only for the code and gives acr mfa`, async () => {
      const w = await open(javaScriptEnabled);
      const { page } = w;
      const notBefore = Math.floor(Date.now() / 1000);
      const sentBefore = codes(BOB.to).length;
      await page.goto(`${demo.base}/rp/login?acr=pwd`);
      await page.waitForURL(`${demo.base}/authn/password`);
      await password(page, BOB);
      await page.waitForURL(`${demo.base}/rp`);
      assert.ok(!w.visited.some((p) => p.startsWith('/authn/method')), `no code step for the password acr: ${w.visited.join(' > ')}`);
      assert.equal(codes(BOB.to).length, sentBefore, 'no SMS for the password acr');
      const first = await shownClaims(page);
      assert.equal(first.sub, 'bob');
      assert.equal(first.acr, 'urn:otp:pwd');
      assert.deepEqual(first.amr, ['pwd']);
      assert.ok(first.auth_time >= notBefore - 1);
      assert.deepEqual((await claimsFromPage(page)).body, first);

      w.visited.length = 0;
      assert.equal(await page.getAttribute('#rp-step-up', 'href'), '/rp/login?acr=mfa');
      await page.click('#rp-step-up');
      await page.waitForURL(`${demo.base}/authn/method/otp`);
      await code(page, BOB, sentBefore);
      await page.waitForURL(`${demo.base}/rp`);
      assert.ok(!w.visited.includes('/authn/password'), `no password page in the step-up: ${w.visited.join(' > ')}`);
      assert.ok(w.visited.includes('/authn/method/otp'), w.visited.join(' > '));
      await noRpError(page);
      const second = await shownClaims(page);
      assertMfa(second, 'bob', notBefore);
      assert.ok(second.auth_time >= first.auth_time, 'auth_time of the step-up is not before the first login');
      assert.deepEqual((await claimsFromPage(page)).body, second);
      assert.deepEqual(w.csp, []);
      assert.deepEqual(w.errors, []);
      await w.context.close();
    });
  }
});
