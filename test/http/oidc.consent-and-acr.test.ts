import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { authorization, call, discover, Jar, oidcDemo, walk, type OidcDemo } from '../support/oidc-demo.js';

/**
 * Issue 23: a client that is not first-party is asked for consent (a page in en/sv, CSRF-checked), may not ask for
 * the otp_report scope unless configured, and the acr rules: an essential acr claim, an acr we do not offer.
 */
const BOB = { username: 'bob', password: 'builder', to: '+447400123456' };

describe('OIDC: consent for other clients, the otp_report opt-in, essential acr', function () {
  this.timeout(60_000);
  let demo: OidcDemo;
  let partner: client.Configuration;
  let rp: client.Configuration;
  let partnerUri: string;
  let rpUri: string;
  before(async () => {
    demo = await oidcDemo({}, (c) => {
      c.oidc.clients.push({ client_id: 'partner', name: 'Partner Shop', redirect_uris: ['/partner/callback'] });
    });
    partnerUri = `${demo.base}/partner/callback`;
    rpUri = `${demo.base}/rp/callback`;
    partner = await discover(demo, 'partner');
    rp = await discover(demo, 'demo-rp', 'demo-rp-secret-for-development-only');
  });
  after(async () => { await demo.close(); });

  it('a public client that is not first-party: the login, then a consent page naming it and what it asks (Swedish too); Allow gives the code', async () => {
    const jar = new Jar();
    const auth = await authorization(partner, partnerUri, { scope: 'openid profile' });
    const w = await walk(demo, jar, auth.url, BOB, { redirectUri: partnerUri });
    assert.equal(w.callback, null);
    assert.equal(w.last.status, 200);
    assert.match(w.last.body, /<h1 id="consent-title">Allow Partner Shop to use your account\?<\/h1>/);
    assert.match(w.last.body, /<li data-scope="profile">your name<\/li>/);
    const swedish = await fetch(w.last.url, { headers: { cookie: jar.header(w.last.url), 'accept-language': 'sv' }, redirect: 'manual' });
    assert.match(await swedish.text(), /Ge Partner Shop tillgång till ditt konto\?/);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(w.last.body)![1]!;
    const forged = await call(jar, `${w.last.url}/consent`, { method: 'POST', json: { decision: 'allow' }, csrf: 'forged', accept: 'application/json' });
    assert.equal(forged.status, 403, 'consent is CSRF-checked');
    const allow = await call(jar, `${w.last.url}/consent`, { method: 'POST', json: { decision: 'allow' }, csrf, accept: 'application/json' });
    assert.equal(allow.status, 303);
    const back = await walk(demo, jar, allow.location!, BOB, { redirectUri: partnerUri });
    const tokens = await auth.exchange(back.callback!);
    assert.equal(tokens.claims()!.sub, 'bob');
    assert.equal(tokens.refresh_token, undefined, 'no refresh tokens for this client');

    const again = await authorization(partner, partnerUri, { scope: 'openid profile' });
    const sso = await walk(demo, jar, again.url, BOB, { redirectUri: partnerUri });
    assert.ok(sso.callback, 'consent is remembered: no page the second time');
  });

  it('Deny answers the client access_denied', async () => {
    const jar = new Jar();
    const auth = await authorization(partner, partnerUri);
    const w = await walk(demo, jar, auth.url, BOB, { redirectUri: partnerUri });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(w.last.body)![1]!;
    const deny = await call(jar, `${w.last.url}/consent`, { method: 'POST', json: { decision: 'deny' }, csrf, accept: 'application/json' });
    const back = await walk(demo, jar, deny.location!, BOB, { redirectUri: partnerUri });
    assert.equal(back.callback?.searchParams.get('error'), 'access_denied');
  });

  it('otp_report is opt-in per client: a client without it asking for the scope gets invalid_scope', async () => {
    const jar = new Jar();
    const auth = await authorization(partner, partnerUri, { scope: 'openid otp_report' });
    const w = await walk(demo, jar, auth.url, BOB, { redirectUri: partnerUri });
    assert.equal(w.callback?.searchParams.get('error'), 'invalid_scope');
  });

  it('an essential acr claim (the claims parameter) is met by the chain; an acr the provider does not offer is unmet_authentication_requirements', async () => {
    const jar = new Jar();
    const pwd = await authorization(rp, rpUri, { claims: JSON.stringify({ id_token: { acr: { essential: true, value: 'urn:otp:pwd' } } }) });
    const first = await walk(demo, jar, pwd.url, BOB, { redirectUri: rpUri });
    assert.equal((await pwd.exchange(first.callback!)).claims()!.acr, 'urn:otp:pwd');
    const mfa = await authorization(rp, rpUri, { claims: JSON.stringify({ id_token: { acr: { essential: true, values: ['urn:otp:mfa'] } } }) });
    const second = await walk(demo, jar, mfa.url, BOB, { redirectUri: rpUri });
    assert.ok(!second.visited.includes('/authn/password'), 'step-up: the code step only');
    assert.equal((await mfa.exchange(second.callback!)).claims()!.acr, 'urn:otp:mfa');

    const strange = await authorization(rp, rpUri, { claims: JSON.stringify({ id_token: { acr: { essential: true, value: 'urn:someone:else' } } }) });
    const third = await walk(demo, new Jar(), strange.url, BOB, { redirectUri: rpUri });
    assert.equal(third.callback?.searchParams.get('error'), 'unmet_authentication_requirements');
  });
});
