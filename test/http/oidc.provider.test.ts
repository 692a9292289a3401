import assert from 'node:assert/strict';
import * as client from 'openid-client';
import request from 'supertest';
import { onEvent } from '../../src/events/bus.js';
import type { EventRecord } from '../../src/events/catalogue.js';
import { authorization, call, discover, Jar, oidcDemo, walk, type OidcDemo } from '../support/oidc-demo.js';

/**
 * Issue 23: the demo's login chain as the interaction of a real oidc-provider, driven by a real openid-client
 * over HTTP on loopback: discovery, authorization code + PKCE through the password and OTP steps, the ID token
 * (signature, amr, acr, auth_time), userinfo with the otp_report claim, refresh, step-up, prompt=login, and the
 * refusals.
 */
const SECRET = 'demo-rp-secret-for-development-only';
const ALICE = { username: 'alice', password: 'wonderland', to: '+46701234567' };
const BOB = { username: 'bob', password: 'builder', to: '+447400123456' };

describe('OIDC: the login chain behind oidc-provider, driven by openid-client', function () {
  this.timeout(60_000);
  let demo: OidcDemo;
  let rp: client.Configuration;
  let redirectUri: string;
  const events: EventRecord[] = [];
  let stop: () => void;
  before(async () => {
    demo = await oidcDemo();
    redirectUri = `${demo.base}/rp/callback`;
    rp = await discover(demo, 'demo-rp', SECRET);
    stop = onEvent((e) => events.push(e));
  });
  after(async () => { stop(); await demo.close(); });

  it('discovery names the endpoints, the acr values and PKCE S256 only', () => {
    const md = rp.serverMetadata();
    assert.equal(md.issuer, demo.issuer);
    assert.equal(md.authorization_endpoint, `${demo.issuer}/auth`);
    assert.deepEqual(md.acr_values_supported, ['urn:otp:pwd', 'urn:otp:mfa']);
    assert.deepEqual(md.code_challenge_methods_supported, ['S256']);
    assert.ok((md.scopes_supported ?? []).includes('otp_report'));
  });

  it('authorization code + PKCE through the password and the SMS code: a signed ID token with amr pwd, otp, sms, mfa and the MFA acr; userinfo; refresh', async () => {
    const jar = new Jar();
    const auth = await authorization(rp, redirectUri, { scope: 'openid profile otp_report offline_access' });
    const before = Math.floor(Date.now() / 1000);
    const w = await walk(demo, jar, auth.url, ALICE, { redirectUri });
    assert.ok(w.callback, `back at the client: ${w.visited.join(' > ')} ${w.last.status} ${w.last.body.slice(0, 200)}`);
    assert.deepEqual(w.visited.filter((p) => p.startsWith('/authn/')), ['/authn/login', '/authn/password', '/authn/method', '/authn/method/otp']);
    const tokens = await auth.exchange(w.callback);
    const claims = tokens.claims()!;
    assert.equal(claims.sub, 'alice');
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'sms', 'mfa']);
    assert.equal(claims.acr, 'urn:otp:mfa');
    assert.ok(typeof claims.auth_time === 'number' && claims.auth_time >= before - 1);
    const info = await client.fetchUserInfo(rp, tokens.access_token, 'alice');
    const report = info.otp_report as { action: string; detail: string; properties: { channel: string } };
    assert.deepEqual([report.action, report.detail, report.properties.channel], ['PASS', 'ALL CHECKS PASSED', 'sms']);
    assert.ok(tokens.refresh_token, 'a refresh token for the client with refresh_tokens');
    const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token);
    assert.equal(refreshed.claims()?.sub, 'alice');
    assert.equal(refreshed.claims()?.acr, 'urn:otp:mfa');
  });

  it('without the otp_report scope there is no otp_report claim', async () => {
    const jar = new Jar();
    const auth = await authorization(rp, redirectUri, { scope: 'openid profile' });
    const w = await walk(demo, jar, auth.url, BOB, { redirectUri });
    const tokens = await auth.exchange(w.callback!);
    const info = await client.fetchUserInfo(rp, tokens.access_token, 'bob');
    assert.equal(info.otp_report, undefined);
  });

  it('step-up: a password-only session asked for the MFA acr gets only the code step; prompt=login runs the whole chain again', async () => {
    const jar = new Jar();
    const pwd = await authorization(rp, redirectUri, { acr_values: 'urn:otp:pwd' });
    const first = await walk(demo, jar, pwd.url, BOB, { redirectUri });
    assert.deepEqual(first.visited.filter((p) => p.startsWith('/authn/')), ['/authn/login', '/authn/password']);
    const c1 = (await pwd.exchange(first.callback!)).claims()!;
    assert.deepEqual([c1.acr, c1.amr], ['urn:otp:pwd', ['pwd']]);

    const mfa = await authorization(rp, redirectUri, { acr_values: 'urn:otp:mfa' });
    const second = await walk(demo, jar, mfa.url, BOB, { redirectUri });
    assert.ok(second.callback, second.visited.join(' > '));
    assert.ok(!second.visited.includes('/authn/password'), `no password again: ${second.visited.join(' > ')}`);
    assert.ok(second.visited.includes('/authn/method/otp'));
    const c2 = (await mfa.exchange(second.callback)).claims()!;
    assert.deepEqual([c2.sub, c2.acr, c2.amr], ['bob', 'urn:otp:mfa', ['pwd', 'otp', 'sms', 'mfa']]);

    const sso = await authorization(rp, redirectUri);
    const third = await walk(demo, jar, sso.url, BOB, { redirectUri });
    assert.deepEqual(third.visited.filter((p) => p.startsWith('/authn/') || p.startsWith('/interaction')), [], 'single sign-on: no interaction at all');
    assert.equal((await sso.exchange(third.callback!)).claims()!.acr, 'urn:otp:mfa');

    const again = await authorization(rp, redirectUri, { prompt: 'login' });
    const fourth = await walk(demo, jar, again.url, BOB, { redirectUri });
    assert.deepEqual(fourth.visited.filter((p) => p.startsWith('/authn/')), ['/authn/login', '/authn/password', '/authn/method', '/authn/method/otp']);
  });

  it('a trusted browser skips the code (amr pwd only, the report says so), but not under prompt=login or max_age', async () => {
    const jar = new Jar();
    const first = await authorization(rp, redirectUri);
    const w1 = await walk(demo, jar, first.url, ALICE, { redirectUri, trust: true });
    await first.exchange(w1.callback!);
    const device = new Jar();
    device.store([`otp_trusted_device=${/otp_trusted_device=([^;]+)/.exec(jar.header(`${demo.base}/`))![1]}; Path=/`], demo.base);

    const plain = await authorization(rp, redirectUri, { scope: 'openid otp_report' });
    const w2 = await walk(demo, device, plain.url, ALICE, { redirectUri });
    assert.ok(w2.callback, w2.visited.join(' > '));
    const t2 = await plain.exchange(w2.callback);
    assert.deepEqual([t2.claims()!.amr, t2.claims()!.acr], [['pwd'], 'urn:otp:mfa']);
    const info = await client.fetchUserInfo(rp, t2.access_token, 'alice');
    assert.equal((info.otp_report as { detail: string }).detail, 'TRUSTED DEVICE');

    for (const extra of [{ prompt: 'login' }, { max_age: '0' }] as Record<string, string>[]) {
      const forced = await authorization(rp, redirectUri, extra);
      const stopped = await walk(demo, device, forced.url, ALICE, { redirectUri, stopAt: /^\/authn\/method\/otp$/ });
      const page = await call(device, stopped.last.url, { accept: 'application/json' });
      assert.equal(JSON.parse(page.body).status, 'PENDING', `${JSON.stringify(extra)}: the code is asked for despite the trusted browser`);
    }
  });

  it('cancel at the code step, and an abort (too many wrong codes), answer the client access_denied', async () => {
    for (const how of ['cancel', 'abort'] as const) {
      const jar = new Jar();
      const auth = await authorization(rp, redirectUri);
      const at = await walk(demo, jar, auth.url, BOB, { redirectUri, stopAt: /^\/authn\/method\/otp$/ });
      const page = JSON.parse((await call(jar, at.last.url, { accept: 'application/json' })).body) as { csrf_token: string };
      let location = '';
      if (how === 'cancel') {
        const done = await call(jar, at.last.url, { method: 'POST', json: { type: 'cancel' }, csrf: page.csrf_token, accept: 'application/json' });
        location = JSON.parse(done.body).location;
      } else {
        for (let i = 0; i < 5 && !location; i += 1) {
          const wrong = await call(jar, at.last.url, { method: 'POST', json: { type: 'start', data: { otp: '000000' } }, csrf: page.csrf_token, accept: 'application/json' });
          location = JSON.parse(wrong.body).location ?? '';
        }
      }
      assert.match(location, /^\/interaction\/[^/]+\/abort\?reason=/, `${how}: ${location}`);
      const back = await walk(demo, jar, new URL(location, demo.base).href, BOB, { redirectUri });
      assert.ok(back.callback, back.visited.join(' > '));
      assert.equal(back.callback.searchParams.get('error'), 'access_denied', how);
      assert.match(back.callback.searchParams.get('error_description') ?? '', how === 'cancel' ? /cancelled/ : /failed/);
      await assert.rejects(auth.exchange(back.callback), (e: { error?: string }) => e.error === 'access_denied');
    }
  });

  it('a locked-out user: the page says so, no code is sent, and its cancel answers the client access_denied', async () => {
    // The abort of the test before locked bob out (the selector's lockout).
    const jar = new Jar();
    const auth = await authorization(rp, redirectUri);
    const at = await walk(demo, jar, auth.url, BOB, { redirectUri, pauseAt: /^\/authn\/method\/otp$/ });
    const sent = events.length;
    const page = await call(jar, at.last.url);
    assert.equal(page.status, 423, page.body.slice(0, 300));
    assert.equal(events.slice(sent).filter((e) => e.event_id === 'OTP_200002').length, 0, 'nothing sent');
    const form = /<form id="cancel-form" method="post" action="([^"]+)">/.exec(page.body);
    assert.ok(form, 'the locked page offers cancel');
    const token = JSON.parse((await call(jar, at.last.url, { accept: 'application/json' })).body).csrf_token as string;
    const cancelled = await call(jar, new URL(form[1]!, demo.base).href, { method: 'POST', json: { type: 'cancel' }, csrf: token, accept: 'application/json' });
    const back = await walk(demo, jar, new URL(JSON.parse(cancelled.body).location, demo.base).href, BOB, { redirectUri });
    assert.equal(back.callback?.searchParams.get('error'), 'access_denied');
    assert.ok(await demo.authn.store.unlock('method', 'bob'));
  });

  it('a wrong redirect_uri and an unknown client are refused by the provider (no redirect to them); a replayed code is invalid_grant', async () => {
    const jar = new Jar();
    const wrong = await authorization(rp, 'http://127.0.0.1:9/evil');
    const res = await call(jar, wrong.url);
    assert.equal(res.status, 400);
    assert.equal(res.location, null);
    assert.match(res.body, /redirect_uri did not match/);
    assert.doesNotMatch(res.body, /at .*\.js:\d+/, 'no stack trace');

    const unknown = new URL(wrong.url);
    unknown.searchParams.set('client_id', 'nobody');
    unknown.searchParams.set('redirect_uri', redirectUri);
    const res2 = await call(jar, unknown.href);
    assert.equal(res2.status, 400);
    assert.match(res2.body, /invalid_client/);

    const auth = await authorization(rp, redirectUri);
    const w = await walk(demo, jar, auth.url, ALICE, { redirectUri });
    await auth.exchange(w.callback!);
    await assert.rejects(auth.exchange(w.callback!), (e: { error?: string }) => e.error === 'invalid_grant');
  });

  it('the session id is renewed when the login is handed to the provider: the cookie from before is worthless after it', async () => {
    const jar = new Jar();
    // The password alone (acr pwd): no host login renews the session on the way; the hand-over must.
    const auth = await authorization(rp, redirectUri, { acr_values: 'urn:otp:pwd' });
    const w = await walk(demo, jar, auth.url, ALICE, { redirectUri, pauseAt: /^\/interaction\/[^/]+\/complete$/ });
    const sessionCookie = (j: Jar) => /(?:^|; )sid=([^;]+)/.exec(j.header(`${demo.base}/account`))?.[1];
    const before = sessionCookie(jar);
    assert.ok(before, jar.names().join(', '));
    const handed = await call(jar, w.last.url);
    assert.equal(handed.status, 303);
    const after = sessionCookie(jar);
    assert.ok(after && after !== before, 'a new session id');
    const stale = new Jar();
    stale.store([`sid=${before}; Path=/`], demo.base);
    const page = await call(stale, `${demo.base}/authn/method`, { accept: 'application/json' });
    assert.equal(JSON.parse(page.body).error?.code, 'NOT_IN_FLOW', 'the old session id carries no login');
    const resumed = await walk(demo, jar, handed.location!, ALICE, { redirectUri });
    assert.equal((await auth.exchange(resumed.callback!)).claims()!.acr, 'urn:otp:pwd');
  });

  it('the demo relying party: a sign-in started on another host name moves to the issuer\'s first; a callback with nothing pending says so', async () => {
    const moved = await request(demo.app).get('/rp/login?acr=mfa').set('Host', 'localhost:1').expect(303);
    assert.equal(moved.headers.location, `${demo.base}/rp/login?acr=mfa`);
    const agent = request.agent(demo.app);
    await agent.get('/rp/callback?code=x&state=y').set('Host', new URL(demo.base).host).expect(303).expect('Location', '/rp');
    const page = await agent.get('/rp').set('Host', new URL(demo.base).host).expect(200);
    assert.match(page.text, /<p id="rp-error" role="alert" class="error">no_sign_in_pending: /);
    await request(demo.app).get('/rp/claims').set('Accept', 'application/json').expect(401);
  });

  it('an interaction path without its cookie, or of another uid, is a clear 400 page; nothing is logged in', async () => {
    const jar = new Jar();
    const none = await call(jar, `${demo.base}/interaction/not-a-real-uid`);
    assert.equal(none.status, 400);
    assert.match(none.body, /This sign-in has expired or is already finished/);
    const auth = await authorization(rp, redirectUri);
    const start = await call(jar, auth.url);
    assert.match(start.location ?? '', /\/interaction\/[^/]+$/);
    for (const p of ['/interaction/another-uid', '/interaction/another-uid/complete', `${new URL(start.location!).pathname}/complete`]) {
      const res = await call(jar, `${demo.base}${p}`);
      assert.equal(res.status, 400, p);
    }
    const account = await call(jar, `${demo.base}/account`);
    assert.equal(account.status, 302, 'not signed in');
  });
});
