import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { authorization, call, discover, Jar, oidcDemo, walk, type OidcDemo } from '../support/oidc-demo.js';
import { describeRedis, REDIS_URL } from '../support/redis.js';

/**
 * What a security review of the OpenID Connect integration (src/integrations/oidc-provider.ts and around it) found,
 * each attacked here over real HTTP with the real oidc-provider and openid-client, so it stays fixed.
 */
const SECRET = 'demo-rp-secret-for-development-only';
const SIBLING_SECRET = 'sibling-secret-for-the-review-tests';
const ALICE = { username: 'alice', password: 'wonderland', to: '+46701234567' };
const BOB = { username: 'bob', password: 'builder', to: '+447400123456' };
const authnPaths = (visited: string[]) => visited.filter((p) => p.startsWith('/authn/'));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The demo's config with send budgets this file's many logins from 127.0.0.1 do not meet (nothing else changed). */
function roomy(config: Record<string, any>): void {
  for (const a of config.authenticators as { type: string; config: Record<string, unknown> }[]) {
    if (a.type === 'OTP') a.config.rate_limits = { sends_per_destination_per_minute: 1000, sends_per_ip_per_hour: 100000 };
  }
}

/** A urlencoded form POST with the jar's cookies (the `call` helper sends JSON only). */
async function postForm(jar: Jar, url: string, fields: Record<string, string>) {
  const res = await fetch(url, {
    method: 'POST', redirect: 'manual',
    headers: { cookie: jar.header(url), 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    body: new URLSearchParams(fields).toString(),
  });
  jar.store(res.headers.getSetCookie(), url);
  const location = res.headers.get('location');
  return { status: res.status, location: location ? new URL(location, url).href : null, body: await res.text() };
}

describe('attack: findings of the OIDC review', function () {
  this.timeout(60_000);

  describe('on the demo with two more clients (a first-party one without otp_report, a third-party one)', () => {
    let demo: OidcDemo;
    let rp: client.Configuration;
    let sibling: client.Configuration;
    let partner: client.Configuration;
    let rpUri: string;
    let siblingUri: string;
    let partnerUri: string;
    before(async () => {
      demo = await oidcDemo({}, (c) => {
        roomy(c);
        c.oidc.clients.push({ client_id: 'sibling', name: 'Sibling App', client_secret: SIBLING_SECRET, redirect_uris: ['/sibling/callback'], first_party: true });
        c.oidc.clients.push({ client_id: 'partner', name: 'Partner Shop', redirect_uris: ['/partner/callback'] });
      });
      rpUri = `${demo.base}/rp/callback`;
      siblingUri = `${demo.base}/sibling/callback`;
      partnerUri = `${demo.base}/partner/callback`;
      rp = await discover(demo, 'demo-rp', SECRET);
      sibling = await discover(demo, 'sibling', SIBLING_SECRET);
      partner = await discover(demo, 'partner');
    });
    after(async () => { await demo.close(); });

    it('a first-party client without otp_report does not get the otp_report claim (whole destinations) through the claims parameter', async () => {
      const jar = new Jar();
      const own = await authorization(rp, rpUri, { scope: 'openid otp_report' });
      await own.exchange((await walk(demo, jar, own.url, ALICE, { redirectUri: rpUri })).callback!);
      const auth = await authorization(sibling, siblingUri, { claims: JSON.stringify({ userinfo: { otp_report: null }, id_token: { otp_report: null } }) });
      const w = await walk(demo, jar, auth.url, ALICE, { redirectUri: siblingUri });
      assert.ok(w.callback, w.visited.join(' > '));
      if (w.callback.searchParams.get('error')) return; // refused outright: fine
      const tokens = await auth.exchange(w.callback);
      const info = await client.fetchUserInfo(sibling, tokens.access_token, 'alice');
      assert.equal(info.otp_report, undefined, `a client without otp_report got it in userinfo: ${JSON.stringify(info.otp_report)}`);
      assert.equal(tokens.claims()!.otp_report, undefined, 'nor in the ID token');
    });

    it('a third-party client without otp_report does not get the otp_report claim through the claims parameter (its consent page never names it)', async () => {
      const jar = new Jar();
      const own = await authorization(rp, rpUri, { scope: 'openid otp_report' });
      await own.exchange((await walk(demo, jar, own.url, BOB, { redirectUri: rpUri })).callback!);
      const auth = await authorization(partner, partnerUri, { claims: JSON.stringify({ userinfo: { otp_report: null } }) });
      const w = await walk(demo, jar, auth.url, BOB, { redirectUri: partnerUri });
      assert.match(w.last.body, /consent-title/, 'the consent page');
      assert.doesNotMatch(w.last.body, /otp_report|one-time code report/i);
      const csrf = /name="_csrf" value="([^"]+)"/.exec(w.last.body)![1]!;
      const allow = await call(jar, `${w.last.url}/consent`, { method: 'POST', json: { decision: 'allow' }, csrf, accept: 'application/json' });
      const back = await walk(demo, jar, allow.location!, BOB, { redirectUri: partnerUri });
      assert.ok(back.callback, back.visited.join(' > '));
      if (back.callback.searchParams.get('error')) return; // refused: fine
      const tokens = await auth.exchange(back.callback);
      const info = await client.fetchUserInfo(partner, tokens.access_token, 'bob');
      assert.equal(info.otp_report, undefined, `the partner (no otp_report) got bob's report: ${JSON.stringify(info.otp_report)}`);
    });
  });

  describe('on the demo as npm start serves it', () => {
    let demo: OidcDemo;
    let rp: client.Configuration;
    let rpUri: string;
    before(async () => {
      demo = await oidcDemo({}, roomy);
      rpUri = `${demo.base}/rp/callback`;
      rp = await discover(demo, 'demo-rp', SECRET);
    });
    after(async () => { await demo.close(); });

    it('signing out of the SSO site (POST /logout) ends the SSO: the next sign-in at a client asks for the password again', async () => {
      const jar = new Jar();
      const first = await authorization(rp, rpUri);
      await first.exchange((await walk(demo, jar, first.url, ALICE, { redirectUri: rpUri })).callback!);
      const account = await call(jar, `${demo.base}/account`);
      const csrf = /action="\/logout"><input type="hidden" name="_csrf" value="([^"]+)"/.exec(account.body)?.[1];
      assert.ok(csrf, `the account page offers sign-out (${account.status})`);
      const out = await postForm(jar, `${demo.base}/logout`, { _csrf: csrf });
      assert.equal(out.status, 303);
      assert.equal((await call(jar, `${demo.base}/account`)).status, 302, 'signed out of the site');
      const next = await authorization(rp, rpUri);
      const w = await walk(demo, jar, next.url, ALICE, { redirectUri: rpUri });
      assert.ok(w.visited.includes('/authn/password'), `signed out, yet the next sign-in completed without a login: ${w.visited.join(' > ')}`);
    });

    it('RP-initiated logout (the provider\'s end_session) ends the SSO: the next sign-in at a client asks for the password again', async () => {
      const jar = new Jar();
      const first = await authorization(rp, rpUri);
      const t1 = await first.exchange((await walk(demo, jar, first.url, ALICE, { redirectUri: rpUri })).callback!);
      const end = await call(jar, `${demo.issuer}/session/end?client_id=demo-rp&id_token_hint=${t1.id_token}`);
      assert.equal(end.status, 200, end.body.slice(0, 300));
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(end.body)?.[1];
      assert.ok(xsrf, end.body.slice(0, 500));
      const confirmed = await postForm(jar, `${demo.issuer}/session/end/confirm`, { xsrf, logout: 'yes' });
      assert.ok(confirmed.status === 303 || confirmed.status === 302, `${confirmed.status} ${confirmed.body.slice(0, 200)}`);
      const next = await authorization(rp, rpUri);
      const w = await walk(demo, jar, next.url, ALICE, { redirectUri: rpUri });
      assert.ok(w.visited.includes('/authn/password'), `logged out at the provider, yet the next sign-in completed without a login: ${w.visited.join(' > ')}`);
    });

    it('auth_time of a sign-in completed from an earlier login of the site is that login\'s time, not the time of the hand-over', async () => {
      const jar = new Jar();
      const site = await walk(demo, jar, `${demo.base}/authn/login`, BOB, { redirectUri: `${demo.base}/account` });
      assert.ok(site.callback, site.visited.join(' > '));
      const loggedInAt = Math.floor(Date.now() / 1000);
      await sleep(2200);
      const auth = await authorization(rp, rpUri);
      const w = await walk(demo, jar, auth.url, BOB, { redirectUri: rpUri });
      assert.deepEqual(authnPaths(w.visited), [], 'single sign-on from the site\'s login');
      const claims = (await auth.exchange(w.callback!)).claims()!;
      assert.ok((claims.auth_time as number) <= loggedInAt, `auth_time ${claims.auth_time} is after the login (${loggedInAt}): max_age is measured from a login that did not happen then`);
      // And so a max_age the real login does not meet passes without a login.
      const fresh = await authorization(rp, rpUri, { max_age: '1' });
      const w2 = await walk(demo, jar, fresh.url, BOB, { redirectUri: rpUri });
      assert.ok(w2.visited.includes('/authn/password'), `max_age=1, the login was >2 s ago: ${w2.visited.join(' > ')}`);
    });

    it('a client asking for no acr gets default_acr (urn:otp:mfa), also on single sign-on from a password-only session', async () => {
      const jar = new Jar();
      const pwd = await authorization(rp, rpUri, { acr_values: 'urn:otp:pwd' });
      await pwd.exchange((await walk(demo, jar, pwd.url, BOB, { redirectUri: rpUri })).callback!);
      const plain = await authorization(rp, rpUri);
      const w = await walk(demo, jar, plain.url, BOB, { redirectUri: rpUri });
      const claims = (await plain.exchange(w.callback!)).claims()!;
      assert.equal(claims.acr, 'urn:otp:mfa', `acr ${claims.acr}, amr ${JSON.stringify(claims.amr)}, after ${w.visited.join(' > ')}`);
    });

    it('an abandoned interaction does not take over the site\'s own login: it ends on /account, not on the old /interaction', async () => {
      const jar = new Jar();
      const auth = await authorization(rp, rpUri);
      const at = await walk(demo, jar, auth.url, ALICE, { redirectUri: rpUri, pauseAt: /^\/authn\/password$/ });
      assert.ok(at.visited.some((p) => p.startsWith('/interaction/')));
      // The user leaves the client's sign-in and signs in at the site itself.
      const site = await walk(demo, jar, `${demo.base}/authn/login`, ALICE, { redirectUri: `${demo.base}/account` });
      assert.ok(site.callback, `the site's login went elsewhere: ${site.visited.join(' > ')} (${site.last.status})`);
      assert.ok(!site.visited.some((p) => p.startsWith('/interaction/') || p.startsWith('/rp')), site.visited.join(' > '));
    });

    it('an abandoned interaction does not take over the cancel location of the site\'s own login', async () => {
      const jar = new Jar();
      const auth = await authorization(rp, rpUri);
      await walk(demo, jar, auth.url, BOB, { redirectUri: rpUri, pauseAt: /^\/authn\/password$/ });
      const at = await walk(demo, jar, `${demo.base}/authn/login`, BOB, { redirectUri: `${demo.base}/account`, stopAt: /^\/authn\/method\/otp$/ });
      const page = JSON.parse((await call(jar, at.last.url, { accept: 'application/json' })).body) as { csrf_token: string };
      const cancelled = await call(jar, at.last.url, { method: 'POST', json: { type: 'cancel' }, csrf: page.csrf_token, accept: 'application/json' });
      assert.equal(JSON.parse(cancelled.body).location, '/', 'the chain\'s own cancel_location');
    });

    it('a chain started over for another user (prompt=login) does not leave the site signed in as the previous one: bob\'s password alone does not reach the signed-in pages', async () => {
      const jar = new Jar();
      const first = await authorization(rp, rpUri);
      await first.exchange((await walk(demo, jar, first.url, ALICE, { redirectUri: rpUri })).callback!);
      // The same browser (alice's own full login), now bob's password only, through a client's prompt=login.
      const again = await authorization(rp, rpUri, { prompt: 'login', acr_values: 'urn:otp:pwd' });
      const w = await walk(demo, jar, again.url, BOB, { redirectUri: rpUri });
      assert.deepEqual(authnPaths(w.visited), ['/authn/login', '/authn/password'], w.visited.join(' > '));
      const sent = demo.lastCode(BOB.to);
      const phone = await call(jar, `${demo.base}/authn/phone`, { accept: 'application/json' });
      assert.equal(demo.lastCode(BOB.to), sent, `phone verification (signed-in users only) ran for bob on his password alone: ${phone.status} ${phone.body.slice(0, 120)}`);
      const account = await call(jar, `${demo.base}/account`);
      assert.doesNotMatch(account.body, /<th scope="row">username<\/th><td>alice<\/td>/, 'the site still says alice is signed in while the chain and the provider say bob');
    });

    it('an essential acr weaker than the session\'s (urn:otp:pwd after an MFA login) is answered, not an endless redirect loop', async () => {
      const jar = new Jar();
      const mfa = await authorization(rp, rpUri);
      await mfa.exchange((await walk(demo, jar, mfa.url, ALICE, { redirectUri: rpUri })).callback!);
      const pwd = await authorization(rp, rpUri, { claims: JSON.stringify({ id_token: { acr: { essential: true, value: 'urn:otp:pwd' } } }) });
      let w: Awaited<ReturnType<typeof walk>> | undefined;
      await assert.doesNotReject(async () => { w = await walk(demo, jar, pwd.url, ALICE, { redirectUri: rpUri }); });
      assert.ok(w?.callback, w?.visited.join(' > '));
    });

    it('an id_token_hint naming another user is not answered with a code for the user of the session', async () => {
      const bobs = new Jar();
      const b = await authorization(rp, rpUri);
      const bobToken = (await b.exchange((await walk(demo, bobs, b.url, BOB, { redirectUri: rpUri })).callback!)).id_token!;
      const jar = new Jar();
      const a = await authorization(rp, rpUri);
      await a.exchange((await walk(demo, jar, a.url, ALICE, { redirectUri: rpUri })).callback!);
      const hinted = await authorization(rp, rpUri, { id_token_hint: bobToken });
      const w = await walk(demo, jar, hinted.url, BOB, { redirectUri: rpUri });
      if (w.callback && !w.callback.searchParams.get('error')) {
        const sub = (await hinted.exchange(w.callback)).claims()!.sub;
        assert.notEqual(sub, 'alice', `the client asked for bob (id_token_hint) and got alice's code: ${w.visited.join(' > ')}`);
      }
    });

    it('the CSRF token is renewed when the login is handed to the provider, as the chain\'s own login renews it', async () => {
      const jar = new Jar();
      const auth = await authorization(rp, rpUri, { acr_values: 'urn:otp:pwd' });
      const at = await walk(demo, jar, auth.url, ALICE, { redirectUri: rpUri, pauseAt: /^\/authn\/password$/ });
      const before = (JSON.parse((await call(jar, at.last.url, { accept: 'application/json' })).body) as { csrf_token: string }).csrf_token;
      const w = await walk(demo, jar, at.last.url, ALICE, { redirectUri: rpUri });
      await auth.exchange(w.callback!);
      const after = (JSON.parse((await call(jar, `${demo.base}/authn/password`, { accept: 'application/json' })).body) as { csrf_token: string }).csrf_token;
      assert.ok(after);
      assert.notEqual(after, before, 'the token known before the login still works after it');
    });
  });

  describe('a chain whose code step is optional (required: false)', () => {
    let demo: OidcDemo;
    let rp: client.Configuration;
    let rpUri: string;
    before(async () => {
      demo = await oidcDemo({}, (c) => {
        roomy(c);
        const login = c.authenticators.find((a: { id: string }) => a.id === 'login');
        login.config.chain = [{ id: 'password' }, { id: 'method', required: false }];
      });
      rpUri = `${demo.base}/rp/callback`;
      rp = await discover(demo, 'demo-rp', SECRET);
    });
    after(async () => { await demo.close(); });

    it('cancelling the optional code step does not reach the MFA acr', async () => {
      const jar = new Jar();
      const auth = await authorization(rp, rpUri, { acr_values: 'urn:otp:mfa' });
      const at = await walk(demo, jar, auth.url, ALICE, { redirectUri: rpUri, stopAt: /^\/authn\/method\/otp$/ });
      const page = JSON.parse((await call(jar, at.last.url, { accept: 'application/json' })).body) as { csrf_token: string };
      const cancelled = await call(jar, at.last.url, { method: 'POST', json: { type: 'cancel' }, csrf: page.csrf_token, accept: 'application/json' });
      const back = await walk(demo, jar, new URL(JSON.parse(cancelled.body).location, demo.base).href, ALICE, { redirectUri: rpUri });
      // No code at all (the login ends elsewhere, or the client gets an error) is fine; a code must not say MFA.
      if (!back.callback || back.callback.searchParams.get('error')) return;
      const claims = (await auth.exchange(back.callback)).claims()!;
      assert.notEqual(claims.acr, 'urn:otp:mfa', `no code was entered, yet acr ${claims.acr} with amr ${JSON.stringify(claims.amr)}`);
    });
  });

  it('a redirect_uris entry /\\evil.example/cb (a path, by the schema) is not the other host http://evil.example/cb', async () => {
    let demo: OidcDemo;
    try {
      demo = await oidcDemo({}, (c) => {
        c.oidc.clients.push({ client_id: 'pathy', name: 'Pathy', redirect_uris: ['/\\evil.example/cb'] });
      });
    } catch (error) {
      assert.match(String(error), /redirect_uris/, 'refused at load: fine');
      return;
    }
    try {
      const pathy = await discover(demo, 'pathy');
      const auth = await authorization(pathy, 'http://evil.example/cb');
      const res = await call(new Jar(), auth.url);
      assert.equal(res.status, 400, `the provider accepted the redirect_uri http://evil.example/cb: ${res.status} ${res.location}`);
    } finally { await demo.close(); }
  });

  describeRedis('on Redis (store.type redis: the provider\'s records through src/store/redis-oidc-adapter.ts)', (ctx) => {
    let demo: OidcDemo;
    let rp: client.Configuration;
    let rpUri: string;
    before(async () => {
      demo = await oidcDemo({}, (c) => { roomy(c); c.store = { type: 'redis', url: REDIS_URL, prefix: ctx.prefix }; });
      rpUri = `${demo.base}/rp/callback`;
      rp = await discover(demo, 'demo-rp', SECRET);
    });
    after(async () => { await demo?.close(); });

    it('an authorization code redeemed ten times in parallel gives tokens once', async () => {
      const jar = new Jar();
      const auth = await authorization(rp, rpUri);
      const w = await walk(demo, jar, auth.url, ALICE, { redirectUri: rpUri });
      assert.ok(w.callback, w.visited.join(' > '));
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => auth.exchange(w.callback!)));
      const granted = results.filter((r) => r.status === 'fulfilled').length;
      assert.equal(granted, 1, `one code, ${granted} token responses`);
    });
  });
});
